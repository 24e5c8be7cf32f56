"""Canonical latent orientation and run-to-run neighbour agreement."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ModelError
from core.latent import Rotation, agreement_matrix, canonical_rotation, colour_index, neighbour_agreement
from tests._catalogs import make_catalog


@pytest.fixture(scope="module")
def cloud():
    """A latent-like cloud: long axis follows colour, short axis follows brightness."""
    df = make_catalog(3000, seed=3)
    mags = df[list("grizy")].to_numpy(float)
    rng = np.random.default_rng(0)
    z = np.column_stack([2.0 * colour_index(mags), -0.4 * (mags[:, 0] - 17.5)]) + rng.normal(0, 0.02, (3000, 2))
    return z, mags


def _orthogonal(angle: float, reflect: bool) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    q = np.array([[c, -s], [s, c]])
    return q @ np.diag([1.0, -1.0]) if reflect else q


@pytest.mark.parametrize(("angle", "reflect"), [(0.7, False), (2.9, True), (-1.3, True), (np.pi, False)])
def test_rotated_or_reflected_copy_has_the_same_canonical_coordinates(cloud, angle, reflect):
    z, mags = cloud
    canon = canonical_rotation(z, mags).apply(z)
    moved = (z @ _orthogonal(angle, reflect).T) + np.array([5.0, -3.0])
    canon_moved = canonical_rotation(moved, mags).apply(moved)
    np.testing.assert_allclose(canon_moved, canon, atol=1e-9)


def test_sign_convention_redder_right_brighter_up(cloud):
    z, mags = cloud
    # Scramble the raw axes first so the convention must be enforced, not inherited.
    raw = z[:, ::-1] * np.array([-1.0, 1.0])
    xy = canonical_rotation(raw, mags).apply(raw)
    assert np.corrcoef(xy[:, 0], colour_index(mags))[0, 1] > 0.9
    assert np.corrcoef(xy[:, 1], -mags[:, 0])[0, 1] > 0.9


def test_x_axis_is_the_colour_axis_even_when_it_is_the_minor_axis(cloud):
    z, mags = cloud
    squeezed = z * np.array([0.05, 1.0])  # colour axis now has the smaller variance
    xy = canonical_rotation(squeezed, mags).apply(squeezed)
    assert np.corrcoef(xy[:, 0], colour_index(mags))[0, 1] > 0.9


def test_rotation_is_orthogonal_centred_on_median_and_invertible(cloud):
    z, mags = cloud
    rot = canonical_rotation(z, mags)
    np.testing.assert_allclose(rot.matrix @ rot.matrix.T, np.eye(2), atol=1e-12)
    assert abs(abs(rot.determinant) - 1) < 1e-12
    np.testing.assert_allclose(np.median(rot.apply(z), axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(rot.invert(rot.apply(z)), z, atol=1e-9)
    again = Rotation.from_dict(rot.to_dict())
    np.testing.assert_allclose(again.apply(z), rot.apply(z))


def test_rotation_rejects_bad_shapes_and_malformed_cards():
    with pytest.raises(ModelError, match=r"\(N, 2\)"):
        canonical_rotation(np.zeros((10, 3)), np.zeros((10, 5)))
    with pytest.raises(ModelError, match="rows"):
        canonical_rotation(np.zeros((10, 2)), np.zeros((9, 5)))
    with pytest.raises(ModelError, match="malformed"):
        Rotation.from_dict({"matrix": [[1, 0], [0, 1]]})


def test_neighbour_agreement_identical_transformed_and_shuffled(cloud):
    z, _ = cloud
    assert neighbour_agreement(z, z) == 1.0
    # Distances are all that matter: a rotated, shifted, uniformly scaled copy agrees fully.
    assert neighbour_agreement(z, 3.0 * (z @ _orthogonal(1.1, True).T) + 7.0) == 1.0
    shuffled = z[np.random.default_rng(1).permutation(len(z))]
    chance = neighbour_agreement(z, shuffled)
    assert chance < 0.02
    noisy = z + np.random.default_rng(2).normal(0, 0.05, z.shape)
    partial = neighbour_agreement(z, noisy)
    assert chance < partial < 1.0


def test_neighbour_agreement_counts_shared_neighbours_exactly():
    # Points on a line: each interior point's 2 nearest are its two neighbours.
    a = np.column_stack([np.arange(10.0), np.zeros(10)])
    b = a.copy()
    b[[3, 7]] = b[[7, 3]]  # swap two stars' positions in run b
    # For each star count neighbours shared between runs with k=2, computed by hand.
    def nn(p, i):
        d = np.abs(p[:, 0] - p[i, 0])
        d[i] = np.inf
        return set(np.argsort(d, kind="stable")[:2])

    expected = np.mean([len(nn(a, i) & nn(b, i)) / 2 for i in range(10)])
    assert neighbour_agreement(a + 1e-9 * np.arange(10)[:, None], b + 1e-9 * np.arange(10)[:, None], k=2) == (
        pytest.approx(expected)
    )


def test_agreement_matrix_is_symmetric_with_unit_diagonal(cloud):
    z, _ = cloud
    other = z + np.random.default_rng(5).normal(0, 0.05, z.shape)
    m = agreement_matrix([z, other, z], k=5)
    np.testing.assert_allclose(m, m.T)
    np.testing.assert_allclose(np.diag(m), 1)
    assert m[0, 2] == 1.0 and m[0, 1] < 1.0


def test_neighbour_agreement_rejects_mismatched_runs():
    with pytest.raises(ModelError, match="shape"):
        neighbour_agreement(np.zeros((20, 2)), np.zeros((21, 2)))
