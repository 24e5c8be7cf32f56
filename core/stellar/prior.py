"""A simple Galactic prior for photometric stellar parameters: the mock sky's own Milky Way.

For a star at (l, b) the prior density of (node theta, distance modulus mu) is

    p(theta, mu) ~ w(theta) * sum_c rho_c(l, b, d) d^3 phi_c([Fe/H] | z)

with the Juric et al. (2008) thin disk, thick disk and halo densities (:func:`core.mock.galaxy.density`),
their metallicity distributions (:func:`core.mock.populations.feh_mean_sigma`), d^3 from the volume of a
shell per unit mu, and ``w(theta)`` the luminosity function (:func:`core.mock.populations.main_lf`) at the
model's M_r for theta, shared among the grid nodes of the same M_r and [Fe/H] in proportion to the training
stars' density there (so the luminosity selection of the spectroscopic sample is undone, but not its
distribution in Teff and log g at fixed luminosity). It describes normal single stars only: white dwarfs,
quasars and the like get no prior mass, and so a poor ``stellar_chi2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.mock import galaxy
from core.mock import populations as pops

COMPONENTS = galaxy.COMPONENTS
LN_FLOOR = -60.0  # ln prior where the model says "impossible" (keeps the arithmetic finite)


def log_density(l_deg: np.ndarray, b_deg: np.ndarray, mu: np.ndarray, feh: np.ndarray) -> np.ndarray:
    """ln of sum_c rho_c(l, b, d) d^3 phi_c([Fe/H] | z), broadcasting its arguments (per unit mu and [Fe/H])."""
    l_deg, b_deg, mu, feh = np.broadcast_arrays(*(np.asarray(a, np.float64) for a in (l_deg, b_deg, mu, feh)))
    d = 10 ** (0.2 * mu + 1.0)
    z = d * np.sin(np.radians(b_deg))  # as the mock draws [Fe/H] (core.mock.sky)
    total = np.zeros(d.shape)
    for comp in COMPONENTS:
        mean, sigma = pops.feh_mean_sigma(comp, z)
        phi = np.exp(-0.5 * ((feh - mean) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
        total += galaxy.density(comp, l_deg, b_deg, d) * phi
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(total) + 3.0 * np.log(d), LN_FLOOR)


@dataclass(frozen=True)
class SkyTable:
    """ln prior tabulated per sky cell, on a grid of distance modulus and the grid's [Fe/H] values."""

    cell_deg: float
    cells: np.ndarray  # (n_cells, 2) cell-centre (l, b)
    mu: np.ndarray  # (n_mu,)
    feh: np.ndarray  # (n_feh,)
    table: np.ndarray  # (n_cells, n_mu, n_feh) float32

    def cell_of(self, l_deg: np.ndarray, b_deg: np.ndarray) -> np.ndarray:
        keys = _cell_keys(l_deg, b_deg, self.cell_deg)
        table_keys = _cell_keys(self.cells[:, 0], self.cells[:, 1], self.cell_deg)
        order = np.argsort(table_keys)
        pos = np.searchsorted(table_keys[order], keys)
        return order[np.clip(pos, 0, len(order) - 1)]


def _cell_keys(l_deg: np.ndarray, b_deg: np.ndarray, cell: float) -> np.ndarray:
    il = np.floor((np.asarray(l_deg) % 360.0) / cell).astype(np.int64)
    ib = np.floor((np.asarray(b_deg) + 90.0) / cell).astype(np.int64)
    return ib * 100_000 + il


def sky_table(
    l_deg: np.ndarray, b_deg: np.ndarray, feh: np.ndarray, *, cell_deg: float = 1.0,
    mu_range: tuple[float, float] = (-1.0, 23.0), mu_step: float = 0.05,
) -> SkyTable:
    """The prior table for the sky cells that ``(l_deg, b_deg)`` fall in."""
    keys = np.unique(_cell_keys(l_deg, b_deg, cell_deg))
    ib, il = keys // 100_000, keys % 100_000
    cells = np.column_stack([(il + 0.5) * cell_deg, np.clip((ib + 0.5) * cell_deg - 90.0, -90, 90)])
    mu = np.arange(mu_range[0], mu_range[1] + mu_step / 2, mu_step)
    feh = np.asarray(feh, np.float64)
    # The densities depend on (cell, mu) only; [Fe/H] enters through each component's distribution.
    l2, b2, mu2 = np.broadcast_arrays(cells[:, 0, None], cells[:, 1, None], mu[None, :])
    d = 10 ** (0.2 * mu2 + 1.0)
    z = d * np.sin(np.radians(b2))
    total = np.zeros((*d.shape, len(feh)), np.float32)
    for comp in COMPONENTS:
        rho = galaxy.density(comp, l2, b2, d).astype(np.float32)
        mean, sigma = pops.feh_mean_sigma(comp, z)
        phi = np.exp(-0.5 * ((feh[None, None, :] - mean[..., None]) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
        total += rho[..., None] * phi.astype(np.float32)
    with np.errstate(divide="ignore"):
        table = np.maximum(np.log(total) + 3.0 * np.log(d)[..., None], LN_FLOOR).astype(np.float32)
    return SkyTable(cell_deg, cells, mu, feh, table)


def node_log_weights(
    m_r: np.ndarray, feh_index: np.ndarray, density: np.ndarray, *, bin_mag: float = 0.25, floor: float = 1e-4
) -> np.ndarray:
    """ln w per grid node: LF(M_r) x bin width, shared within each ([Fe/H] slice, M_r bin) by training density.

    ``floor`` (relative to the largest weight) keeps nodes the LF does not cover (e.g. very luminous
    giants the table extrapolates to) possible but unlikely.
    """
    mr_grid, lf = pops.main_lf()
    phi = np.interp(m_r, mr_grid, lf, left=0.0, right=0.0)
    bins = np.floor(m_r / bin_mag).astype(np.int64)
    key = feh_index.astype(np.int64) * 1_000_000 + (bins - bins.min())
    _, inverse = np.unique(key, return_inverse=True)
    share_sum = np.bincount(inverse, weights=density)
    w = phi * bin_mag * density / np.maximum(share_sum[inverse], 1e-300)
    w = np.maximum(w, floor * w.max()) if w.max() > 0 else np.ones_like(w)
    return np.log(w)
