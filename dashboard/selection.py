"""Selecting stars by geometry on the full catalog: polygons (lasso), boxes and sky cones.

Selections are computed server-side from the drawn geometry in data coordinates, never from the
rasterised image, so a lasso selects exactly the stars inside it however dense the plot is.
"""

from __future__ import annotations

import numba
import numpy as np

from core import STELLAR_SYSTEMS

# The field presets: each stellar system of the paper's field within the paper's radius, (ra, dec, radius) in deg.
PRESET_FIELDS: dict[str, tuple[float, float, float]] = {
    s.label: (s.ra, s.dec, s.select_radius_deg) for s in STELLAR_SYSTEMS
}


@numba.njit(parallel=True, cache=True)
def _inside(x: np.ndarray, y: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    # Even-odd ray casting; a point exactly on an edge may fall either side, as in matplotlib.
    n, m = x.size, px.size
    out = np.zeros(n, dtype=np.bool_)
    for k in numba.prange(n):
        xk, yk = x[k], y[k]
        inside = False
        j = m - 1
        for i in range(m):
            yi, yj = py[i], py[j]
            if (yi > yk) != (yj > yk):
                xcross = px[i] + (yk - yi) * (px[j] - px[i]) / (yj - yi)
                if xk < xcross:
                    inside = not inside
            j = i
        out[k] = inside
    return out


def polygon_mask(x: np.ndarray, y: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Boolean mask of the points ``(x, y)`` inside ``polygon`` (an ``(M, 2)`` vertex array, open or closed).

    NaN coordinates are outside. A bounding-box cut first keeps the exact test to the candidates.
    """
    poly = np.asarray(polygon, dtype=np.float64)
    if poly.ndim != 2 or poly.shape[1] != 2:
        raise ValueError(f"polygon must be an (M, 2) array of vertices, got shape {poly.shape}")
    x = np.asarray(x)
    y = np.asarray(y)
    mask = np.zeros(x.shape[0], dtype=bool)
    if len(poly) < 3:
        return mask
    (x0, y0), (x1, y1) = poly.min(axis=0), poly.max(axis=0)
    cand = np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
    if cand.size:
        px, py = np.ascontiguousarray(poly[:, 0]), np.ascontiguousarray(poly[:, 1])
        mask[cand] = _inside(x[cand].astype(np.float64), y[cand].astype(np.float64), px, py)
    return mask


def box_mask(x: np.ndarray, y: np.ndarray, bounds: tuple[float, float, float, float]) -> np.ndarray:
    """Points inside ``(left, bottom, right, top)``, edges included; the corners may come in any order."""
    left, bottom, right, top = bounds
    x0, x1 = sorted((left, right))
    y0, y1 = sorted((bottom, top))
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def cone_mask(ra: np.ndarray, dec: np.ndarray, ra0: float, dec0: float, radius_deg: float) -> np.ndarray:
    """Stars within ``radius_deg`` of ``(ra0, dec0)`` (haversine separation; all angles in degrees)."""
    near = np.abs(dec - dec0) <= radius_deg
    idx = np.flatnonzero(near)
    mask = np.zeros(ra.shape[0], dtype=bool)
    if idx.size:
        r1, d1 = np.radians(ra[idx]), np.radians(dec[idx])
        r0, d0 = np.radians(ra0), np.radians(dec0)
        hav = np.sin((d1 - d0) / 2) ** 2 + np.cos(d1) * np.cos(d0) * np.sin((r1 - r0) / 2) ** 2
        sep = np.degrees(2 * np.arcsin(np.sqrt(np.clip(hav, 0, 1))))
        mask[idx] = sep <= radius_deg
    return mask
