"""The stellar likelihood: covariance whitening, chi^2 and the reddening update, against direct linear algebra."""

from __future__ import annotations

import numpy as np
import pytest

from core.stellar import likelihood as lk
from core.stellar.data import UNMEASURED_VAR


def _random_spd(rng, n, b=5):
    a = rng.normal(size=(n, b, b)) * 0.05
    return a @ np.swapaxes(a, 1, 2) + np.eye(b)[None] * rng.uniform(1e-4, 1e-2, (n, 1, 1))


def test_whitening_turns_mean_square_into_chi2():
    rng = np.random.default_rng(0)
    cov = _random_spd(rng, 200)
    r = rng.normal(size=(200, 5)) * 0.1
    lt = lk.whitening(cov)
    white = np.einsum("nij,nj->ni", lt, r)
    direct = np.einsum("ni,ni->n", r, np.linalg.solve(cov, r[..., None])[..., 0])
    np.testing.assert_allclose((white**2).sum(axis=1), direct, rtol=1e-4)  # JITTER on the diagonal
    # The seed's Eq. 11-14: the mean square of the whitened residual is chi^2 / n_bands.
    np.testing.assert_allclose((white**2).mean(axis=1), direct / 5, rtol=1e-4)
    np.testing.assert_allclose(lk.chi2(r, lk.precision(cov)), direct, rtol=1e-4)
    # L^T is upper triangular (L is the Cholesky factor of the precision).
    assert np.allclose(np.tril(lt, -1), 0)


def test_unmeasured_entry_drops_out_of_chi2():
    """A magnitude without a parallax (variance UNMEASURED_VAR) leaves the chi^2 of the colours alone."""
    rng = np.random.default_rng(1)
    cov = _random_spd(rng, 50)
    r = rng.normal(size=(50, 5)) * 0.05
    blown = cov.copy()
    blown[:, 0, 0] += UNMEASURED_VAR
    colours_only = np.einsum("ni,ni->n", r[:, 1:], np.linalg.solve(cov[:, 1:, 1:], r[:, 1:, None])[..., 0])
    np.testing.assert_allclose(lk.chi2(r, lk.precision(blown)), colours_only, rtol=1e-4, atol=1e-6)


def test_reddening_update_is_the_gaussian_posterior():
    rng = np.random.default_rng(2)
    n = 300
    cov = _random_spd(rng, n)
    prec = lk.precision(cov)
    r_col = np.tile([3.17, -0.90, -0.59, -0.95, -1.18], (n, 1))
    e_true = rng.uniform(0, 0.5, n)
    noise = np.einsum("nij,nj->ni", np.linalg.cholesky(cov), rng.normal(size=(n, 5)))
    resid0 = e_true[:, None] * r_col + noise
    e0, v0 = e_true + 0.03 * rng.normal(size=n), np.full(n, 0.03**2)
    mean, var = lk.update_reddening(resid0, r_col, prec, e0, v0)
    # Brute force: minimise (resid0 - E R)^T P (resid0 - E R) + (E - E0)^2 / V0 on a fine grid.
    grid = np.linspace(-0.5, 1.0, 15001)
    k = 7
    d = resid0[k][None, :] - grid[:, None] * r_col[k][None, :]
    cost = np.einsum("gi,ij,gj->g", d, prec[k], d) + (grid - e0[k]) ** 2 / v0[k]
    assert mean[k] == pytest.approx(grid[np.argmin(cost)], abs=2e-4)
    curvature = r_col[k] @ prec[k] @ r_col[k] + 1 / v0[k]
    assert var[k] == pytest.approx(1 / curvature, rel=1e-9)
    # The posterior is closer to the truth than the prior on average.
    assert np.mean((mean - e_true) ** 2) < np.mean((e0 - e_true) ** 2)
    # A very tight prior returns the prior; a very loose one the photometric estimate.
    tight, _ = lk.update_reddening(resid0, r_col, prec, e0, np.full(n, 1e-12))
    np.testing.assert_allclose(tight, e0, atol=1e-6)
    clean, _ = lk.update_reddening(e_true[:, None] * r_col, r_col, prec, e0, np.full(n, 1e6))
    np.testing.assert_allclose(clean, e_true, atol=1e-6)


def test_clip_reddening_applies_floor_and_bounds():
    mean, var = lk.clip_reddening(np.array([-0.1, 0.2, 20.0]), np.array([1e-8, 1e-8, 1e-8]))
    np.testing.assert_allclose(mean, [0.0, 0.2, 10.0])
    np.testing.assert_allclose(var, [0.02**2, 0.02**2 + 0.02**2, 0.02**2 + 1.0])
