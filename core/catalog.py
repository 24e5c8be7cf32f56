"""The catalog contract every source produces, its validation, and Parquet I/O with provenance.

A catalog is a DataFrame with ``obj_id, ra, dec, l, b``, one magnitude column per band (named
by the band) and its error (``<band>_err``), plus optional columns listed in
:data:`OPTIONAL_COLUMNS`. On disk it is Parquet whose schema metadata (key ``sedscape``)
holds a JSON dict: band set, funnel of cuts, dereddening, provenance.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.atomic import partial_target
from core.bands import PS1, BandSet, get_band_set
from core.errors import CatalogError, OutputExistsError

log = logging.getLogger(__name__)

BASE_COLUMNS: tuple[str, ...] = ("obj_id", "ra", "dec", "l", "b")
# Values that archives use for "no measurement".
SENTINELS: tuple[float, ...] = (-999.0, -999.9, 999.0, -99.0, 99.0)
METADATA_KEY = b"sedscape"


def optional_columns(bands: BandSet = PS1) -> tuple[str, ...]:
    """Columns a catalog may carry beyond the required ones."""
    per_band = [f"n_{b}" for b in bands] + [f"qf_{b}" for b in bands] + [f"{b}_obs" for b in bands]
    per_band += [f"{b}_kron" for b in bands]
    return (
        "ebv",
        *per_band,
        "prob_star",
        "parallax",
        "parallax_error",
        "simbad_otype",
        "simbad_id",
        "simbad_category",
    )


def required_columns(bands: BandSet = PS1) -> tuple[str, ...]:
    return BASE_COLUMNS + bands.names + bands.err_columns


@dataclass
class ValidationReport:
    """What validation found: per-column counts of NaN and sentinel values, and hard problems."""

    n_rows: int
    missing_columns: list[str] = field(default_factory=list)
    nan_counts: dict[str, int] = field(default_factory=dict)
    sentinel_counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing_columns and not self.problems

    def summary(self) -> str:
        lines = [f"{self.n_rows} rows"]
        if self.missing_columns:
            lines.append(f"missing columns: {', '.join(self.missing_columns)}")
        bad = {k: v for k, v in self.nan_counts.items() if v}
        if bad:
            lines.append("NaN values: " + ", ".join(f"{k}={v}" for k, v in bad.items()))
        sent = {k: v for k, v in self.sentinel_counts.items() if v}
        if sent:
            lines.append("sentinel (-999 etc.) values: " + ", ".join(f"{k}={v}" for k, v in sent.items()))
        lines.extend(self.problems)
        return "; ".join(lines)


def validate_catalog(
    df: pd.DataFrame,
    bands: BandSet = PS1,
    *,
    source: str = "catalog",
    require_complete: bool = False,
) -> ValidationReport:
    """Check ``df`` against the contract; raise :class:`CatalogError` naming what is wrong.

    Missing required columns, an empty table, non-numeric magnitudes, coordinates out of range and
    duplicate ``obj_id`` always raise. NaN and sentinel magnitudes are counted per band; they raise
    only with ``require_complete=True`` (the model's input must be complete), because the
    selection pipeline is what removes, and counts, incomplete rows.
    """
    report = ValidationReport(n_rows=len(df))
    report.missing_columns = [c for c in required_columns(bands) if c not in df.columns]
    if report.missing_columns:
        hint = ""
        ps1_names = [c for c in df.columns if "MeanPSFMag" in str(c)]
        if ps1_names:
            hint = " (this looks like raw PS1 columns: read it with core.read_catalog, which renames them)"
        raise CatalogError(
            f"{source}: missing required column(s) {', '.join(report.missing_columns)} for band set "
            f"{bands.name!r}; columns present: {', '.join(map(str, df.columns[:40]))}{hint}"
        )
    if len(df) == 0:
        raise CatalogError(f"{source}: the catalog has no rows")
    for col in bands.names + bands.err_columns + ("ra", "dec", "l", "b"):
        if not pd.api.types.is_numeric_dtype(df[col]):
            raise CatalogError(
                f"{source}: column {col!r} must be numeric but has dtype {df[col].dtype} "
                f"(first values: {df[col].head(3).tolist()})"
            )
    for col in bands.names + bands.err_columns:
        values = df[col].to_numpy(dtype=float)
        report.nan_counts[col] = int(np.isnan(values).sum())
        report.sentinel_counts[col] = int(np.isin(values, SENTINELS).sum())
    ra, dec = df["ra"].to_numpy(float), df["dec"].to_numpy(float)
    if np.nanmin(ra) < 0 or np.nanmax(ra) > 360:
        report.problems.append(f"ra outside [0, 360] deg in {int(((ra < 0) | (ra > 360)).sum())} rows")
    if np.nanmin(dec) < -90 or np.nanmax(dec) > 90:
        report.problems.append(f"dec outside [-90, 90] deg in {int((np.abs(dec) > 90).sum())} rows")
    if np.nanmax(np.abs(dec)) <= np.pi / 2 + 1e-9 and np.nanmax(np.abs(ra)) <= 2 * np.pi + 1e-9 and len(df) > 10:
        # A real field near RA 0-6 deg, |Dec| < 1.6 deg looks the same, so this only warns.
        log.warning("%s: ra/dec all fall inside [0, 2pi] x [-pi/2, pi/2]; the contract wants degrees", source)
    if df["obj_id"].duplicated().any():
        report.problems.append(f"obj_id has {int(df['obj_id'].duplicated().sum())} duplicated values")
    mags = df[list(bands.names)].to_numpy(float)
    finite = mags[np.isfinite(mags) & ~np.isin(mags, SENTINELS)]
    if finite.size and (np.median(finite) < 0 or np.median(finite) > 40):
        report.problems.append(
            f"magnitudes have median {np.median(finite):.3g}; expected AB magnitudes (~10-25), not fluxes"
        )
    if require_complete:
        incomplete = {k: v for k, v in report.nan_counts.items() if v}
        incomplete.update({k: v for k, v in report.sentinel_counts.items() if v})
        if incomplete:
            report.problems.append(
                "incomplete photometry (NaN or sentinel) in "
                + ", ".join(f"{k}: {v} rows" for k, v in incomplete.items())
                + "; run the selection pipeline (sedscape ingest) first"
            )
    if report.problems:
        raise CatalogError(f"{source}: " + "; ".join(report.problems))
    return report


def band_set_of(df: pd.DataFrame, default: BandSet = PS1) -> BandSet:
    """The band set recorded in ``df.attrs['sedscape']`` (set by :func:`read_parquet`), else ``default``."""
    meta = df.attrs.get("sedscape", {})
    if "bands" in meta:
        return get_band_set(meta["bands"]) if isinstance(meta["bands"], str) else _bandset_from_meta(meta)
    return default


def _bandset_from_meta(meta: dict[str, Any]) -> BandSet:
    from core.bands import Band

    spec = meta["bands"]
    return BandSet(
        meta.get("band_set", "custom"),
        tuple(Band(b["name"], b["wavelength_nm"], b.get("extinction_coeff")) for b in spec),
    )


def bandset_to_meta(bands: BandSet) -> dict[str, Any]:
    return {
        "band_set": bands.name,
        "bands": [
            {"name": b.name, "wavelength_nm": b.wavelength_nm, "extinction_coeff": b.extinction_coeff}
            for b in bands.bands
        ],
    }


def write_parquet(
    df: pd.DataFrame,
    path: str | Path,
    *,
    metadata: dict[str, Any] | None = None,
    overwrite: bool = False,
    row_group_size: int | None = None,
) -> Path:
    """Write ``df`` atomically (hidden partial file, then rename) with sedscape metadata in the schema.

    Refuses to replace an existing file unless ``overwrite=True``; ``metadata`` is merged over
    ``df.attrs['sedscape']``. ``row_group_size`` (rows; default pyarrow's) sets how finely a reader
    with a filter can skip the file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass --overwrite (overwrite=True) to replace it")
    meta = dict(df.attrs.get("sedscape", {}))
    meta.update(metadata or {})
    table = pa.Table.from_pandas(df, preserve_index=False)
    schema_meta = dict(table.schema.metadata or {})
    schema_meta[METADATA_KEY] = json.dumps(meta, default=json_default).encode()
    table = table.replace_schema_metadata(schema_meta)
    with partial_target(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=row_group_size)
        tmp.replace(path)
    log.info("wrote %d rows to %s", len(df), path)
    return path


def read_parquet(path: str | Path, columns: list[str] | None = None, rows: int | None = None) -> pd.DataFrame:
    """Read a sedscape (or any) Parquet file; metadata lands in ``df.attrs['sedscape']``.

    ``rows`` reads only the first that many rows (a quick look at a large file).
    A missing, empty or truncated file raises :class:`CatalogError` that names the file.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise CatalogError(f"{path}: no such file")
    if path.is_dir():  # a HATS catalog: partitions in spatial order (see core.partitioned)
        from core.partitioned import read_hats_frame

        return read_hats_frame(path, columns, rows=rows)
    if path.stat().st_size == 0:
        raise CatalogError(f"{path}: the file is empty (0 bytes)")
    try:
        pf = pq.ParquetFile(path)
        if rows is None:
            table = pf.read(columns=columns)
        else:
            import pyarrow as pa

            schema = pf.schema_arrow if columns is None else pa.schema([pf.schema_arrow.field(c) for c in columns])
            batch = next(pf.iter_batches(batch_size=max(rows, 1), columns=columns), None)
            table = pa.Table.from_batches([batch] if batch is not None else [], schema=schema)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise CatalogError(
            f"{path}: not a readable Parquet file ({exc.__class__.__name__}: {exc}); "
            "it may be truncated by an interrupted copy or download"
        ) from exc
    # One block per column: consolidating same-typed columns into 2-D blocks copies the whole table
    # (seconds for a survey-sized catalog) for no benefit to column-wise work.
    df = table.to_pandas(split_blocks=True)
    raw = (pf.schema_arrow.metadata or {}).get(METADATA_KEY)
    df.attrs["sedscape"] = json.loads(raw) if raw else {}
    return df


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The sedscape metadata of a Parquet file without reading its rows."""
    import pyarrow.parquet as pq

    if Path(path).is_dir():
        from core.partitioned import read_sidecar

        return read_sidecar(path)
    try:
        raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY)
    except Exception as exc:
        raise CatalogError(f"{path}: cannot read Parquet schema ({exc})") from exc
    return json.loads(raw) if raw else {}


def json_default(obj: Any) -> Any:
    """``json.dumps(default=...)`` for the numpy scalars, arrays and paths that metadata, cards and reports hold."""
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj)} to JSON")
