"""Read a photometric catalog from a file into the catalog contract.

Formats (auto-detected from extension and content): MAST portal TSV exports, CasJobs/MAST CSV with
PS1 column names, plain CSV/TSV in the contract, astropy ECSV, FITS tables, VOTables (TAP results)
and Parquet.
Columns are renamed, ``l, b`` computed when absent, sentinels (-999) turned into NaN and counted in
``df.attrs['sedscape']['ingest']``; no row is dropped here (the selection pipeline does that).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from core.bands import PS1, BandSet, get_band_set
from core.catalog import optional_columns, validate_catalog
from core.errors import CatalogError, ConfigError
from core.readers import columns as cols
from core.readers.formats import (
    RawTable,
    head_lines,
    is_mast_types_line,
    read_csv,
    read_ecsv,
    read_fits,
    read_parquet_raw,
    read_text,
    read_tsv,
    read_votable,
)

log = logging.getLogger(__name__)

READERS: dict[str, Callable[[Path], RawTable]] = {
    "mast-tsv": read_tsv,
    "csv": read_csv,
    "tsv": read_tsv,
    "text": read_text,
    "ecsv": read_ecsv,
    "fits": read_fits,
    "votable": read_votable,
    "parquet": read_parquet_raw,
}

_EXTENSIONS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".fits": "fits",
    ".fit": "fits",
    ".fts": "fits",
    ".vot": "votable",
    ".votable": "votable",
    ".xml": "votable",
    ".csv": "csv",
    ".ecsv": "ecsv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "text",
    ".dat": "text",
}


def detect_format(path: str | Path) -> str:
    """The reader name for ``path``, from its first bytes first and its extension second."""
    path = Path(path)
    with open(path, "rb") as fh:
        magic = fh.read(512)
    if magic.startswith(b"PAR1"):
        return "parquet"
    if magic.startswith(b"SIMPLE  ="):
        return "fits"
    stripped = magic.lstrip()
    if stripped.startswith(b"<?xml") or stripped[:200].upper().find(b"<VOTABLE") >= 0:
        return "votable"
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    fmt = _EXTENSIONS.get(ext)
    if fmt in ("parquet", "fits", "votable"):
        # The extension promises a binary/XML format the bytes do not show: damaged file.
        raise CatalogError(
            f"{path}: the name says {fmt} but the content is not {fmt} (damaged or mislabelled?)"
        )
    if b"\x00" in magic:
        raise CatalogError(
            f"{path}: unknown format (binary content); known formats: {', '.join(sorted(READERS))}"
        )
    lines = head_lines(path, 3)
    if lines and lines[0].startswith("# %ECSV"):
        return "ecsv"
    if (
        lines
        and "\t" in lines[0]
        and len(lines) > 1
        and is_mast_types_line(lines[0].split("\t"), lines[1], "\t")
    ):
        return "mast-tsv"
    if fmt:
        return fmt
    if lines and ("\t" in lines[0] or "," in lines[0]):
        return "text"
    raise CatalogError(
        f"{path}: cannot tell the format from the name or content; pass format= (--format) with one of "
        f"{', '.join(sorted(READERS))}"
    )


def read_catalog(path: str | Path, *, format: str | None = None, bands: BandSet | str = PS1) -> pd.DataFrame:
    """Read ``path`` into the catalog contract for ``bands`` (a BandSet or its name).

    Raises :class:`CatalogError` for missing files, empty or header-only files, damaged
    Parquet/FITS/VOTable, missing columns (naming the names looked for) and non-numeric values
    (naming the column, a bad value and its row).
    """
    bands = get_band_set(bands)
    path = Path(path)
    if not path.exists():
        raise CatalogError(f"{path}: no such file")
    if path.is_dir():
        raise CatalogError(f"{path}: is a directory, not a catalog file")
    if path.stat().st_size == 0:
        raise CatalogError(f"{path}: the file is empty (0 bytes)")
    if format is None:
        format = detect_format(path)
    elif format not in READERS:
        raise ConfigError(f"unknown catalog format {format!r}; known: {', '.join(sorted(READERS))}")
    raw = READERS[format](path)
    df = to_contract(raw, bands, source=str(path))
    df.attrs["sedscape"]["ingest"]["path"] = str(path)
    return df


def to_contract(raw: RawTable, bands: BandSet = PS1, *, source: str = "catalog") -> pd.DataFrame:
    """Rename, convert and clean a raw table into the contract; counts every sentinel and NaN."""
    frame = raw.df
    columns = [str(c) for c in frame.columns]
    found = cols.resolve_columns(columns, bands)
    cols.check_required(found, columns, bands, source)
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    info: dict = {"format": raw.format, "n_rows": len(frame), "columns": dict(found)}

    if "obj_id" in found:
        out["obj_id"] = cols.obj_ids(frame[found["obj_id"]], found["obj_id"], source)
    else:
        log.warning("%s: no id column; obj_id is the row number", source)
        out["obj_id"] = np.arange(len(frame), dtype=np.int64)
        info["obj_id_generated"] = True
    out["ra"] = cols.parse_angle(frame[found["ra"]], found["ra"], source, hours=True)
    out["dec"] = cols.parse_angle(frame[found["dec"]], found["dec"], source, hours=False)
    if "l" in found and "b" in found:
        out["l"] = cols.to_numeric(frame[found["l"]], found["l"], source, line_offset=raw.line_offset)
        out["b"] = cols.to_numeric(frame[found["b"]], found["b"], source, line_offset=raw.line_offset)
    else:
        out["l"], out["b"] = cols.galactic(out["ra"].to_numpy(float), out["dec"].to_numpy(float))
        info["l_b_computed"] = True
    nan_ra = int(out["ra"].isna().sum() + out["dec"].isna().sum())
    if nan_ra:
        raise CatalogError(f"{source}: ra/dec are empty in {nan_ra} row(s); every star needs a position")

    sentinels: dict[str, int] = {}
    nans: dict[str, int] = {}
    numeric = [c for c in found if c not in ("obj_id", "ra", "dec", "l", "b")]
    for name in _contract_order(numeric, bands):
        src = found[name]
        values = cols.to_numeric(frame[src], src, source, line_offset=raw.line_offset)
        is_sent = values.isin(cols.sentinels_for(name, bands))
        if is_sent.any():
            sentinels[name] = int(is_sent.sum())
            values = values.mask(is_sent)
        if values.isna().any():
            nans[name] = int(values.isna().sum())
        if name.startswith("n_") and not values.isna().any():
            out[name] = values.astype(np.int32)
        else:
            out[name] = values.astype(float)
    for name in ("simbad_otype", "simbad_id", "simbad_category"):  # text columns kept as they are
        if name in frame.columns:
            out[name] = frame[name].to_numpy()
            found[name] = name
    info["sentinels"] = sentinels
    info["missing"] = nans  # NaN after sentinel replacement, per column
    info["unused_columns"] = [c for c in columns if c not in set(found.values())]

    meta = dict(raw.attrs)
    meta["ingest"] = info
    out.attrs["sedscape"] = meta
    report = validate_catalog(out, bands, source=source)
    if sentinels:
        log.info(
            "%s: sentinel values set to NaN: %s", source, ", ".join(f"{k}={v}" for k, v in sentinels.items())
        )
    log.info("%s: read %d rows (%s); %s", source, len(out), raw.format, report.summary())
    return out


def _contract_order(names: list[str], bands: BandSet) -> list[str]:
    order = list(bands.names) + list(bands.err_columns) + list(optional_columns(bands))
    order += [c for c in cols.aliases(bands) if c not in order]
    return [c for c in order if c in names]


__all__ = ["READERS", "detect_format", "read_catalog", "to_contract"]
