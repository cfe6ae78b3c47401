"""Helpers shared by the autoencoder workbook's notebooks: profiles, data, seeding, plots.

Importing this package does not import TensorFlow; call :func:`start` first in
every notebook, before ``import keras``.
"""

from .data import DatasetUnavailableError, load_fashion_mnist, load_mnist
from .profiles import Profile, current_profile
from .session import seed_everything, start

__version__ = "0.1.0"

__all__ = [
    "DatasetUnavailableError", "Profile", "current_profile", "load_fashion_mnist",
    "load_mnist", "seed_everything", "start",
]
