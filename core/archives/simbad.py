"""SIMBAD labels for a catalog: nearest ``basic`` entry within 1", with the paper's categories.

The catalog's positions are uploaded to the CDS TAP service and joined with ``basic`` inside the
radius; each star keeps its nearest SIMBAD object. The paper matched only stars with astrometric
errors below 100 mas and then discarded the non-stellar matches; both are options here
(``max_pos_err_mas`` uses ``ra_err_arcsec``/``dec_err_arcsec`` when the catalog has them).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.archives.config import ArchiveConfig, archive_config
from core.archives.otypes import NON_STELLAR, simbad_category
from core.archives.tap import TapClient
from core.errors import CatalogError, ConfigError

log = logging.getLogger(__name__)

SIMBAD_RADIUS_ARCSEC = 1.0
ADDED_COLUMNS = ("simbad_id", "simbad_otype", "simbad_category", "simbad_sep_arcsec")


def simbad_adql(radius_arcsec: float = SIMBAD_RADIUS_ARCSEC) -> str:
    """Every SIMBAD object within the radius of each uploaded position, with its separation."""
    r = radius_arcsec / 3600.0
    return (
        "SELECT u.obj_id, b.main_id, b.otype, "
        "DISTANCE(POINT('ICRS', u.ra, u.dec), POINT('ICRS', b.ra, b.dec)) * 3600.0 AS sep_arcsec "
        "FROM TAP_UPLOAD.cat AS u JOIN basic AS b "
        f"ON 1 = CONTAINS(POINT('ICRS', b.ra, b.dec), CIRCLE('ICRS', u.ra, u.dec, {r:.10f}))"
    )


@dataclass
class SimbadMatchSummary:
    n_input: int
    n_uploaded: int
    n_matched: int
    n_nonstellar: int
    nonstellar_by_otype: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    n_dropped_nonstellar: int = 0

    def format(self) -> str:
        lines = [f"{self.n_input:,} stars, {self.n_uploaded:,} sent to SIMBAD, {self.n_matched:,} matched"]
        lines += [f"  {cat}: {n:,}" for cat, n in sorted(self.by_category.items(), key=lambda kv: -kv[1])]
        if self.n_nonstellar:
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.nonstellar_by_otype.items(), key=lambda kv: -kv[1]))
            action = (f"dropped {self.n_dropped_nonstellar:,}" if self.n_dropped_nonstellar
                      else "kept (use --drop-nonstellar to remove them, as the paper did)")
            lines.append(f"non-stellar matches: {self.n_nonstellar:,} ({kinds}); {action}")
        return "\n".join(lines)


def crossmatch_simbad(
    catalog: pd.DataFrame,
    *,
    radius_arcsec: float = SIMBAD_RADIUS_ARCSEC,
    max_pos_err_mas: float | None = None,
    drop_nonstellar: bool = False,
    batch_size: int = 50_000,
    mode: str = "sync",
    config: ArchiveConfig | None = None,
    cache: bool = True,
) -> tuple[pd.DataFrame, SimbadMatchSummary]:
    """Add :data:`ADDED_COLUMNS` (nearest SIMBAD object within the radius) to ``catalog``.

    Stars without a match get empty strings / NaN. With ``drop_nonstellar`` the matched non-stellar
    objects are removed (and counted in the summary).
    """
    if not 0 < radius_arcsec <= 60:
        raise ConfigError(f"SIMBAD match radius must be in (0, 60] arcsec, got {radius_arcsec}")
    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    for col in ("obj_id", "ra", "dec"):
        if col not in catalog.columns:
            raise CatalogError(f"SIMBAD cross-match needs column {col!r}; the catalog has {list(catalog.columns)[:20]}")
    if catalog["obj_id"].duplicated().any():
        raise CatalogError("SIMBAD cross-match needs unique obj_id values; the catalog repeats some")
    config = config or archive_config("simbad")
    eligible = np.ones(len(catalog), bool)
    if max_pos_err_mas is not None:
        cols = ("ra_err_arcsec", "dec_err_arcsec")
        if not all(c in catalog.columns for c in cols):
            raise CatalogError(f"--max-pos-err needs columns {cols} (PS1 raMeanErr/decMeanErr); the catalog lacks them")
        err = np.hypot(catalog[cols[0]].astype(float), catalog[cols[1]].astype(float)).to_numpy() * 1000
        eligible = np.isfinite(err) & (err < max_pos_err_mas)
    upload = catalog.loc[eligible, ["obj_id", "ra", "dec"]]
    batches = [upload.iloc[i:i + batch_size].reset_index(drop=True) for i in range(0, len(upload), batch_size)]
    adql = simbad_adql(radius_arcsec)

    def run(batch: pd.DataFrame) -> pd.DataFrame:
        with TapClient(config, cache=cache) as client:
            return client.query(adql, uploads={"cat": batch}, mode=mode)

    with ThreadPoolExecutor(max_workers=config.max_workers) as pool:
        answers = list(pool.map(run, batches))
    pairs = pd.concat(answers, ignore_index=True) if answers else pd.DataFrame()
    if len(pairs):
        pairs["obj_id"] = pairs["obj_id"].astype("int64")
        pairs = pairs[pairs["sep_arcsec"].astype(float) <= radius_arcsec]
        nearest = pairs.sort_values(["obj_id", "sep_arcsec"]).drop_duplicates("obj_id")
    else:
        nearest = pd.DataFrame({"obj_id": pd.Series(dtype="int64"), "main_id": pd.Series(dtype=str),
                                "otype": pd.Series(dtype=str), "sep_arcsec": pd.Series(dtype=float)})
    nearest = nearest.rename(columns={"main_id": "simbad_id", "otype": "simbad_otype",
                                      "sep_arcsec": "simbad_sep_arcsec"})
    nearest["simbad_id"] = nearest["simbad_id"].astype(str).str.strip()
    nearest["simbad_otype"] = nearest["simbad_otype"].astype(str).str.strip()
    nearest["simbad_category"] = nearest["simbad_otype"].map(simbad_category)
    out = catalog.drop(columns=[c for c in ADDED_COLUMNS if c in catalog.columns])
    out = out.merge(nearest[["obj_id", *ADDED_COLUMNS]], on="obj_id", how="left")
    for col in ("simbad_id", "simbad_otype", "simbad_category"):
        out[col] = out[col].fillna("").astype(str)
    matched = out["simbad_id"] != ""
    nonstellar = out["simbad_category"] == NON_STELLAR
    summary = SimbadMatchSummary(
        n_input=len(catalog), n_uploaded=len(upload), n_matched=int(matched.sum()),
        n_nonstellar=int(nonstellar.sum()),
        nonstellar_by_otype=out.loc[nonstellar, "simbad_otype"].value_counts().to_dict(),
        by_category=out.loc[matched, "simbad_category"].value_counts().to_dict(),
    )
    if drop_nonstellar and nonstellar.any():
        out = out[~nonstellar].reset_index(drop=True)
        summary.n_dropped_nonstellar = int(nonstellar.sum())
    out.attrs = dict(catalog.attrs)
    meta = dict(out.attrs.get("sedscape", {}))
    meta["simbad"] = {"service": config.display_name, "url": config.url, "radius_arcsec": radius_arcsec,
                      "max_pos_err_mas": max_pos_err_mas, **summary.__dict__}
    out.attrs["sedscape"] = meta
    log.info("SIMBAD: %s", summary.format().replace("\n", "; "))
    return out, summary
