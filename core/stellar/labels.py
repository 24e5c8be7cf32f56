"""Spectroscopic labels from a user's table (LAMOST, APOGEE, GALAH exports...) attached to a photometric catalog.

:func:`read_label_table` reads CSV/TSV, FITS, VOTable, ECSV or Parquet; :func:`attach_labels` finds the label
columns under their usual names (``teff``/``TEFF``, ``logg``/``LOGG``/``log_g``, ``feh``/``FE_H``/``[Fe/H]``/``m_h``
and their errors, ``*_err``/``*_error``/``e_*``) and joins them by an id column or by position (astropy,
nearest label within a radius). Every count is reported: labels read, matched, catalog stars labelled.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import CatalogError, ConfigError
from core.stellar.model import FEATURES

log = logging.getLogger(__name__)

ALIASES: dict[str, tuple[str, ...]] = {
    "teff": ("teff", "t_eff", "teff_spec"),
    "logg": ("logg", "log_g", "logg_spec"),
    "feh": ("feh", "fe_h", "[fe/h]", "m_h", "mh", "[m/h]", "feh_spec"),
    "ra": ("ra", "raj2000", "ra_icrs", "ra_deg"),
    "dec": ("dec", "dej2000", "de_icrs", "dec_deg"),
}
ERROR_PATTERNS = ("{}_err", "{}_error", "e_{}", "err_{}", "{}_e", "sigma_{}")


def _norm(name: str) -> str:
    return re.sub(r"\s+", "", str(name).strip().lower())


def read_label_table(path: str | Path) -> pd.DataFrame:
    """A label file as a DataFrame; the format follows the extension."""
    path = Path(path)
    if not path.exists():
        raise CatalogError(f"{path}: no such label file")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".gz" else path.suffix.lower()
    try:
        if suffix in (".csv", ".csv.gz"):
            return pd.read_csv(path)
        if suffix in (".tsv", ".tsv.gz", ".txt"):
            return pd.read_csv(path, sep=None, engine="python")
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in (".fits", ".fit", ".fits.gz", ".ecsv", ".vot", ".xml", ".votable"):
            from astropy.table import Table

            table = Table.read(path)
            names = [n for n in table.colnames if len(table[n].shape) <= 1]
            return table[names].to_pandas()
    except (OSError, ValueError) as exc:
        raise CatalogError(f"{path}: cannot read the label table ({exc})") from exc
    raise CatalogError(f"{path}: unknown label file type {suffix!r}; use CSV, TSV, FITS, VOTable, ECSV or Parquet")


def find_column(df: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    """The first column of ``df`` whose lower-cased name is one of ``names``."""
    by_norm = {_norm(c): c for c in df.columns}
    for n in names:
        if n in by_norm:
            return by_norm[n]
    return None


def label_columns(labels: pd.DataFrame) -> dict[str, str]:
    """Map ``teff, logg, feh, teff_err, logg_err, feh_err`` to the label table's own column names."""
    found: dict[str, str] = {}
    missing = []
    for feat in FEATURES:
        col = find_column(labels, ALIASES[feat])
        if col is None:
            missing.append(f"{feat} (one of {', '.join(ALIASES[feat])})")
            continue
        found[feat] = col
        err_names = tuple(p.format(_norm(a)) for a in (_norm(col), *ALIASES[feat]) for p in ERROR_PATTERNS)
        err = find_column(labels, err_names)
        if err is None:
            missing.append(f"{feat} error (e.g. {feat}_err, e_{feat})")
        else:
            found[f"{feat}_err"] = err
    if missing:
        raise CatalogError(
            "label table lacks " + "; ".join(missing) + f"; its columns are {list(map(str, labels.columns[:40]))}"
        )
    return found


@dataclass
class MatchSummary:
    """Counts of a label cross-match."""

    n_labels: int
    n_usable: int
    n_matched: int
    n_catalog: int
    method: str
    radius_arcsec: float | None = None
    n_duplicates: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self) -> str:
        how = f"by {self.method}" + (f" within {self.radius_arcsec:g} arcsec" if self.radius_arcsec else "")
        text = (
            f"labels: {self.n_labels:,} rows read, {self.n_usable:,} with finite teff/logg/feh and errors, "
            f"{self.n_matched:,} matched {how} to the {self.n_catalog:,}-star catalog"
        )
        if self.n_duplicates:
            text += f" ({self.n_duplicates:,} further labels matched an already-labelled star and were dropped)"
        return text


def attach_labels(
    catalog: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    on: str | None = None,
    radius_arcsec: float = 1.0,
) -> tuple[pd.DataFrame, MatchSummary]:
    """``catalog`` with ``teff, logg, feh`` and their ``_err`` columns from ``labels`` (NaN where unmatched).

    With ``on`` the tables are joined on that id column (present in both); otherwise each label is matched
    to its nearest catalog star within ``radius_arcsec`` (both need ra/dec in degrees) and, where several
    labels land on one star, the nearest wins. Existing label columns in the catalog are replaced.
    """
    if not radius_arcsec > 0:
        raise ConfigError(f"radius_arcsec must be > 0, got {radius_arcsec}")
    cols = label_columns(labels)
    values = np.column_stack([pd.to_numeric(labels[cols[k]], errors="coerce").to_numpy(np.float64)
                              for k in (*FEATURES, *(f"{f}_err" for f in FEATURES))])
    usable = np.isfinite(values).all(axis=1) & (values[:, 3:] > 0).all(axis=1)
    n_cat = len(catalog)
    target = np.full(len(labels), -1, np.int64)
    sep = np.full(len(labels), np.inf)
    if on is not None:
        for what, df in (("catalog", catalog), ("label table", labels)):
            if on not in df.columns:
                raise CatalogError(f"the {what} has no id column {on!r} to join on")
        index = pd.Series(np.arange(n_cat), index=catalog[on].to_numpy())
        if not index.index.is_unique:
            raise CatalogError(f"catalog column {on!r} is not unique; cannot join labels on it")
        hit = labels[on].map(index)
        target = np.where(hit.notna(), hit.fillna(-1).to_numpy(np.int64), -1)
        sep = np.where(target >= 0, 0.0, np.inf)
        method, radius = f"id column {on!r}", None
    else:
        ra_l, dec_l = find_column(labels, ALIASES["ra"]), find_column(labels, ALIASES["dec"])
        if ra_l is None or dec_l is None:
            raise CatalogError(
                "label table has no ra/dec columns for a positional match (or pass an id column to join on); "
                f"its columns are {list(map(str, labels.columns[:40]))}"
            )
        if not {"ra", "dec"} <= set(catalog.columns):
            raise CatalogError("catalog has no ra/dec columns for a positional match")
        import astropy.units as u
        from astropy.coordinates import SkyCoord

        lab_coord = SkyCoord(
            pd.to_numeric(labels[ra_l], errors="coerce").to_numpy(np.float64) * u.deg,
            pd.to_numeric(labels[dec_l], errors="coerce").to_numpy(np.float64) * u.deg,
        )
        cat_coord = SkyCoord(catalog["ra"].to_numpy(np.float64) * u.deg, catalog["dec"].to_numpy(np.float64) * u.deg)
        idx, d2d, _ = lab_coord.match_to_catalog_sky(cat_coord)
        sep = d2d.to_value(u.arcsec)
        target = np.where(np.isfinite(sep) & (sep <= radius_arcsec), idx, -1)
        method, radius = "position", radius_arcsec
    ok = usable & (target >= 0)
    # One label per catalog star: the nearest (ties: the first in the label table).
    order = np.lexsort((np.arange(len(target)), sep))
    order = order[ok[order]]
    _, first = np.unique(target[order], return_index=True)
    chosen = order[first]
    n_dup = int(ok.sum() - len(chosen))
    out = catalog.copy()
    out.attrs = dict(catalog.attrs)
    for k, name in enumerate((*FEATURES, *(f"{f}_err" for f in FEATURES))):
        col = np.full(n_cat, np.nan, np.float32)
        col[target[chosen]] = values[chosen, k]
        if name in out.columns:
            log.info("replacing the catalog's %r column with the label table's", name)
        out[name] = col
    summary = MatchSummary(
        n_labels=len(labels), n_usable=int(usable.sum()), n_matched=len(chosen), n_catalog=n_cat,
        method=method, radius_arcsec=radius, n_duplicates=n_dup,
    )
    log.info(summary.format())
    return out, summary
