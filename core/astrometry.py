"""Parallaxes to distances and absolute magnitudes: the one rule for when a parallax is usable.

Every place that turns a Gaia parallax into an absolute magnitude (the Gaia cross-match, the
dashboard's H-R diagram, reports) calls :func:`absolute_magnitude`, so they agree on which stars
have one.
"""

from __future__ import annotations

import numpy as np

# A parallax is used for an absolute magnitude when it is positive and measured at S/N >= 5
# (relative distance error <= 20 %, where 1/parallax is a fair distance estimate; Bailer-Jones 2015).
PARALLAX_MIN_SNR = 5.0


def usable_parallax(parallax_mas: np.ndarray, parallax_error_mas: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask: parallax positive, finite and (when errors are given) at S/N >= :data:`PARALLAX_MIN_SNR`."""
    plx = np.asarray(parallax_mas, dtype=np.float64)
    good = np.isfinite(plx) & (plx > 0)
    if parallax_error_mas is not None:
        err = np.asarray(parallax_error_mas, dtype=np.float64)
        good &= np.isfinite(err) & (plx >= PARALLAX_MIN_SNR * err)
    return good


def absolute_magnitude(
    mag: np.ndarray, parallax_mas: np.ndarray, parallax_error_mas: np.ndarray | None = None
) -> np.ndarray:
    """M = m + 5 log10(parallax / 100 mas) where the parallax is usable (:func:`usable_parallax`), else NaN."""
    mag = np.asarray(mag, dtype=np.float64)
    plx = np.asarray(parallax_mas, dtype=np.float64)
    good = usable_parallax(plx, parallax_error_mas)
    out = np.full(mag.shape, np.nan)
    out[good] = mag[good] + 5.0 * np.log10(plx[good] / 100.0)
    return out


def distance_kpc(parallax_mas: np.ndarray, parallax_error_mas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance 1/parallax (kpc, parallax in mas) and its first-order error, NaN for non-positive parallaxes."""
    plx = np.asarray(parallax_mas, dtype=np.float64)
    err = np.asarray(parallax_error_mas, dtype=np.float64)
    good = np.isfinite(plx) & (plx > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(good, 1.0 / plx, np.nan), np.where(good, err / plx**2, np.nan)
