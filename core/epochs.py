"""The epoch (detection) table contract, its validation, cleaning and Parquet I/O.

A detection table holds one row per single-epoch measurement: ``obj_id, band, mjd, mag,
mag_err`` (AB magnitudes, MJD days), plus optional ``flags`` (PS1 ``infoFlag`` bits),
``psf_qf`` (PS1 ``psfQfPerfect``) and ``detect_id``. It sits beside a catalog: ``obj_id`` refers to
the catalog's rows. On disk it is Parquet sorted by ``obj_id`` (so one star's epochs can be read
without the rest) with sedscape metadata (``kind: epochs``, band set, provenance).

:class:`PackedEpochs` is the same data as flat arrays sorted by star, band and time with offsets:
the layout the vectorised feature code in :mod:`core.features` works on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.bands import PS1, BandSet
from core.catalog import SENTINELS, bandset_to_meta, read_parquet, write_parquet
from core.errors import CatalogError

log = logging.getLogger(__name__)

__all__ = [
    "BAD_DETECTION_FLAGS",
    "DETECTIONS_ENV",
    "EPOCH_COLUMNS",
    "EpochReport",
    "PackedEpochs",
    "clean_epochs",
    "pack_epochs",
    "read_epochs",
    "epoch_ids",
    "find_detections",
    "read_star_epochs",
    "star_epochs",
    "validate_epochs",
    "write_epochs",
]

EPOCH_COLUMNS: tuple[str, ...] = ("obj_id", "band", "mjd", "mag", "mag_err")
OPTIONAL_EPOCH_COLUMNS: tuple[str, ...] = ("flags", "psf_qf", "detect_id")
EPOCHS_KIND = "epochs"
# MJD range that any survey's epochs fall in (1968 .. 2104); JD (2.4e6) or years fail loudly.
MJD_RANGE = (40_000.0, 90_000.0)
# PS1 DetectionFlags (infoFlag) bits that spoil a single-epoch PSF magnitude: FAIL 0x8, POOR 0x10,
# SATSTAR 0x80, BADPSF 0x400, DEFECT 0x800, SATURATED 0x1000, CR_LIMIT 0x2000, SKY_FAILURE 0x10000,
# SKYVAR_FAILURE 0x20000 (the "PS1 Detection Flags" page of the PS1 archive documentation).
BAD_DETECTION_FLAGS = 0x8 | 0x10 | 0x80 | 0x400 | 0x800 | 0x1000 | 0x2000 | 0x10000 | 0x20000
MIN_PSF_QF = 0.85
# Rows per Parquet row group: a reader of a few stars (the dashboard's light curves) decompresses only
# the row groups whose obj_id range holds them, ~1 MB each.
EPOCH_ROW_GROUP = 65_536
DETECTIONS_ENV = "SEDSCAPE_DETECTIONS"
DETECTIONS_SUFFIX = ".detections.parquet"


class EpochError(CatalogError):
    """A detection table is missing columns, has bad values, or does not match its catalog."""


@dataclass
class EpochReport:
    """What validation found: counts per band, per problem, and against the catalog."""

    n_rows: int
    n_objects: int = 0
    per_band: dict[str, int] = field(default_factory=dict)
    nan_counts: dict[str, int] = field(default_factory=dict)
    sentinel_counts: dict[str, int] = field(default_factory=dict)
    n_nonpositive_err: int = 0
    n_duplicates: int = 0
    n_not_in_catalog: int = 0
    n_catalog_without_epochs: int = 0

    def summary(self) -> str:
        parts = [f"{self.n_rows:,} detections of {self.n_objects:,} objects"]
        parts.append("per band: " + ", ".join(f"{b} {n:,}" for b, n in self.per_band.items()))
        bad = {k: v for k, v in self.nan_counts.items() if v}
        if bad:
            parts.append("NaN: " + ", ".join(f"{k}={v:,}" for k, v in bad.items()))
        sent = {k: v for k, v in self.sentinel_counts.items() if v}
        if sent:
            parts.append("sentinels: " + ", ".join(f"{k}={v:,}" for k, v in sent.items()))
        if self.n_nonpositive_err:
            parts.append(f"mag_err <= 0: {self.n_nonpositive_err:,}")
        if self.n_duplicates:
            parts.append(f"duplicated (obj_id, band, mjd): {self.n_duplicates:,}")
        if self.n_not_in_catalog:
            parts.append(f"objects not in the catalog: {self.n_not_in_catalog:,}")
        if self.n_catalog_without_epochs:
            parts.append(f"catalog stars without epochs: {self.n_catalog_without_epochs:,}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def _first_rows(mask: np.ndarray, k: int = 3) -> str:
    rows = np.flatnonzero(mask)[:k]
    return ", ".join(str(int(r)) for r in rows)


def validate_epochs(
    df: pd.DataFrame,
    bands: BandSet = PS1,
    *,
    source: str = "detections",
    catalog_ids: np.ndarray | None = None,
) -> EpochReport:
    """Check ``df`` against the epoch contract; raise :class:`EpochError` naming file, column and rows.

    Missing columns, an empty table, non-numeric values, bands outside ``bands``, times that are not
    MJD and fluxes where magnitudes belong raise. NaN/sentinel magnitudes, non-positive errors and
    duplicates are counted (:func:`clean_epochs` removes them, counted). With ``catalog_ids`` the
    objects absent from the catalog and the catalog stars without epochs are counted too.
    """
    missing = [c for c in EPOCH_COLUMNS if c not in df.columns]
    if missing:
        hint = ""
        if {"objID", "obsTime"} & set(map(str, df.columns)):
            hint = " (this looks like a raw PS1 Detection export: read it with core.readers.read_ps1_detections)"
        raise EpochError(
            f"{source}: missing required column(s) {', '.join(missing)}; columns present: "
            f"{', '.join(map(str, df.columns[:30]))}{hint}"
        )
    report = EpochReport(n_rows=len(df))
    if len(df) == 0:
        raise EpochError(f"{source}: the detection table has no rows")
    for col in ("mjd", "mag", "mag_err"):
        if not pd.api.types.is_numeric_dtype(df[col]):
            raise EpochError(
                f"{source}: column {col!r} must be numeric but has dtype {df[col].dtype} "
                f"(first values: {df[col].head(3).tolist()})"
            )
    if not pd.api.types.is_integer_dtype(df["obj_id"]):
        raise EpochError(f"{source}: column 'obj_id' must hold integers, got dtype {df['obj_id'].dtype}")
    band = df["band"].astype(str).to_numpy()
    unknown = ~np.isin(band, np.array(bands.names))
    if unknown.any():
        values = sorted(set(band[unknown].tolist()))[:5]
        raise EpochError(
            f"{source}: column 'band' has {int(unknown.sum()):,} rows with values {values} outside band set "
            f"{bands.name!r} {list(bands.names)} (first rows: {_first_rows(unknown)})"
        )
    report.per_band = {b: int((band == b).sum()) for b in bands.names}
    mjd = df["mjd"].to_numpy(dtype=float)
    bad_t = ~np.isfinite(mjd) | (mjd < MJD_RANGE[0]) | (mjd > MJD_RANGE[1])
    if bad_t.any():
        example = mjd[bad_t][0]
        hint = " (these look like JD: subtract 2400000.5)" if np.nanmedian(mjd) > 2.4e6 else ""
        raise EpochError(
            f"{source}: column 'mjd' has {int(bad_t.sum()):,} values outside MJD {MJD_RANGE[0]:.0f}-"
            f"{MJD_RANGE[1]:.0f} or not finite, e.g. {example!r} at row(s) {_first_rows(bad_t)}{hint}"
        )
    for col in ("mag", "mag_err"):
        v = df[col].to_numpy(dtype=float)
        report.nan_counts[col] = int(np.isnan(v).sum())
        report.sentinel_counts[col] = int(np.isin(v, SENTINELS).sum())
    mag = df["mag"].to_numpy(dtype=float)
    good = np.isfinite(mag) & ~np.isin(mag, SENTINELS)
    if good.any() and not 5.0 < np.median(mag[good]) < 35.0:
        raise EpochError(
            f"{source}: column 'mag' has median {np.median(mag[good]):.3g}; expected AB magnitudes (~10-25), "
            "not fluxes (PS1 psfFlux is in Jy: mag = -2.5 log10(flux / 3631))"
        )
    err = df["mag_err"].to_numpy(dtype=float)
    report.n_nonpositive_err = int((np.isfinite(err) & (err <= 0)).sum())
    obj = df["obj_id"].to_numpy()
    report.n_objects = int(len(np.unique(obj)))
    report.n_duplicates = int(df.duplicated(["obj_id", "band", "mjd"]).sum())
    if catalog_ids is not None:
        cat = np.unique(np.asarray(catalog_ids))
        uniq = np.unique(obj)
        report.n_not_in_catalog = int((~np.isin(uniq, cat)).sum())
        report.n_catalog_without_epochs = int((~np.isin(cat, uniq)).sum())
    return report


@dataclass
class CleanFunnel:
    """Rows removed by :func:`clean_epochs`, by reason (a row counts under the first reason that hits)."""

    n_input: int
    removed: dict[str, int] = field(default_factory=dict)

    @property
    def n_output(self) -> int:
        return self.n_input - sum(self.removed.values())

    def format(self) -> str:
        lines = [f"{self.n_input:,} detections in"]
        lines += [f"  - {n:,} {why}" for why, n in self.removed.items()]
        lines.append(f"{self.n_output:,} detections kept")
        return "\n".join(lines)


def clean_epochs(
    df: pd.DataFrame,
    *,
    bad_flags: int = BAD_DETECTION_FLAGS,
    min_psf_qf: float = MIN_PSF_QF,
    catalog_ids: np.ndarray | None = None,
) -> tuple[pd.DataFrame, CleanFunnel]:
    """Drop unusable detections, each reason counted: missing or sentinel magnitudes, errors <= 0,
    flagged bits, low PSF quality, duplicates, and (with ``catalog_ids``) objects not in the catalog."""
    funnel = CleanFunnel(len(df))
    keep = np.ones(len(df), bool)

    def drop(why: str, bad: np.ndarray) -> None:
        nonlocal keep
        hit = keep & bad
        funnel.removed[why] = int(hit.sum())
        keep &= ~bad

    mag = df["mag"].to_numpy(dtype=float)
    err = df["mag_err"].to_numpy(dtype=float)
    drop("missing or sentinel magnitude/error", ~np.isfinite(mag) | ~np.isfinite(err)
         | np.isin(mag, SENTINELS) | np.isin(err, SENTINELS))
    drop("mag_err <= 0", ~(err > 0))
    if "flags" in df.columns and bad_flags:
        flags = df["flags"].fillna(0).to_numpy(dtype=np.int64)
        drop(f"flagged (infoFlag & {bad_flags:#x})", (flags & bad_flags) != 0)
    if "psf_qf" in df.columns and min_psf_qf > 0:
        qf = df["psf_qf"].to_numpy(dtype=float)
        drop(f"psf_qf < {min_psf_qf:g}", np.isfinite(qf) & (qf < min_psf_qf))
    drop("duplicated (obj_id, band, mjd)", df.duplicated(["obj_id", "band", "mjd"]).to_numpy())
    if catalog_ids is not None:
        drop("object not in the catalog", ~np.isin(df["obj_id"].to_numpy(), np.asarray(catalog_ids)))
    out = df[keep].reset_index(drop=True)
    out.attrs = dict(df.attrs)
    return out, funnel


def write_epochs(
    df: pd.DataFrame,
    path: str | Path,
    bands: BandSet = PS1,
    *,
    metadata: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Validate, sort by ``obj_id, band, mjd`` and write atomically (refuses to overwrite by default)."""
    validate_epochs(df, bands, source=str(path))
    order = np.lexsort((df["mjd"].to_numpy(), df["band"].astype(str).to_numpy(), df["obj_id"].to_numpy()))
    out = df.iloc[order].reset_index(drop=True)
    out["band"] = pd.Categorical(out["band"].astype(str), categories=list(bands.names))
    meta = {**df.attrs.get("sedscape", {}), **bandset_to_meta(bands), "kind": EPOCHS_KIND}
    meta.update(metadata or {})
    out.attrs["sedscape"] = meta
    return write_parquet(out, path, overwrite=overwrite, row_group_size=EPOCH_ROW_GROUP)


def read_epochs(
    path: str | Path,
    bands: BandSet | None = None,
    *,
    obj_ids: np.ndarray | None = None,
) -> pd.DataFrame:
    """Read and validate a detection table (optionally only the rows of ``obj_ids``)."""
    import pyarrow.parquet as pq

    path = Path(path)
    if obj_ids is None:
        df = read_parquet(path)
    else:
        try:
            table = pq.read_table(path, filters=[("obj_id", "in", [int(x) for x in np.atleast_1d(obj_ids)])])
        except FileNotFoundError:
            raise EpochError(f"{path}: no such file") from None
        except Exception as exc:
            raise EpochError(f"{path}: not a readable Parquet file ({exc})") from exc
        df = table.to_pandas()
        raw = (table.schema.metadata or {}).get(b"sedscape")
        import json

        df.attrs["sedscape"] = json.loads(raw) if raw else {}
    if bands is None:
        from core.catalog import band_set_of

        bands = band_set_of(df)
    if len(df):
        validate_epochs(df, bands, source=str(path))
    df["band"] = df["band"].astype(str)
    return df


def read_star_epochs(path: str | Path, obj_id: int) -> pd.DataFrame:
    """One star's epochs from a detection file (row groups of other stars are skipped)."""
    return read_epochs(path, obj_ids=np.array([obj_id]))


def find_detections(
    catalog: str | Path, meta: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> Path | None:
    """Where the detection table of ``catalog`` is (None if it has none), first found of:

    1. the ``SEDSCAPE_DETECTIONS`` environment variable;
    2. ``detections`` in the catalog's sedscape metadata (``sedscape score --detections`` and
       ``sedscape prepare-default`` record it; a relative path is relative to the catalog's folder);
    3. ``<catalog stem>.detections.parquet`` beside the catalog.
    """
    import os

    environ = os.environ if environ is None else environ
    if environ.get(DETECTIONS_ENV):
        return Path(environ[DETECTIONS_ENV]).expanduser()
    catalog = Path(catalog)
    if meta is None:
        from core.catalog import read_metadata

        try:
            meta = read_metadata(catalog)
        except Exception:  # an unreadable catalog has no recorded detections; its reader says why
            meta = {}
    recorded = (meta or {}).get("detections")
    if isinstance(recorded, dict):
        recorded = recorded.get("path")
    if recorded:
        path = Path(str(recorded)).expanduser()
        return path if path.is_absolute() else catalog.parent / path
    beside = catalog.with_name(catalog.stem + DETECTIONS_SUFFIX)
    return beside if beside.exists() else None


def epoch_ids(path: str | Path) -> np.ndarray:
    """The sorted unique ``obj_id`` values of a detection file (only that column is read)."""
    import pyarrow.parquet as pq

    try:
        ids = pq.read_table(path, columns=["obj_id"]).column("obj_id").to_numpy()
    except FileNotFoundError:
        raise EpochError(f"{path}: no such file") from None
    except Exception as exc:
        raise EpochError(f"{path}: not a readable detection table ({exc})") from exc
    return np.unique(ids.astype(np.int64))


def star_epochs(df: pd.DataFrame, obj_id: int) -> pd.DataFrame:
    """The rows of ``obj_id`` in an epoch frame, sorted by band and time."""
    rows = df[df["obj_id"].to_numpy() == int(obj_id)]
    return rows.sort_values(["band", "mjd"]).reset_index(drop=True)


@dataclass
class PackedEpochs:
    """Epochs as flat arrays sorted by star, then band, then time.

    ``obj_ids[k]``'s detections in band ``b`` are rows ``band_start[k, b]:band_start[k, b + 1]``;
    ``band`` holds the band's index in ``bands``. Stars of ``obj_ids`` with no detections have empty
    ranges, so arrays line up with a catalog's rows.
    """

    obj_ids: np.ndarray
    band_start: np.ndarray  # (n_obj, n_bands + 1) int64
    band: np.ndarray  # (n_rows,) int8
    mjd: np.ndarray  # (n_rows,) float64
    mag: np.ndarray  # (n_rows,) float64
    err: np.ndarray  # (n_rows,) float64
    bands: BandSet = PS1

    @property
    def n_objects(self) -> int:
        return len(self.obj_ids)

    @property
    def counts(self) -> np.ndarray:
        """(n_obj, n_bands) detections per star and band."""
        return np.diff(self.band_start, axis=1)

    def star(self, k: int) -> pd.DataFrame:
        """The detections of the ``k``-th star as a frame (band names, not indices)."""
        lo, hi = self.band_start[k, 0], self.band_start[k, -1]
        return pd.DataFrame(
            {
                "obj_id": np.full(hi - lo, self.obj_ids[k]),
                "band": np.array(self.bands.names)[self.band[lo:hi]],
                "mjd": self.mjd[lo:hi],
                "mag": self.mag[lo:hi],
                "mag_err": self.err[lo:hi],
            }
        )

    def subset(self, rows: np.ndarray) -> PackedEpochs:
        """The stars at positions ``rows`` (in that order), repacked."""
        rows = np.asarray(rows)
        starts, ends = self.band_start[rows, 0], self.band_start[rows, -1]
        lengths = ends - starts
        idx = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
        new_start = self.band_start[rows] - starts[:, None] + np.concatenate([[0], np.cumsum(lengths)[:-1]])[:, None]
        return PackedEpochs(self.obj_ids[rows], new_start.astype(np.int64), self.band[idx], self.mjd[idx],
                            self.mag[idx], self.err[idx], self.bands)


def pack_epochs(df: pd.DataFrame, bands: BandSet = PS1, obj_ids: np.ndarray | None = None) -> PackedEpochs:
    """Sort ``df`` by star, band and time into :class:`PackedEpochs`.

    ``obj_ids`` fixes the star order (e.g. a catalog's rows); detections of other objects are left
    out and counted in the log. Without it, the stars are the sorted unique ``obj_id`` values.
    """
    obj = df["obj_id"].to_numpy(dtype=np.int64)
    band_idx = pd.Categorical(df["band"].astype(str), categories=list(bands.names)).codes.astype(np.int8)
    if (band_idx < 0).any():
        raise EpochError(f"detections hold bands outside {list(bands.names)}; validate them first")
    if obj_ids is None:
        obj_ids = np.unique(obj)
    obj_ids = np.asarray(obj_ids, dtype=np.int64)
    sorter = np.argsort(obj_ids, kind="stable")
    pos = np.searchsorted(obj_ids, obj, sorter=sorter)
    pos = np.clip(pos, 0, len(obj_ids) - 1)
    known = obj_ids[sorter[pos]] == obj
    if not known.all():
        log.info("%d detections of %d objects are not among the requested stars; left out",
                 int((~known).sum()), len(np.unique(obj[~known])))
    star = sorter[pos]  # position in obj_ids
    mjd = df["mjd"].to_numpy(dtype=np.float64)
    order = np.lexsort((mjd, band_idx, star))
    order = order[known[order]]
    star, band_idx = star[order], band_idx[order]
    n_b = len(bands)
    key = star.astype(np.int64) * n_b + band_idx
    counts = np.bincount(key, minlength=len(obj_ids) * n_b).reshape(len(obj_ids), n_b)
    band_start = np.zeros((len(obj_ids), n_b + 1), np.int64)
    band_start[:, 1:] = np.cumsum(counts, axis=1)
    totals = band_start[:, -1].copy()
    offsets = np.concatenate([[0], np.cumsum(totals)[:-1]])
    band_start += offsets[:, None]
    return PackedEpochs(
        obj_ids, band_start, band_idx, mjd[order],
        df["mag"].to_numpy(dtype=np.float64)[order], df["mag_err"].to_numpy(dtype=np.float64)[order], bands,
    )
