"""MNIST and Fashion-MNIST through Keras's own loaders, split and sized by the profile.

Images come back as float32 in [0, 1]. The last ``val_size`` training images
form the validation split, so the test split stays untouched for evaluation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .profiles import Profile, current_profile

MNIST_CLASSES = tuple(str(digit) for digit in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

# What Keras downloads into its cache, below <KERAS_HOME or ~/.keras>/datasets/.
KERAS_FILES = {
    "mnist": ("mnist.npz",),
    "fashion_mnist": tuple(
        os.path.join("fashion-mnist", name)
        for name in (
            "train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
        )
    ),
}


class DatasetUnavailableError(RuntimeError):
    """Neither the Keras cache nor the network could provide a dataset."""


@dataclass(frozen=True)
class Dataset:
    """Train, validation and test splits of one image dataset."""

    name: str
    class_names: tuple[str, ...]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def flat(self) -> "Dataset":
        """The same splits with each image flattened to a vector (28x28 -> 784)."""
        def flatten(x: np.ndarray) -> np.ndarray:
            return x.reshape(len(x), -1)

        return Dataset(
            self.name, self.class_names,
            flatten(self.x_train), self.y_train,
            flatten(self.x_val), self.y_val,
            flatten(self.x_test), self.y_test,
        )


def keras_datasets_dir() -> str:
    """Where Keras caches downloaded datasets (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "datasets")


def _cached_paths(name: str) -> list[str]:
    return [os.path.join(keras_datasets_dir(), relative) for relative in KERAS_FILES[name]]


def _unavailable_message(name: str, cause: BaseException, present_before: set[str]) -> str:
    lines = [f"Could not load the {name} dataset: it is not in the Keras cache and could not be downloaded ({cause})."]
    lines.append(f"Put these files, unchanged, into {keras_datasets_dir()}:")
    for path in _cached_paths(name):
        # Keras deletes a cached file that fails its checksum before it tries to download it again.
        state = "was there, but Keras found a checksum mismatch" if path in present_before else "missing"
        lines.append(f"  {path}  ({state})")
    lines.append("Offline machines can copy them from the course's shared data folder (see the README, 'Offline data').")
    return "\n".join(lines)


def _keras_load(name: str):
    import keras

    loader = {"mnist": keras.datasets.mnist, "fashion_mnist": keras.datasets.fashion_mnist}[name]
    present_before = {path for path in _cached_paths(name) if os.path.exists(path)}
    try:
        return loader.load_data()
    except Exception as error:  # Keras raises a bare Exception for a failed download
        raise DatasetUnavailableError(_unavailable_message(name, error, present_before)) from error


def _split(name: str, class_names: tuple[str, ...], profile: Profile) -> Dataset:
    (x_train_full, y_train_full), (x_test, y_test) = _keras_load(name)
    val = profile.val_size
    x_train, y_train = x_train_full[:-val], y_train_full[:-val]
    x_val, y_val = x_train_full[-val:], y_train_full[-val:]
    if profile.train_size is not None:
        x_train, y_train = x_train[: profile.train_size], y_train[: profile.train_size]
    if profile.test_size is not None:
        x_test, y_test = x_test[: profile.test_size], y_test[: profile.test_size]

    def scale(x: np.ndarray) -> np.ndarray:
        return (x.astype(np.float32) / 255.0)

    return Dataset(name, class_names, scale(x_train), y_train, scale(x_val), y_val, scale(x_test), y_test)


def load_mnist(profile: Profile | None = None) -> Dataset:
    """MNIST digits as float32 in [0, 1], 28x28, split and sized by ``profile``."""
    return _split("mnist", MNIST_CLASSES, profile or current_profile())


def load_fashion_mnist(profile: Profile | None = None) -> Dataset:
    """Fashion-MNIST articles as float32 in [0, 1], 28x28, split and sized by ``profile``."""
    return _split("fashion_mnist", FASHION_MNIST_CLASSES, profile or current_profile())
