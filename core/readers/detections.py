"""PS1 DR2 Detection exports (MAST CasJobs/portal CSV, TAP VOTable, FITS, Parquet) -> the epoch contract.

The PS1 DR2 ``Detection`` table (PS1 archive documentation, "PS1 Detection table fields"; Flewelling
et al. 2020) gives per exposure: ``objID``, ``detectID``, ``filterID`` (1-5 = g, r, i, z, y; the
``Filter`` table) or, in joined exports, ``filter``/``filterType`` letters, ``obsTime`` (MJD at the
mid-point of the exposure, TAI), ``psfFlux`` and ``psfFluxErr`` (Jy), ``psfQfPerfect`` and ``infoFlag``
(DetectionFlags bits). Magnitudes are AB: m = -2.5 log10(flux / 3631 Jy), sigma_m = 1.0857 sigma_f / f.
Non-positive fluxes (a detection scattered below zero) get NaN magnitudes, counted;
:func:`core.epochs.clean_epochs` drops them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from core.bands import PS1
from core.epochs import EpochError, validate_epochs
from core.errors import CatalogError

log = logging.getLogger(__name__)

__all__ = ["AB_ZERO_POINT_JY", "PS1_FILTER_IDS", "flux_to_mag", "ps1_detections_to_epochs", "read_ps1_detections"]

AB_ZERO_POINT_JY = 3631.0
PS1_FILTER_IDS = {1: "g", 2: "r", 3: "i", 4: "z", 5: "y"}
# Export column (any case) -> contract column.
ALIASES: dict[str, tuple[str, ...]] = {
    "obj_id": ("objID", "objid", "obj_id"),
    "mjd": ("obsTime", "obstime", "mjd", "mjd_obs"),
    "flux": ("psfFlux", "psfflux"),
    "flux_err": ("psfFluxErr", "psffluxerr"),
    "flags": ("infoFlag", "infoflag"),
    "psf_qf": ("psfQfPerfect", "psfqfperfect"),
    "detect_id": ("detectID", "detectid"),
}
BAND_COLUMNS = ("filterID", "filterid", "filter", "filterType", "filtertype", "band")


def flux_to_mag(flux_jy: np.ndarray, err_jy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AB magnitude and its error from a flux and its error in Jy (NaN where flux <= 0)."""
    flux = np.asarray(flux_jy, float)
    err = np.asarray(err_jy, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = flux > 0
        mag = np.where(ok, -2.5 * np.log10(np.where(ok, flux, 1.0) / AB_ZERO_POINT_JY), np.nan)
        mag_err = np.where(ok, 2.5 / np.log(10) * err / np.where(ok, flux, 1.0), np.nan)
    return mag, mag_err


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    for n in names:
        if n in columns:
            return n
        if n.lower() in lower:
            return lower[n.lower()]
    return None


def ps1_detections_to_epochs(raw: pd.DataFrame, *, source: str = "detections") -> pd.DataFrame:
    """Rename and convert a PS1 Detection table into the epoch contract (counts in ``attrs['sedscape']``)."""
    cols = [str(c) for c in raw.columns]
    found = {k: _find(cols, v) for k, v in ALIASES.items()}
    band_col = _find(cols, BAND_COLUMNS)
    missing = [f"{k} ({' or '.join(ALIASES[k][:2])})" for k in ("obj_id", "mjd", "flux", "flux_err") if found[k] is None]
    if band_col is None:
        missing.append("band (filterID or filter)")
    if missing:
        raise EpochError(f"{source}: not a PS1 Detection export: missing {', '.join(missing)}; "
                         f"columns present: {', '.join(cols[:30])}")
    out = pd.DataFrame()
    obj = pd.to_numeric(raw[found["obj_id"]], errors="coerce")
    if obj.isna().any():
        bad = np.flatnonzero(obj.isna().to_numpy())[:3].tolist()
        raise EpochError(f"{source}: column {found['obj_id']!r} has non-integer values at rows {bad}")
    out["obj_id"] = obj.astype(np.int64)
    bvals = raw[band_col]
    if pd.api.types.is_numeric_dtype(bvals):
        codes = pd.to_numeric(bvals, errors="coerce")
        band = codes.map(PS1_FILTER_IDS)
        unknown = band.isna()
        if unknown.any():
            raise EpochError(f"{source}: column {band_col!r} has filter IDs {sorted(set(codes[unknown].tolist()))[:5]} "
                             f"outside 1-5 (g r i z y), first at row {int(np.flatnonzero(unknown.to_numpy())[0])}")
    else:
        band = bvals.astype(str).str.strip().str.lower().str[:1]
    out["band"] = band.astype(str)
    out["mjd"] = pd.to_numeric(raw[found["mjd"]], errors="coerce").astype(float)
    mag, mag_err = flux_to_mag(pd.to_numeric(raw[found["flux"]], errors="coerce"),
                               pd.to_numeric(raw[found["flux_err"]], errors="coerce"))
    out["mag"], out["mag_err"] = mag, mag_err
    for k in ("flags", "psf_qf", "detect_id"):
        if found[k] is not None:
            out[k] = pd.to_numeric(raw[found[k]], errors="coerce")
    if "flags" in out:
        out["flags"] = out["flags"].fillna(0).astype(np.int64)
    n_nonpos = int(np.isnan(mag).sum())
    out.attrs["sedscape"] = {"source": "ps1_dr2_detection",
                             "ingest": {"path": source, "n_rows": len(out), "n_nonpositive_flux": n_nonpos}}
    if n_nonpos:
        log.info("%s: %d detections with psfFlux <= 0 have no magnitude (counted; cleaning drops them)", source, n_nonpos)
    validate_epochs(out, PS1, source=source)
    return out


def read_ps1_detections(path: str | Path) -> pd.DataFrame:
    """Read a PS1 DR2 Detection export (CSV, VOTable, FITS or Parquet) into the epoch contract."""
    from core.readers import READERS, detect_format

    path = Path(path)
    if not path.exists():
        raise CatalogError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise CatalogError(f"{path}: the file is empty (0 bytes)")
    fmt = detect_format(path)
    raw = READERS[fmt](path).df
    return ps1_detections_to_epochs(raw, source=str(path))
