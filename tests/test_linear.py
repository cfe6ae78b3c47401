import numpy as np
import pytest

from aeworkbook.linear import pca_components, point_cloud, principal_angles


def test_same_plane_in_another_basis_has_zero_angles():
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((2, 5))
    mixed = np.array([[2.0, -1.0], [0.5, 3.0]]) @ basis
    np.testing.assert_allclose(principal_angles(basis, mixed), [0, 0], atol=1e-5)


def test_orthogonal_lines_are_ninety_degrees_apart():
    np.testing.assert_allclose(principal_angles([[1, 0, 0]], [[0, 0, 3]]), [90.0])


def test_known_angle():
    angle = np.radians(30)
    np.testing.assert_allclose(principal_angles([[1, 0]], [[np.cos(angle), np.sin(angle)]]), [30.0], atol=1e-6)


def test_pca_finds_the_planted_direction():
    rng = np.random.default_rng(1)
    direction = np.array([3.0, 4.0, 0.0]) / 5
    x = rng.standard_normal((500, 1)) * 5 * direction + 0.01 * rng.standard_normal((500, 3)) + 7
    (component,) = pca_components(x, 1)
    assert abs(component @ direction) > 0.999


@pytest.mark.parametrize("dim, plane_dim", [(3, 2), (5, 3)])
def test_point_cloud_is_centred_near_a_plane_and_reproducible(dim, plane_dim):
    cloud = point_cloud(300, dim, plane_dim, noise=0.05, seed=4)
    assert cloud.shape == (300, dim) and cloud.dtype == np.float32
    np.testing.assert_allclose(cloud.mean(axis=0), 0, atol=1e-5)
    singular = np.linalg.svd(cloud, compute_uv=False)
    assert singular[plane_dim - 1] > 5 * singular[plane_dim], "the spread off the plane should be small"
    np.testing.assert_array_equal(cloud, point_cloud(300, dim, plane_dim, noise=0.05, seed=4))
    assert not np.array_equal(cloud, point_cloud(300, dim, plane_dim, noise=0.05, seed=5))
