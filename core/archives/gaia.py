"""Gaia DR3 parallaxes for a catalog, matched the way the paper did (0.25", unique matches only).

Two ways to match: upload the catalog's positions and join ``gaiadr3.gaia_source`` within the radius
(``method="cone"``), or look the PS1 ``obj_id`` up in ``gaiadr3.panstarrs1_best_neighbour``
(``method="best_neighbour"``). Either way a star with more than one Gaia source inside the radius
gets no match. Distances are 1/parallax, which is reasonable only for precise parallaxes; that is
why the paper's Gaia subset keeps d < 3 kpc and sigma_d < 0.1 kpc.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.archives.config import ArchiveConfig, archive_config
from core.archives.tap import TapClient
from core.astrometry import absolute_magnitude, distance_kpc
from core.errors import CatalogError, ConfigError

log = logging.getLogger(__name__)

METHODS = ("cone", "best_neighbour")
GAIA_RADIUS_ARCSEC = 0.25
SUBSET_MAX_DIST_KPC = 3.0
SUBSET_MAX_DIST_ERR_KPC = 0.1
ADDED_COLUMNS = ("gaia_source_id", "gaia_n_within", "parallax", "parallax_error", "dist_kpc", "dist_err_kpc",
                 "abs_g", "gaia_subset")


def cone_adql(radius_arcsec: float = GAIA_RADIUS_ARCSEC) -> str:
    """Every Gaia DR3 source within the radius of each uploaded position."""
    r = radius_arcsec / 3600.0
    return (
        "SELECT u.obj_id, g.source_id, g.parallax, g.parallax_error, "
        "DISTANCE(POINT('ICRS', u.ra, u.dec), POINT('ICRS', g.ra, g.dec)) * 3600.0 AS sep_arcsec "
        "FROM TAP_UPLOAD.cat AS u JOIN gaiadr3.gaia_source AS g "
        f"ON 1 = CONTAINS(POINT('ICRS', g.ra, g.dec), CIRCLE('ICRS', u.ra, u.dec, {r:.10f}))"
    )


def best_neighbour_adql() -> str:
    """Gaia's own PS1 cross-match (Marrese et al. 2019 method) for each uploaded PS1 objID."""
    return (
        "SELECT u.obj_id, n.source_id, n.angular_distance AS sep_arcsec, n.number_of_neighbours, "
        "g.parallax, g.parallax_error "
        "FROM TAP_UPLOAD.cat AS u JOIN gaiadr3.panstarrs1_best_neighbour AS n "
        "ON n.original_ext_source_id = u.obj_id "
        "JOIN gaiadr3.gaia_source AS g ON g.source_id = n.source_id"
    )


@dataclass
class GaiaMatchSummary:
    n_input: int
    n_matched: int
    n_ambiguous: int
    n_subset: int

    def format(self) -> str:
        return (f"{self.n_input:,} stars: {self.n_matched:,} matched to one Gaia DR3 source, "
                f"{self.n_ambiguous:,} with more than one source inside the radius (left unmatched), "
                f"{self.n_subset:,} in the Gaia subset (d < {SUBSET_MAX_DIST_KPC:g} kpc, "
                f"sigma_d < {SUBSET_MAX_DIST_ERR_KPC:g} kpc)")


def resolve_matches(pairs: pd.DataFrame, radius_arcsec: float, method: str) -> pd.DataFrame:
    """One row per ``obj_id`` with a unique match; ``gaia_n_within`` counts sources inside the radius."""
    pairs = pairs[pairs["sep_arcsec"].astype(float) <= radius_arcsec]
    counts = pairs.groupby("obj_id")["source_id"].transform("size")
    if method == "best_neighbour" and "number_of_neighbours" in pairs:
        # Gaia lists how many of its sources lie near the PS1 object; more than one is ambiguous.
        counts = np.maximum(counts, pairs["number_of_neighbours"].fillna(1).astype(int))
    pairs = pairs.assign(gaia_n_within=counts.astype(int))
    return pairs.drop_duplicates("obj_id")


def add_distances(df: pd.DataFrame) -> pd.DataFrame:
    """Distance (1/parallax), its error, M_g and the paper's Gaia-subset flag (adds columns in place)."""
    plx = df["parallax"].astype(float).to_numpy()
    plx_err = df["parallax_error"].astype(float).to_numpy()
    dist, dist_err = distance_kpc(plx, plx_err)
    df["dist_kpc"] = dist
    df["dist_err_kpc"] = dist_err
    df["abs_g"] = absolute_magnitude(df["g"].astype(float).to_numpy(), plx, plx_err)
    good = np.isfinite(dist)
    df["gaia_subset"] = good & (dist < SUBSET_MAX_DIST_KPC) & (dist_err < SUBSET_MAX_DIST_ERR_KPC)
    return df


def crossmatch_gaia(
    catalog: pd.DataFrame,
    *,
    method: str = "cone",
    radius_arcsec: float = GAIA_RADIUS_ARCSEC,
    batch_size: int = 50_000,
    mode: str = "async",
    config: ArchiveConfig | None = None,
    cache: bool = True,
) -> tuple[pd.DataFrame, GaiaMatchSummary]:
    """Add Gaia DR3 columns (:data:`ADDED_COLUMNS`) to ``catalog``; unmatched stars get NaN / False.

    Positions (or objIDs) are uploaded in batches of ``batch_size`` rows, with at most
    ``config.max_workers`` jobs at a time; each batch's answer is cached on disk.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown Gaia match method {method!r}; choose one of {', '.join(METHODS)}")
    if not 0 < radius_arcsec <= 10:
        raise ConfigError(f"Gaia match radius must be in (0, 10] arcsec, got {radius_arcsec}")
    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    for col in ("obj_id", "ra", "dec", "g"):
        if col not in catalog.columns:
            raise CatalogError(f"Gaia cross-match needs column {col!r}; the catalog has {list(catalog.columns)[:20]}")
    if catalog["obj_id"].duplicated().any():
        raise CatalogError("Gaia cross-match needs unique obj_id values; the catalog repeats some")
    clash = [c for c in ADDED_COLUMNS if c in catalog.columns and c not in ("parallax", "parallax_error")]
    if clash:
        raise CatalogError(f"the catalog already has Gaia columns {clash}; it was cross-matched before")
    config = config or archive_config("gaia")
    adql = cone_adql(radius_arcsec) if method == "cone" else best_neighbour_adql()
    upload_cols = ["obj_id", "ra", "dec"] if method == "cone" else ["obj_id"]
    batches = [catalog[upload_cols].iloc[i:i + batch_size] for i in range(0, len(catalog), batch_size)]

    def run(batch: pd.DataFrame) -> pd.DataFrame:
        with TapClient(config, cache=cache) as client:
            return client.query(adql, uploads={"cat": batch.reset_index(drop=True)}, mode=mode)

    with ThreadPoolExecutor(max_workers=config.max_workers) as pool:
        answers = list(pool.map(run, batches))
    pairs = pd.concat(answers, ignore_index=True) if answers else pd.DataFrame()
    if len(pairs):
        pairs["obj_id"] = pairs["obj_id"].astype("int64")
        matches = resolve_matches(pairs, radius_arcsec, method)
    else:
        matches = pd.DataFrame(columns=["obj_id", "source_id", "parallax", "parallax_error", "gaia_n_within"])
    out = catalog.drop(columns=[c for c in ("parallax", "parallax_error") if c in catalog.columns])
    m = matches[["obj_id", "source_id", "parallax", "parallax_error", "gaia_n_within"]].rename(
        columns={"source_id": "gaia_source_id"})
    out = out.merge(m, on="obj_id", how="left")
    n_within = out["gaia_n_within"].fillna(0).astype(int)
    ambiguous = n_within > 1
    out.loc[ambiguous, ["gaia_source_id", "parallax", "parallax_error"]] = np.nan
    out["gaia_n_within"] = n_within
    out["gaia_source_id"] = out["gaia_source_id"].astype("Int64")
    out = add_distances(out)
    out.attrs = dict(catalog.attrs)
    summary = GaiaMatchSummary(len(out), int((n_within == 1).sum()), int(ambiguous.sum()),
                               int(out["gaia_subset"].sum()))
    meta = dict(out.attrs.get("sedscape", {}))
    meta["gaia"] = {"service": config.display_name, "url": config.url, "method": method,
                    "radius_arcsec": radius_arcsec, **summary.__dict__}
    out.attrs["sedscape"] = meta
    log.info(summary.format())
    return out, summary
