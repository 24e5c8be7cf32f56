"""Globular clusters and the Leo II dwarf spheroidal in the North Galactic Cap annulus.

Members are drawn along a PS1 fiducial ridge line (weighted by the luminosity function) and its
horizontal branch, moved from the fiducial cluster's distance and reddening to the target's, and
placed on the sky with a Plummer profile whose scale is the half-light radius.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from core.bands import PS1
from core.fields import STELLAR_SYSTEMS, StellarSystem
from core.mock import tables
from core.mock.populations import BHB_GR_RANGE, CLASS_CODE, RRL_GR_RANGE, main_lf

K_EXT = np.array([PS1.extinction_coeffs[b] for b in PS1.names])


@dataclass(frozen=True)
class Cluster(StellarSystem):
    """A stellar system of :data:`core.fields.STELLAR_SYSTEMS` as the mock draws it, with its members in the
    pre-cut window at paper scale and the fraction of those on the horizontal branch."""

    paper_members: int = 0
    hb_fraction: float = 0.05

    @property
    def fiducial(self) -> str:
        return tables.nearest_fiducial(self.feh)


# Member counts (inside the generator's r window, at paper scale) roughly follow the clusters' luminosities.
_MEMBERS: dict[str, dict[str, float]] = {
    "M3": {"paper_members": 6000},
    "M53": {"paper_members": 4500},
    "NGC5466": {"paper_members": 2200},
    "NGC5053": {"paper_members": 2000},
    "NGC4147": {"paper_members": 2500},
    "LeoII": {"paper_members": 500, "hb_fraction": 0.03},
}
CLUSTERS: tuple[Cluster, ...] = tuple(Cluster(**asdict(s), **_MEMBERS[s.name]) for s in STELLAR_SYSTEMS)


def _ridge_weights(ridge_abs_r: np.ndarray) -> np.ndarray:
    """Relative number of stars per unit length along the ridge (indexed by point), from the LF."""
    mr, lf = main_lf()
    dens = np.interp(ridge_abs_r, mr, lf)
    step = np.abs(np.gradient(ridge_abs_r))
    return dens * step


def _along(points: np.ndarray, weights: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw ``n`` points on the polyline ``points`` with density proportional to ``weights`` per vertex."""
    seg_w = 0.5 * (weights[1:] + weights[:-1])
    seg = rng.choice(len(seg_w), size=n, p=seg_w / seg_w.sum())
    t = rng.random(n)[:, None]
    return points[seg] * (1 - t) + points[seg + 1] * t


def absolute_sequences(cluster: Cluster) -> tuple[np.ndarray, np.ndarray, float]:
    """The fiducial's ridge line and HB in absolute, dereddened grizy, and its [Fe/H]."""
    fid = tables.cluster_fiducial(cluster.fiducial)
    shift = fid.dist_mod + K_EXT * fid.ebv
    ridge = fid.ridge - shift
    ridge = ridge[np.all(np.isfinite(ridge[:, :4]), axis=1)]
    if np.isnan(ridge[:, 4]).any():  # a few fiducials stop short in y: extend with the last z - y
        good = np.isfinite(ridge[:, 4])
        last = np.flatnonzero(good)[-1]
        ridge[~good, 4] = ridge[~good, 3] - (ridge[last, 3] - ridge[last, 4])
    hb = fid.hb - shift
    hb = hb[np.all(np.isfinite(hb), axis=1)]
    return ridge, hb, fid.feh


def draw_members(
    rng: np.random.Generator, cluster: Cluster, n: int, max_abs_r: float = np.inf
) -> dict[str, np.ndarray]:
    """``n`` members brighter than ``max_abs_r`` (absolute r): absolute grizy, class code, ra/dec (deg)
    and projected radius in units of r_half."""
    ridge, hb, _ = absolute_sequences(cluster)
    weights = _ridge_weights(ridge[:, 1]) * (ridge[:, 1] <= max_abs_r)
    n_hb = rng.binomial(n, cluster.hb_fraction) if np.median(hb[:, 1]) <= max_abs_r else 0
    mags = np.vstack([_along(ridge, weights, rng, n - n_hb), _along(hb, np.ones(len(hb)), rng, n_hb)])
    mags += rng.normal(0, 0.01, mags.shape)
    to_mr = tables.colour_grid().turnoff_mr(np.array([cluster.feh]))[0]
    cls = np.full(n, CLASS_CODE["ms"], dtype=np.int8)
    cls[: n - n_hb][mags[: n - n_hb, 1] < to_mr - 0.5] = CLASS_CODE["giant"]
    g_r = mags[n - n_hb :, 0] - mags[n - n_hb :, 1]
    cls[n - n_hb :] = np.where(
        g_r < BHB_GR_RANGE[1],
        CLASS_CODE["bhb"],
        np.where(g_r <= RRL_GR_RANGE[1], CLASS_CODE["rrlyrae"], CLASS_CODE["rhb"]),
    )
    # Projected Plummer profile: fraction inside R is R^2 / (R^2 + a^2); cut at 15 a.
    u = rng.uniform(0, 225 / 226, n)
    radius = np.sqrt(u / (1 - u))
    theta = rng.uniform(0, 2 * np.pi, n)
    a_deg = cluster.r_half_arcmin / 60.0
    dra = radius * a_deg * np.cos(theta) / np.cos(np.radians(cluster.dec))
    ddec = radius * a_deg * np.sin(theta)
    order = rng.permutation(n)
    return {
        "abs_mags": mags[order],
        "cls": cls[order],
        "ra": (cluster.ra + dra[order]) % 360.0,
        "dec": cluster.dec + ddec[order],
        "r_over_rh": radius[order],
    }


def crowding_probability(r_over_rh: np.ndarray) -> np.ndarray:
    """Chance that blending spoils a member's flags: high in the core, negligible beyond ~2 r_half."""
    return 0.9 * np.exp(-((r_over_rh / 0.8) ** 2))
