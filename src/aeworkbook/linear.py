"""PCA and principal angles, to compare what a linear autoencoder learns with PCA."""

from __future__ import annotations

import numpy as np


def pca_components(x: np.ndarray, n_components: int) -> np.ndarray:
    """The first ``n_components`` principal directions of ``x`` (rows of the result)."""
    centered = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    return vt[:n_components]


def principal_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Principal angles in degrees between the spaces spanned by the rows of ``a`` and of ``b``.

    All zero when the two spans are the same subspace, whatever bases they use.
    """
    qa, _ = np.linalg.qr(np.asarray(a, dtype=np.float64).T)
    qb, _ = np.linalg.qr(np.asarray(b, dtype=np.float64).T)
    cosines = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))


def point_cloud(n_points: int = 200, dim: int = 3, plane_dim: int = 2, noise: float = 0.1, seed: int = 42) -> np.ndarray:
    """Centred points near a random ``plane_dim``-dimensional plane in ``dim`` dimensions.

    The spread along the plane's axes shrinks from one axis to the next, so its
    principal directions are well defined; ``noise`` is the spread off the plane.
    """
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((dim, plane_dim)))
    spreads = np.linspace(1.0, 0.5, plane_dim)
    codes = rng.standard_normal((n_points, plane_dim)) * spreads
    points = codes @ basis.T + noise * rng.standard_normal((n_points, dim))
    return (points - points.mean(axis=0)).astype(np.float32)
