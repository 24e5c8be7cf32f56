"""Selecting stars by geometry on the full catalog: polygons (lasso), boxes, sky cones and presets.

A selection is described by a small JSON-able *geometry* dict (what the dashboard records in every
export's provenance), and :func:`selection_mask` turns it back into the stars it selects, so the
dashboard and ``sedscape export --selection`` select the same rows. Lassos and boxes are drawn in a
view's coordinates (latent space, colours, magnitudes, absolute magnitude), computed here by
:func:`view_coordinate` exactly as the dashboard plots them (float32), never from a rasterised image.

Geometry kinds::

    {"kind": "lasso", "view": "latent", "x": "latent_x", "y": "latent_y", "vertices": [[x, y], ...]}
    {"kind": "box", "view": "cmd", "x": "g_i", "y": "g", "bounds": [left, bottom, right, top]}
    {"kind": "preset", "preset": "anomalies", "threshold": 0.05}   (+ "column": "masked_ae__max_abs_res")
    {"kind": "preset", "preset": "simbad", "column": "simbad_category", "value": "WD"}
    {"kind": "preset", "preset": "field", "fields": {"M3": [ra, dec, radius_deg], ...}}
    {"kind": "preset", "preset": "poorly_fit", "chi2_threshold": 25.0, "threshold": 0.05}   (+ "column" as above)
    {"kind": "obj_ids", "source": "samp", "obj_ids": [...]}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numba
import numpy as np
import pandas as pd

from core.astrometry import absolute_magnitude
from core.bands import BandSet
from core.errors import ConfigError
from core.fields import STELLAR_SYSTEMS
from core.scored_models import MODEL_SEP

# The field presets: each stellar system of the paper's field within the paper's radius, (ra, dec, radius) in deg.
PRESET_FIELDS: dict[str, tuple[float, float, float]] = {
    s.label: (s.ra, s.dec, s.select_radius_deg) for s in STELLAR_SYSTEMS
}

GEOMETRY_KINDS = ("lasso", "box", "preset", "obj_ids")
PRESETS = ("anomalies", "simbad", "field", "poorly_fit")


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


# ----- the coordinates views are drawn in ---------------------------------------------------------
def colour_name(a: str, b: str) -> str:
    """The column name of the colour ``a - b`` (``g_i``; ``g_i_rec`` for reconstructed magnitudes)."""
    return f"{a}_{b}"


def absolute_first_band(df: pd.DataFrame, band: str = "g") -> np.ndarray | None:
    """``abs_g`` when the catalog has it; else the absolute magnitude from the parallax
    (:func:`core.astrometry.absolute_magnitude`), float32 like every view coordinate.

    Stars without a usable parallax get NaN, so the H-R diagram shows only the Gaia subset; None when no star has one.
    """
    if "abs_g" in df:
        return df["abs_g"].to_numpy(np.float32)
    if "parallax" not in df:
        return None
    err = df["parallax_error"].to_numpy(np.float64) if "parallax_error" in df else None
    out = absolute_magnitude(df[band].to_numpy(np.float64), df["parallax"].to_numpy(np.float64), err)
    return out.astype(np.float32) if np.isfinite(out).any() else None


def view_coordinate(df: pd.DataFrame, name: str, bands: BandSet) -> np.ndarray:
    """A view axis by name, as float32 exactly as the dashboard plots it: a catalog column (``latent_x``,
    ``g``, ``g_rec``...), a colour (``g_i``, ``g_i_rec``) or the first band's absolute magnitude
    (``abs_g``, ``abs_g_rec``). In a catalog with several models (:mod:`core.scored_models`) another model's
    columns carry its prefix: ``masked_ae__latent_x``, ``masked_ae__g_i_rec``, ``masked_ae__abs_g_rec``."""
    names = bands.names
    # Another model's reconstructed coordinates (``masked_ae__g_i_rec``): that model's ``<b>_rec`` columns.
    model, sep, bare = name.rpartition(MODEL_SEP)
    prefix = model + sep if sep and bare.endswith("_rec") else ""
    if prefix:
        name = bare
    base, suffix = (name[: -len("_rec")], "_rec") if name.endswith("_rec") else (name, "")
    if base == "abs_g":
        first = absolute_first_band(df, names[0])
        if first is None:
            raise ConfigError(f"view coordinate {name!r} needs abs_g or Gaia parallaxes, which this catalog lacks")
        if not suffix:
            return first
        return first + (_column32(df, f"{prefix}{names[0]}_rec") - _column32(df, names[0]))
    for a in names:
        for b in names:
            if a != b and base == colour_name(a, b):
                rec = prefix if suffix else ""
                return _column32(df, rec + a + suffix) - _column32(df, rec + b + suffix)
    return _column32(df, prefix + name)


def _column32(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df:
        raise ConfigError(f"view coordinate {name!r}: the catalog has no such column (nor colour of its bands)")
    return df[name].to_numpy(np.float32)


# ----- geometry -> stars --------------------------------------------------------------------------
def check_geometry(geometry: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a geometry dict; the error names the field that is missing or wrong."""
    if not isinstance(geometry, Mapping):
        raise ConfigError(f"selection geometry must be a JSON object, got {type(geometry).__name__}")
    g = dict(geometry)
    kind = g.get("kind")
    if kind not in GEOMETRY_KINDS:
        raise ConfigError(f"selection geometry field 'kind' is {kind!r}; expected one of {', '.join(GEOMETRY_KINDS)}")
    need = {
        "lasso": ("x", "y", "vertices"),
        "box": ("x", "y", "bounds"),
        "preset": ("preset",),
        "obj_ids": ("obj_ids",),
    }[kind]
    if kind == "preset":
        if g.get("preset") not in PRESETS:
            raise ConfigError(f"selection geometry field 'preset' is {g.get('preset')!r}; expected one of "
                              f"{', '.join(PRESETS)}")  # fmt: skip
        need += {"anomalies": ("threshold",), "simbad": ("column", "value"), "field": ("fields",),
                 "poorly_fit": ("chi2_threshold", "threshold")}[g["preset"]]  # fmt: skip
    missing = [k for k in need if k not in g]
    if not missing and kind == "preset" and g["preset"] == "poorly_fit":
        try:
            float(g["chi2_threshold"])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"preset selection geometry field 'chi2_threshold' is malformed ({exc})") from None
    if kind == "obj_ids" and missing:
        raise ConfigError(
            f"this selection ({g.get('n', 'an unknown number of')} stars from {g.get('source', 'elsewhere')}) was "
            "too large to keep its obj_ids in the provenance; the export file itself lists its rows"
        )
    if missing:
        raise ConfigError(f"{kind} selection geometry lacks field(s) {', '.join(repr(m) for m in missing)}")
    try:
        if kind == "lasso":
            verts = np.asarray(g["vertices"], dtype=float)
            if verts.ndim != 2 or verts.shape[1] != 2 or len(verts) < 3:
                raise ValueError(f"shape {verts.shape}")
        elif kind == "box":
            if len(np.asarray(g["bounds"], dtype=float).ravel()) != 4:
                raise ValueError("need 4 numbers")
        elif kind == "preset" and g["preset"] in ("anomalies", "poorly_fit"):
            float(g["threshold"])
        elif kind == "preset" and g["preset"] == "field":
            for name, v in dict(g["fields"]).items():
                if len(v) != 3:
                    raise ValueError(f"field {name!r} needs [ra, dec, radius]")
    except (TypeError, ValueError) as exc:
        field = {"lasso": "vertices", "box": "bounds"}.get(
            kind, "threshold" if g.get("preset") in ("anomalies", "poorly_fit") else "fields"
        )
        raise ConfigError(f"{kind} selection geometry field {field!r} is malformed ({exc})") from None
    return g


def selection_mask(
    df: pd.DataFrame,
    geometry: Mapping[str, Any] | None,
    bands: BandSet,
    *,
    coordinates: pd.DataFrame | None = None,
) -> np.ndarray:
    """The stars of ``df`` that ``geometry`` selects (a boolean mask; ``None`` selects none).

    ``coordinates`` may hold view coordinates already computed (the dashboard's float32 plotting
    frame); others are computed with :func:`view_coordinate`.
    """
    n = len(df)
    if geometry is None:
        return np.zeros(n, dtype=bool)
    g = check_geometry(geometry)

    def coord(name: str) -> np.ndarray:
        if coordinates is not None and name in coordinates:
            return coordinates[name].to_numpy()
        return view_coordinate(df, name, bands)

    kind = g["kind"]
    if kind == "lasso":
        return polygon_mask(coord(g["x"]), coord(g["y"]), np.asarray(g["vertices"], dtype=float))
    if kind == "box":
        return box_mask(coord(g["x"]), coord(g["y"]), tuple(float(v) for v in g["bounds"]))
    if kind == "obj_ids":
        return df["obj_id"].isin(np.asarray(g["obj_ids"], dtype=np.int64)).to_numpy()
    preset = g["preset"]
    if preset == "anomalies":  # "column": another model's max_abs_res (absent: the default model's)
        return coord(str(g.get("column", "max_abs_res"))) > float(g["threshold"])
    if preset == "simbad":
        return category_mask(df, g["column"], g["value"])
    if preset == "poorly_fit":
        res = coord(str(g.get("column", "max_abs_res")))  # "column": another model's max_abs_res, as for anomalies
        return poorly_fit_mask(res, _stellar_chi2(df), float(g["chi2_threshold"]), float(g["threshold"]))
    ra, dec = df["ra"].to_numpy(float), df["dec"].to_numpy(float)
    mask = np.zeros(n, dtype=bool)
    for ra0, dec0, radius in dict(g["fields"]).values():
        mask |= cone_mask(ra, dec, float(ra0), float(dec0), float(radius))
    return mask


def category_mask(df: pd.DataFrame, column: str, value: str) -> np.ndarray:
    """Stars whose ``column`` equals ``value`` (missing values match nothing)."""
    if column not in df:
        raise ConfigError(f"simbad selection geometry: the catalog has no column {column!r}")
    series = df[column]
    if isinstance(series.dtype, pd.CategoricalDtype):  # compare codes, not a string per star
        cats = series.cat.categories
        if value not in cats:
            return np.zeros(len(df), dtype=bool)
        return series.cat.codes.to_numpy() == cats.get_loc(value)
    return (series.astype("string") == value).fillna(False).to_numpy(dtype=bool)


def poorly_fit_mask(max_abs_res: np.ndarray, stellar_chi2: np.ndarray, chi2_threshold: float, threshold: float) -> np.ndarray:
    """Stars that no normal star explains (``stellar_chi2 > chi2_threshold``; see
    :data:`core.stellar.evaluation.STELLAR_CHI2_THRESHOLD`) *and* that the autoencoder flags
    (``max_abs_res > threshold``): anomalous both physically and in the learned map. NaN is neither."""
    chi2 = np.asarray(stellar_chi2, dtype=np.float64)
    return (chi2 > chi2_threshold) & (np.asarray(max_abs_res) > threshold)


def _stellar_chi2(df: pd.DataFrame) -> np.ndarray:
    if "stellar_chi2" not in df:
        raise ConfigError(
            "poorly_fit selection geometry: the catalog has no 'stellar_chi2' column; "
            "run `sedscape stellar-model infer` on it first"
        )
    return df["stellar_chi2"].to_numpy(np.float64)
