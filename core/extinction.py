"""Dereddening with E(B-V) and A_band / E(B-V) coefficients (Hutchinson et al. 2025, section 2.3).

The paper uses SFD (Schlegel et al. 1998) E(B-V) with the Schlafly & Finkbeiner (2011) R_V = 3.1
coefficients, which are defined against the SFD scale, so no extra 0.86 factor is applied.
After :func:`deredden`, ``<band>`` holds the dereddened magnitude and ``<band>_obs`` the observed one.
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import pandas as pd

from core.bands import PS1, BandSet
from core.catalog import SENTINELS
from core.errors import CatalogError, ConfigError

log = logging.getLogger(__name__)

SFD_RESCALING = 0.86
"""E(B-V) on the true scale = 0.86 x SFD's (Schlafly & Finkbeiner 2011); the coefficients here take SFD's scale."""


def sfd_scale_ebv(true_ebv: float) -> float:
    """The SFD-scale E(B-V) to deredden with, for a reddening measured on the true scale (e.g. a cluster's)."""
    return float(true_ebv) / SFD_RESCALING


def is_dereddened(df: pd.DataFrame, bands: BandSet = PS1) -> bool:
    """True when ``df`` records a dereddening or already carries ``<band>_obs`` columns."""
    if df.attrs.get("sedscape", {}).get("dereddened"):
        return True
    return any(f"{b}_obs" in df.columns for b in bands)


def _resolve_coeffs(bands: BandSet, coeffs: dict[str, float] | None) -> dict[str, float]:
    if coeffs is None:
        return bands.extinction_coeffs
    missing = [b for b in bands if b not in coeffs]
    if missing:
        raise ConfigError(f"extinction coefficients missing for band(s) {missing}; given: {sorted(coeffs)}")
    bad = {b: coeffs[b] for b in bands if not np.isfinite(coeffs[b]) or coeffs[b] < 0}
    if bad:
        raise ConfigError(f"extinction coefficients must be finite and >= 0, got {bad}")
    return {b: float(coeffs[b]) for b in bands}


def deredden(
    df: pd.DataFrame,
    bands: BandSet = PS1,
    *,
    ebv_column: str = "ebv",
    coeffs: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Return a copy with ``<band> = observed - k_band * E(B-V)`` and ``<band>_obs`` = observed.

    Refuses to deredden twice and refuses missing, NaN or negative E(B-V), raising
    :class:`CatalogError` with the number of offending rows. NaN or sentinel magnitudes are left
    as they are (the selection pipeline removes and counts them).
    """
    if is_dereddened(df, bands):
        present = [f"{b}_obs" for b in bands if f"{b}_obs" in df.columns]
        why = f"it has columns {', '.join(present)}" if present else "its metadata records a dereddening"
        raise CatalogError(
            f"refusing to deredden twice: the catalog is already dereddened ({why}); "
            "pass deredden=False / --no-deredden"
        )
    if ebv_column not in df.columns:
        raise CatalogError(
            f"no E(B-V) column {ebv_column!r} to deredden with; columns present: "
            f"{', '.join(map(str, df.columns[:40]))}. Use ebv='sfd' (needs dustmaps) or skip dereddening"
        )
    k = _resolve_coeffs(bands, coeffs)
    ebv = pd.to_numeric(df[ebv_column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    n_nan = int(np.isnan(ebv).sum())
    if n_nan:
        first = df.index[np.isnan(ebv)][:5].tolist()
        raise CatalogError(
            f"E(B-V) column {ebv_column!r} is NaN or not a number in {n_nan:,} of {len(df):,} rows "
            f"(first row labels: {first}); fill them (e.g. --ebv sfd) or drop those rows first"
        )
    n_neg = int((ebv < 0).sum())
    if n_neg:
        raise CatalogError(
            f"E(B-V) column {ebv_column!r} is negative in {n_neg:,} rows (min {ebv.min():.4g}); "
            "reddening must be >= 0"
        )
    out = df.copy()
    out.attrs = copy.deepcopy(df.attrs)
    for band in bands:
        observed = out[band].to_numpy(dtype=float)
        good = np.isfinite(observed) & ~np.isin(observed, SENTINELS)
        out[f"{band}_obs"] = observed
        out[band] = np.where(good, observed - k[band] * ebv, observed)
    meta = out.attrs.setdefault("sedscape", {})
    meta["dereddened"] = {"coeffs": k, "source": "ebv column", "ebv_column": ebv_column}
    if len(out):
        log.info(
            "dereddened %d rows with %s (median E(B-V) %.4f)", len(out), ebv_column, float(np.median(ebv))
        )
    return out


_DUST_HINT = (
    "install the optional dependency with `pip install sedscape[dust]` (or `pip install dustmaps`), "
    "choose where the maps live with `from dustmaps.config import config; config['data_dir'] = '/path'`, "
    "then download the SFD map once with `python -c 'import dustmaps.sfd; dustmaps.sfd.fetch()'` "
    "(about 130 MB; sedscape never downloads it for you)"
)


def sfd_ebv(l_deg, b_deg) -> np.ndarray:
    """SFD (1998) E(B-V) at Galactic ``(l, b)`` in degrees, through the optional ``dustmaps`` package.

    Raises :class:`ConfigError` describing how to install dustmaps and fetch the map when either
    is missing; nothing is downloaded here.
    """
    try:
        from dustmaps.sfd import SFDQuery
    except ImportError as exc:
        raise ConfigError(f"SFD E(B-V) lookup needs the dustmaps package ({exc}); {_DUST_HINT}") from exc
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    l_arr = np.atleast_1d(np.asarray(l_deg, dtype=float))
    b_arr = np.atleast_1d(np.asarray(b_deg, dtype=float))
    if l_arr.shape != b_arr.shape:
        raise ConfigError(f"l and b must have the same shape, got {l_arr.shape} and {b_arr.shape}")
    bad = ~(np.isfinite(l_arr) & np.isfinite(b_arr))
    if bad.any():
        raise CatalogError(f"l/b are NaN in {int(bad.sum())} rows; cannot look up SFD E(B-V) there")
    try:
        query = SFDQuery()
    except Exception as exc:  # dustmaps raises IOError/ValueError/its own errors for a missing map
        raise ConfigError(
            f"the SFD dust map files are not available ({exc.__class__.__name__}: {exc}); {_DUST_HINT}"
        ) from exc
    coords = SkyCoord(l=l_arr * u.deg, b=b_arr * u.deg, frame="galactic")
    return np.asarray(query(coords), dtype=float)


def sfd_available() -> bool:
    """Whether :func:`sfd_ebv` can work here (dustmaps importable and its SFD map files present)."""
    import contextlib
    import io
    import warnings

    # dustmaps prints and warns about its configuration on import; that is noise here.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(
        io.StringIO()
    ):
        warnings.simplefilter("ignore")
        try:
            from dustmaps.sfd import SFDQuery

            SFDQuery()
        except Exception:
            return False
    return True
