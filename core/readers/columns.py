"""Map archive column names onto the catalog contract and clean values (types, sentinels, coordinates).

The alias lists cover the contract's own names, PS1 names as MAST (portal, CasJobs, TAP) writes them,
PS1-STRM / PS1-PSC star probabilities and common E(B-V) spellings. Matching ignores case.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from core.bands import BandSet
from core.catalog import SENTINELS
from core.errors import CatalogError

log = logging.getLogger(__name__)

# "no measurement" markers that are never real values in any column we read.
HARD_SENTINELS: tuple[float, ...] = (-999.0, -999.9, -9999.0)
_NULL_TOKENS = {"", "nan", "null", "none", "na", "n/a", "--", "masked"}


def aliases(bands: BandSet) -> dict[str, tuple[str, ...]]:
    """Contract column -> names looked for in a file, most specific first."""
    out: dict[str, tuple[str, ...]] = {
        "obj_id": ("obj_id", "objID", "obj_id_ps1", "objid", "source_id", "id"),
        "ra": ("ra", "raMean", "RAJ2000", "RA_ICRS", "ra_deg"),
        "dec": ("dec", "decMean", "DEJ2000", "DE_ICRS", "dec_deg"),
        "l": ("l", "glon", "gal_l"),
        "b": ("b", "glat", "gal_b"),
        "ebv": ("ebv", "EBV", "E_BV", "E(B-V)", "ebv_sfd", "EBV_SFD"),
        "prob_star": ("prob_star", "prob_Star", "probStar", "ps_score"),
        "parallax": ("parallax", "plx"),
        "parallax_error": ("parallax_error", "e_plx", "plx_err"),
    }
    for band in bands:
        out[band] = (band, f"{band}MeanPSFMag", f"psfMag_{band}", f"{band}_mag", f"{band}mag")
        out[f"{band}_err"] = (
            f"{band}_err",
            f"{band}MeanPSFMagErr",
            f"psfMagErr_{band}",
            f"e_{band}mag",
            f"{band}_mag_err",
            f"{band}magErr",
        )
        out[f"n_{band}"] = (f"n_{band}", f"n{band}")
        out[f"qf_{band}"] = (f"qf_{band}", f"{band}QfPerfect")
        out[f"{band}_kron"] = (f"{band}_kron", f"{band}MeanKronMag")
        out[f"{band}_obs"] = (f"{band}_obs",)
    return out


def required(bands: BandSet) -> tuple[str, ...]:
    """Columns a file must provide (``obj_id`` and ``l, b`` can be made when absent)."""
    return ("ra", "dec") + bands.names + bands.err_columns


def resolve_columns(columns: list[str], bands: BandSet) -> dict[str, str]:
    """Contract name -> source column for every contract column found in ``columns``.

    Exact matches win over case-insensitive ones; a source column is used at most once.
    """
    exact = {str(c): str(c) for c in columns}
    lower: dict[str, str] = {}
    for c in columns:
        lower.setdefault(str(c).lower(), str(c))
    found: dict[str, str] = {}
    used: set[str] = set()
    table = aliases(bands)
    for pass_exact in (True, False):
        for target, names in table.items():
            if target in found:
                continue
            for name in names:
                src = exact.get(name) if pass_exact else lower.get(name.lower())
                if src is not None and src not in used:
                    found[target] = src
                    used.add(src)
                    break
    return found


def check_required(found: dict[str, str], columns: list[str], bands: BandSet, source: str) -> None:
    """Raise naming each missing column and the names that were looked for."""
    table = aliases(bands)
    missing = [c for c in required(bands) if c not in found]
    if not missing:
        return
    looked = "; ".join(f"{c} (looked for {', '.join(table[c])})" for c in missing)
    raise CatalogError(
        f"{source}: missing column(s) for band set {bands.name!r}: {looked}. "
        f"Columns in the file: {', '.join(map(str, columns[:60]))}"
    )


def to_numeric(
    series: pd.Series, column: str, source: str, *, line_of: Callable[[int], int | None] | None = None
) -> pd.Series:
    """Convert to float, raising on any value that is text rather than a number or a null token.

    The error shows the column, one bad value and its data row (and file line when known).
    """
    if pd.api.types.is_bool_dtype(series):
        raise CatalogError(f"{source}: column {column!r} holds booleans, not numbers")
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float)
    converted = pd.to_numeric(series, errors="coerce")
    text = series.astype("string").str.strip()
    bad = converted.isna() & series.notna() & ~text.str.lower().isin(_NULL_TOKENS).fillna(True)
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        where = f"data row {pos + 1}"
        line = line_of(pos) if line_of is not None else None
        if line is not None:
            where += f" (line {line} of the file)"
        raise CatalogError(
            f"{source}: column {column!r} must be numeric but {int(bad.sum()):,} value(s) are not numbers; "
            f"first at {where}: {series.iloc[pos]!r}"
        )
    return converted.astype(float)


_SEXA = re.compile(r"[\s:hdms°'\"]+")


def parse_angle(series: pd.Series, column: str, source: str, *, hours: bool) -> np.ndarray:
    """Degrees from decimal or sexagesimal strings ("08 40 22.169", "+19:40:17.33"), vectorised."""
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=float)
    text = series.astype("string").str.strip()
    is_sexa = text.str.contains(r"\d[\s:hdm°]+\d", regex=True).fillna(False).to_numpy(bool)
    if not is_sexa.any():
        return to_numeric(series, column, source).to_numpy(float)
    if not is_sexa[text.notna().to_numpy()].all():
        pos = int(np.flatnonzero(~is_sexa & text.notna().to_numpy())[0])
        raise CatalogError(
            f"{source}: column {column!r} mixes sexagesimal and decimal values; data row {pos + 1}: "
            f"{series.iloc[pos]!r}"
        )
    negative = text.str.startswith("-").fillna(False).to_numpy(bool)
    parts = text.str.lstrip("+-").str.replace(_SEXA, " ", regex=True).str.strip().str.split(" ", expand=True)
    if parts.shape[1] > 3:
        raise CatalogError(f"{source}: column {column!r} has sexagesimal values with more than 3 fields")
    fields = parts.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    fields = np.pad(fields, ((0, 0), (0, 3 - fields.shape[1])), constant_values=0.0)
    fields[:, 1:] = np.nan_to_num(fields[:, 1:])
    bad = np.isnan(fields[:, 0]) & text.notna().to_numpy() | (fields[:, 1] > 60) | (fields[:, 2] > 60)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise CatalogError(
            f"{source}: column {column!r} has {int(bad.sum())} unreadable angle(s); data row {pos + 1}: "
            f"{series.iloc[pos]!r}"
        )
    # Exports round seconds, so "19 40 60.00" occurs (one row of the M44 cone); it means 19 41 00.
    value = fields[:, 0] + fields[:, 1] / 60 + fields[:, 2] / 3600
    value = np.where(negative, -value, value)
    if hours and np.nanmax(np.abs(fields[:, 0]), initial=0) >= 24:
        pos = int(np.nanargmax(np.abs(fields[:, 0])))
        raise CatalogError(
            f"{source}: column {column!r} is sexagesimal, read as hours:minutes:seconds, but data row "
            f"{pos + 1} has {series.iloc[pos]!r} (>= 24 h); write RA as decimal degrees or in hours"
        )
    return value * 15.0 if hours else value


def galactic(ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Galactic (l, b) in degrees from ICRS (ra, dec) with astropy; NaN stays NaN."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    ok = np.isfinite(ra_deg) & np.isfinite(dec_deg)
    l_deg = np.full(len(ra_deg), np.nan)
    b_deg = np.full(len(ra_deg), np.nan)
    if ok.any():
        gal = SkyCoord(ra=ra_deg[ok] * u.deg, dec=dec_deg[ok] * u.deg, frame="icrs").galactic
        l_deg[ok], b_deg[ok] = gal.l.deg, gal.b.deg
    return l_deg, b_deg


def sentinels_for(column: str, bands: BandSet) -> tuple[float, ...]:
    """Magnitudes and errors also use +-99 / 999 as "no value"; counts and flags never do."""
    if column in bands.names or column in bands.err_columns:
        return tuple(sorted(set(SENTINELS) | set(HARD_SENTINELS)))
    return HARD_SENTINELS


def obj_ids(series: pd.Series, column: str, source: str) -> np.ndarray:
    """``obj_id`` as int64; refuses non-integers, NaN and floats too large to hold an id exactly."""
    if pd.api.types.is_integer_dtype(series):
        if series.isna().any():
            raise CatalogError(
                f"{source}: column {column!r} (obj_id) is empty in {int(series.isna().sum())} rows"
            )
        return series.to_numpy(dtype=np.int64)
    if pd.api.types.is_float_dtype(series):
        values = series.to_numpy(float)
        if np.isnan(values).any():
            raise CatalogError(
                f"{source}: column {column!r} (obj_id) is empty in {int(np.isnan(values).sum())} rows"
            )
        if (values != np.round(values)).any() or np.nanmax(np.abs(values), initial=0) > 2**53:
            raise CatalogError(
                f"{source}: column {column!r} (obj_id) holds floats that are not exact integers "
                "(large ids lose digits as floats); store ids as integers"
            )
        return values.astype(np.int64)
    ints = pd.to_numeric(series, errors="coerce")
    bad = ints.isna()
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise CatalogError(
            f"{source}: column {column!r} (obj_id) must hold integers; {int(bad.sum())} do not, "
            f"first at data row {pos + 1}: {series.iloc[pos]!r}"
        )
    return obj_ids(ints, column, source)
