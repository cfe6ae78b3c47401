import subprocess
import sys

import numpy as np

from aeworkbook.session import seed_everything


def test_start_imports_tensorflow_without_a_word_on_stderr():
    code = "import aeworkbook as aw; aw.start(seed=1); import keras; keras.layers.Dense(2)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "profile 'fast', seed 1" in result.stdout


def test_python_warnings_go_to_stdout():
    code = "import aeworkbook as aw, warnings; aw.start(); warnings.warn('careful')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.stderr == ""
    assert "UserWarning: careful" in result.stdout


def test_seeding_makes_numpy_and_keras_repeat():
    import keras

    def draw():
        layer = keras.layers.Dense(3)
        layer.build((None, 4))
        return np.random.rand(3), np.asarray(layer.kernel), np.asarray(keras.random.normal((2,)))

    seed_everything(7)
    first = draw()
    seed_everything(7)
    again = draw()
    seed_everything(8)
    other = draw()
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
