"""Quiet, reproducible sessions: call :func:`start` before importing TensorFlow or Keras.

nbgrader scores a test cell 0 when it writes anything to stderr, and TensorFlow,
absl and Python warnings all write there. :func:`quiet` must therefore run
before TensorFlow is imported.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings

from .profiles import Profile, current_profile


def _warning_to_stdout(message, category, filename, lineno, file=None, line=None):
    # Warnings stay visible to students, but on stdout, where they cannot zero a graded cell.
    print(f"{category.__name__}: {message}", file=sys.stdout)


@contextlib.contextmanager
def _stderr_fd_silenced():
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ start-up logs bypass Python."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet() -> None:
    """Import TensorFlow without its start-up logs; show Python warnings on stdout.

    ``TF_CPP_MIN_LOG_LEVEL`` silences TensorFlow's C++ logs once it runs, but
    absl prints a few lines at import before reading it, hence the redirect.
    """
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    warnings.showwarning = _warning_to_stdout
    if "tensorflow" not in sys.modules:
        with _stderr_fd_silenced():
            import tensorflow  # noqa: F401
    # After the import, which sets up TensorFlow's logger (retracing notices and the like).
    for name in ("absl", "tensorflow", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and Keras, and make TensorFlow's ops deterministic."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def start(seed: int = 42) -> Profile:
    """Set up a notebook: quiet logs, seeded randomness, and the active profile.

    Returns the profile, which tells how much data and how many epochs to use.
    """
    quiet()
    import keras
    import tensorflow as tf

    seed_everything(seed)
    profile = current_profile()
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}; profile '{profile.name}', seed {seed}")
    return profile
