import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from aeworkbook.data import KERAS_FILES, load_fashion_mnist, load_mnist
from aeworkbook.profiles import PROFILES

NO_NETWORK = """
import socket
def refuse(*args, **kwargs):
    raise OSError("network blocked by the test")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
"""


def run_offline(code: str, **env) -> subprocess.CompletedProcess:
    """Run Python code in a fresh interpreter that cannot open a network connection."""
    return subprocess.run([sys.executable, "-c", NO_NETWORK + textwrap.dedent(code)], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


@pytest.mark.parametrize("loader, n_classes", [(load_mnist, 10), (load_fashion_mnist, 10)])
def test_fast_profile_splits(loader, n_classes):
    data = loader(PROFILES["fast"])
    assert data.x_train.shape == (5000, 28, 28)
    assert data.x_val.shape == (1000, 28, 28) and data.x_test.shape == (1000, 28, 28)
    assert len(data.y_train) == 5000 and len(data.y_val) == 1000 and len(data.y_test) == 1000
    assert len(data.class_names) == n_classes
    for x in (data.x_train, data.x_val, data.x_test):
        assert x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(data.y_train)) == set(range(n_classes))


def test_full_profile_keeps_every_image_and_a_disjoint_validation_split():
    data = load_mnist(PROFILES["full"])
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (55_000, 5_000, 10_000)
    fast = load_mnist(PROFILES["fast"])
    # The validation images are the last training images in both profiles, never trained on.
    np.testing.assert_array_equal(fast.x_val, data.x_val[-1000:])
    np.testing.assert_array_equal(fast.x_train, data.x_train[:5000])


def test_flat_turns_images_into_vectors():
    flat = load_mnist(PROFILES["fast"]).flat()
    assert flat.x_train.shape == (5000, 784) and flat.x_test.shape == (1000, 784)
    assert flat.y_train.shape == (5000,)


def test_cached_files_load_without_network():
    result = run_offline("""
        from aeworkbook.data import load_mnist, load_fashion_mnist
        from aeworkbook.profiles import PROFILES
        print(load_mnist(PROFILES["fast"]).x_train.shape, load_fashion_mnist(PROFILES["fast"]).x_train.shape)
    """)
    assert result.returncode == 0, result.stderr
    assert "(5000, 28, 28) (5000, 28, 28)" in result.stdout


@pytest.mark.parametrize("name, loader", [("mnist", "load_mnist"), ("fashion_mnist", "load_fashion_mnist")])
def test_missing_data_without_network_names_the_files_and_the_folder(tmp_path, name, loader):
    result = run_offline(f"""
        from aeworkbook.data import {loader}
        {loader}()
    """, KERAS_HOME=str(tmp_path))
    assert result.returncode != 0
    assert "DatasetUnavailableError" in result.stderr
    for relative in KERAS_FILES[name]:
        assert str(tmp_path / "datasets" / relative) in result.stderr
    assert "missing" in result.stderr


def test_corrupt_cached_file_is_reported(tmp_path):
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").write_bytes(b"not the real archive")
    result = run_offline("""
        from aeworkbook.data import load_mnist
        load_mnist()
    """, KERAS_HOME=str(tmp_path))
    assert result.returncode != 0
    assert "checksum mismatch" in result.stderr
