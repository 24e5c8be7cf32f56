"""Cross-matches against a HATS catalog of Gaia DR3 or SIMBAD with LSDB (local or remote), for large catalogs.

The TAP path (:mod:`core.archives.gaia`, :mod:`core.archives.simbad`) uploads positions in batches,
fine for thousands to a few million stars. For more, LSDB matches partition against partition
(``Catalog.crossmatch_nested`` with ``how="left"``: every star keeps one row, its neighbours in a
nested column), using the other catalog's margin cache so that stars near a partition edge find
sources across it. The paper's rules are applied per partition: Gaia, a star with more than one
source inside 0.25" gets no match; SIMBAD, the nearest object within 1". The added columns are
those of the TAP path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import CatalogError, ConfigError

log = logging.getLogger(__name__)

NEST = "_xm"


@dataclass(frozen=True)
class Survey:
    """How to read the other catalog: its columns and how they map to sedscape's added columns."""

    name: str
    columns: tuple[str, ...]
    n_neighbors: int
    radius_arcsec: float


GAIA = Survey("gaia", ("source_id", "parallax", "parallax_error"), 2, 0.25)
SIMBAD = Survey("simbad", ("main_id", "otype"), 1, 1.0)
SURVEYS = {"gaia": GAIA, "simbad": SIMBAD}


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """The nested matches as one row per (star, neighbour), indexed by the star's position in ``df``."""
    flat = df[NEST].nest.to_flat()
    pos = pd.Series(np.arange(len(df)), index=df.index)
    flat = flat.dropna(subset=["_dist_arcsec"])
    flat.index = pos.loc[flat.index].to_numpy() if len(flat) else flat.index
    return flat


def resolve_gaia(df: pd.DataFrame, radius_arcsec: float) -> pd.DataFrame:
    """Gaia columns for one partition: unique matches only (``gaia_n_within`` counts sources in the radius)."""
    from core.archives.gaia import add_distances

    flat = _flat(df)
    flat = flat[flat["_dist_arcsec"] <= radius_arcsec]
    n = np.zeros(len(df), dtype=np.int64)
    np.add.at(n, flat.index.to_numpy(dtype=np.int64), 1)
    first = flat[~flat.index.duplicated()]
    out = df.drop(columns=[NEST, *[c for c in ("parallax", "parallax_error") if c in df.columns]])
    sid = np.full(len(df), np.nan)
    plx = np.full(len(df), np.nan)
    plx_err = np.full(len(df), np.nan)
    k = first.index.to_numpy(dtype=np.int64)
    sid[k] = first["source_id"].astype(float)
    plx[k] = first["parallax"].astype(float)
    plx_err[k] = first["parallax_error"].astype(float)
    ambiguous = n > 1
    sid[ambiguous] = plx[ambiguous] = plx_err[ambiguous] = np.nan
    ids = pd.array(np.where(np.isfinite(sid), sid, 0).astype(np.int64), dtype="Int64")
    ids[~np.isfinite(sid)] = pd.NA
    out["gaia_source_id"] = ids
    out["gaia_n_within"] = n
    out["parallax"] = plx
    out["parallax_error"] = plx_err
    return add_distances(out)


def resolve_simbad(df: pd.DataFrame, radius_arcsec: float) -> pd.DataFrame:
    """SIMBAD columns for one partition: the nearest object within the radius, its type and category."""
    from core.archives.otypes import simbad_category

    flat = _flat(df)
    flat = flat[flat["_dist_arcsec"] <= radius_arcsec].sort_values("_dist_arcsec")
    first = flat[~flat.index.duplicated()]
    out = df.drop(
        columns=[NEST, *[c for c in ("simbad_id", "simbad_otype", "simbad_category") if c in df.columns]]
    )
    k = first.index.to_numpy(dtype=np.int64)
    sid = np.full(len(df), None, dtype=object)
    otype = np.full(len(df), None, dtype=object)
    sep = np.full(len(df), np.nan)
    sid[k] = first["main_id"].astype(str).to_numpy()
    otype[k] = first["otype"].astype(str).to_numpy()
    sep[k] = first["_dist_arcsec"].to_numpy(dtype=float)
    out["simbad_id"] = pd.array(sid, dtype="str")
    out["simbad_otype"] = pd.array(otype, dtype="str")
    out["simbad_category"] = pd.array([simbad_category(o) if o else None for o in otype], dtype="str")
    out["simbad_sep_arcsec"] = sep
    return out


def _resolve(df: pd.DataFrame, survey: str, radius_arcsec: float) -> pd.DataFrame:
    if survey == "gaia":
        return resolve_gaia(df, radius_arcsec)
    return resolve_simbad(df, radius_arcsec)


def _left_catalog(catalog: str | Path | pd.DataFrame):
    import lsdb

    from core.partitioned import is_hats, open_lsdb

    if isinstance(catalog, pd.DataFrame):
        return lsdb.from_dataframe(
            catalog, ra_column="ra", dec_column="dec", margin_threshold=None, use_pyarrow_types=False
        )
    if is_hats(catalog):
        return open_lsdb(catalog)
    from core.catalog import read_parquet

    return _left_catalog(read_parquet(catalog))


def crossmatch_hats(
    catalog: str | Path | pd.DataFrame,
    other: str,
    *,
    survey: str = "gaia",
    radius_arcsec: float | None = None,
    margin_cache: str | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """Match ``catalog`` (HATS path, Parquet path or frame) with the HATS catalog ``other`` (path or URL).

    With ``out`` the result is written as a HATS catalog partition by partition and ``None`` is
    returned; otherwise the matched catalog comes back in memory. The summary counts matches.
    """
    from core.partitioned import open_lsdb, read_sidecar, write_sidecar

    if survey not in SURVEYS:
        raise ConfigError(f"unknown survey {survey!r}; choose one of {', '.join(SURVEYS)}")
    s = SURVEYS[survey]
    radius = s.radius_arcsec if radius_arcsec is None else float(radius_arcsec)
    if not 0 < radius <= 10:
        raise ConfigError(f"match radius must be in (0, 10] arcsec, got {radius}")
    left = _left_catalog(catalog)
    kwargs = {"margin_cache": margin_cache} if margin_cache else {}
    right = open_lsdb(other, columns=["ra", "dec", *s.columns], **kwargs)
    missing = [c for c in s.columns if c not in right.columns]
    if missing:
        raise CatalogError(f"{other}: the {survey} catalog lacks column(s) {missing}")
    if right.margin is None:
        log.warning(
            '%s has no margin cache: stars within %g" of a partition edge may miss a match', other, radius
        )
    nested = left.crossmatch_nested(
        right, n_neighbors=s.n_neighbors, radius_arcsec=radius, how="left", nested_column_name=NEST
    )
    meta = _resolve(nested.meta, survey, radius)
    resolved = nested.map_partitions(_resolve, survey, radius, meta=meta)
    info = {
        "catalog": str(other),
        "method": "lsdb.crossmatch_nested (how=left) with the margin cache",
        "radius_arcsec": radius,
        "margin": right.margin is not None,
    }
    if out is not None:
        from core.partitioned import check_output

        check_output(out, overwrite)
        resolved.write_catalog(
            str(out), catalog_name=f"sedscape_x_{survey}", overwrite=overwrite, progress_bar=progress
        )
        cols = ["gaia_n_within", "gaia_subset"] if survey == "gaia" else ["simbad_otype"]
        from core.partitioned import iter_partitions

        frames = [df for _, df in iter_partitions(out, cols)]
        summary = _summary(pd.concat(frames, ignore_index=True), survey)
        meta_out = (
            read_sidecar(catalog)
            if not isinstance(catalog, pd.DataFrame) and Path(catalog).is_dir()
            else (dict(catalog.attrs.get("sedscape", {})) if isinstance(catalog, pd.DataFrame) else {})
        )
        meta_out[survey] = {**info, **summary}
        write_sidecar(out, meta_out)
        return None, summary
    df = resolved.compute(progress_bar=progress)
    df = pd.DataFrame(df).reset_index(drop=True)
    summary = _summary(df, survey)
    return df, {**info, **summary}


def _summary(df: pd.DataFrame, survey: str) -> dict[str, int]:
    if survey == "gaia":
        n = df["gaia_n_within"].to_numpy()
        return {
            "n_input": len(df),
            "n_matched": int((n == 1).sum()),
            "n_ambiguous": int((n > 1).sum()),
            "n_subset": int(df["gaia_subset"].sum()),
        }
    return {"n_input": len(df), "n_matched": int(df["simbad_otype"].notna().sum())}
