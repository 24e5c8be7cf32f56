"""Raw readers, one per file format: each returns the file's table untouched plus what it learned.

They only turn bytes into a DataFrame and turn damaged, empty or header-only files into a
:class:`CatalogError` naming the file; mapping onto the contract happens in :mod:`core.readers`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.catalog import read_parquet
from core.errors import CatalogError
from core.readers.textcheck import check_row_count, check_unique_names, scan_lines, split_header

# Column types MAST writes on the second line of a portal TSV export.
MAST_TYPES = frozenset(
    [
        "string",
        "integer",
        "int",
        "long",
        "short",
        "double",
        "float",
        "real",
        "ra",
        "dec",
        "char",
        "boolean",
        "bool",
        "date",
        "datetime",
        "unicodechar",
    ]
)


@dataclass
class RawTable:
    """A table as read, before renaming, with the declared units of its columns (astropy formats).

    ``line_of(k)`` maps data row ``k`` (0-based) to its 1-based file line when the format has lines.
    """

    df: pd.DataFrame
    format: str
    line_of: Callable[[int], int | None] = field(default=lambda k: None)
    units: dict[str, str] = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)  # what the reader counted (e.g. empty lines), for the metadata


def head_lines(path: Path, n: int = 40) -> list[str]:
    lines = []
    with open(path, errors="replace") as fh:
        for line in fh:
            lines.append(line.rstrip("\r\n"))
            if len(lines) >= n:
                break
    return lines


def is_mast_types_line(header: list[str], line: str, sep: str) -> bool:
    tokens = [t.strip().lower() for t in line.split(sep)]
    return len(tokens) == len(header) and all(t in MAST_TYPES for t in tokens)


def _header_index(path: Path, source: str, max_lines: int = 100_000) -> tuple[int, list[str]]:
    """0-based index of the header (first line that is neither a ``#`` comment nor empty) and the
    lines up to the one after it."""
    lines: list[str] = []
    with open(path, errors="replace") as fh:
        for line in fh:
            lines.append(line.rstrip("\r\n"))
            if len(lines) > 1 and lines[-2].strip() and not lines[-2].startswith("#"):
                return len(lines) - 2, lines
            if len(lines) >= max_lines:
                break
    if lines and lines[-1].strip() and not lines[-1].startswith("#"):
        return len(lines) - 1, lines
    raise CatalogError(f"{source}: no header line and no data (only comments or blank lines)")


def _read_delimited(path: Path, sep: str, fmt: str, source: str | None = None) -> RawTable:
    src = source or str(path)
    h, lines = _header_index(path, src)
    header_line = lines[h]
    names = split_header(header_line, sep)
    check_unique_names(names, src, f"the header (line {h + 1})")
    skip = [k for k in range(h) if lines[k].startswith("#")]
    first_data = h + 2  # 1-based line number of the first data line
    if len(lines) > h + 1 and is_mast_types_line(header_line.split(sep), lines[h + 1], sep):
        skip.append(h + 1)
        first_data += 1
        fmt = "mast-tsv" if sep == "\t" else "mast-csv"
    scan = scan_lines(path, sep, first_data, len(names), src)
    try:
        df = pd.read_csv(path, sep=sep, skiprows=skip, low_memory=False)
    except pd.errors.ParserError as exc:
        raise CatalogError(f"{src}: cannot parse as {fmt} ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{src}: not a text file ({exc})") from exc
    if len(df) == 0 and scan.n_data_lines == 0:
        raise CatalogError(f"{src}: the file has a header ({len(names)} columns) but no data rows")
    check_row_count(len(df), scan, src, "pandas")
    return RawTable(df, fmt, line_of=scan.line_of, info=_scan_info(scan))


def _scan_info(scan) -> dict:
    return {"lines": scan.n_lines, "empty_lines_skipped": int(len(scan.blank_lines))}


def read_csv(path: Path, source: str | None = None) -> RawTable:
    return _read_delimited(path, ",", "csv", source)


def read_tsv(path: Path, source: str | None = None) -> RawTable:
    return _read_delimited(path, "\t", "tsv", source)


def read_text(path: Path, source: str | None = None) -> RawTable:
    """Delimited text of unknown separator: tab if the header has tabs, else comma."""
    lines = [line for line in head_lines(path, 5) if not line.startswith("#")]
    sep = "\t" if lines and "\t" in lines[0] else ","
    return _read_delimited(path, sep, "tsv" if sep == "\t" else "csv", source)


def _units_of(table) -> dict[str, str]:
    """Declared units of an astropy table's columns, as written in the file."""
    out = {}
    for name in table.colnames:
        unit = table[name].unit
        if unit is not None:
            unknown = type(unit).__name__ == "UnrecognizedUnit"
            out[name] = unit.name if unknown else unit.to_string()
    return out


def _table_to_frame(table, source: str, fmt: str) -> pd.DataFrame:
    multi = [name for name in table.colnames if len(table[name].shape) > 1]
    if multi:
        table.remove_columns(multi)
    if hasattr(table, "filled") and table.has_masked_values:
        for name in table.colnames:
            col = table[name]
            if getattr(col, "mask", None) is not None and np.any(col.mask):
                table[name] = col.astype(float).filled(np.nan) if col.dtype.kind in "iuf" else col.filled("")
    df = table.to_pandas()
    for name in df.columns:
        if df[name].dtype == object and len(df) and isinstance(df[name].iloc[0], bytes):
            df[name] = df[name].str.decode("utf-8", errors="replace")
    if len(df) == 0:
        raise CatalogError(f"{source}: the {fmt} table has columns but no rows")
    return df


def read_fits(path: Path, source: str | None = None) -> RawTable:
    """The first table HDU of a FITS file; truncated files raise instead of being zero-padded."""
    from astropy.io import fits
    from astropy.table import Table
    from astropy.utils.exceptions import AstropyUserWarning

    src = source or str(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", AstropyUserWarning)
            with fits.open(path, memmap=False) as hdul:
                hdus = [h for h in hdul if isinstance(h, (fits.BinTableHDU, fits.TableHDU))]
                if not hdus:
                    raise CatalogError(f"{src}: the FITS file has no table extension")
                check_unique_names(list(hdus[0].columns.names), src, "the FITS table (TTYPEn)")
                table = Table.read(hdus[0])  # applies TNULL / NaN masks, unlike Table(hdu.data)
    except CatalogError:
        raise
    except Exception as exc:
        raise CatalogError(
            f"{src}: not a readable FITS table ({exc.__class__.__name__}: {exc}); "
            "it may be truncated by an interrupted copy or download"
        ) from exc
    units = _units_of(table)
    return RawTable(_table_to_frame(table, src, "FITS"), "fits", units=units)


def read_votable(path: Path, source: str | None = None) -> RawTable:
    """The first table of a VOTable (e.g. a TAP result)."""
    from astropy.io.votable import parse

    src = source or str(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # astropy warns about harmless VOTable spec deviations
            vot = parse(str(path))
            tables = list(vot.iter_tables())
            if not tables:
                raise CatalogError(f"{src}: the VOTable holds no TABLE")
            check_unique_names([f.name for f in tables[0].fields], src, "the VOTable's FIELD names")
            table = tables[0].to_table(use_names_over_ids=True)
    except CatalogError:
        raise
    except Exception as exc:
        raise CatalogError(
            f"{src}: not a readable VOTable ({exc.__class__.__name__}: {exc}); "
            "it may be truncated, or be an error page instead of a table"
        ) from exc
    units = _units_of(table)
    return RawTable(_table_to_frame(table, src, "VOTable"), "votable", units=units)


_ECSV_DELIMITER = re.compile(r"^#\s*delimiter:\s*['\"]?(.)['\"]?\s*$")


def read_ecsv(path: Path, source: str | None = None) -> RawTable:
    """Astropy's enhanced CSV (``Table.write(..., format="ascii.ecsv")``), checked line by line first."""
    from astropy.table import Table

    src = source or str(path)
    h, lines = _header_index(path, src)
    sep = " "
    for line in lines[:h]:
        m = _ECSV_DELIMITER.match(line)
        if m:
            sep = m.group(1)
    names = split_header(lines[h], sep)
    check_unique_names(names, src, f"the header (line {h + 1})")
    scan = scan_lines(path, sep, h + 2, len(names), src)
    try:
        table = Table.read(path, format="ascii.ecsv")
    except Exception as exc:
        raise CatalogError(f"{src}: not a readable ECSV table ({exc.__class__.__name__}: {exc})") from exc
    check_row_count(len(table), scan, src, "astropy")
    units = _units_of(table)
    return RawTable(_table_to_frame(table, src, "ECSV"), "ecsv", line_of=scan.line_of, units=units,
                    info=_scan_info(scan))


def read_parquet_raw(path: Path, source: str | None = None) -> RawTable:
    import pyarrow.parquet as pq

    src = source or str(path)
    try:
        names = pq.read_schema(path).names
    except Exception as exc:
        raise CatalogError(
            f"{src}: not a readable Parquet file ({exc.__class__.__name__}: {exc}); "
            "it may be truncated by an interrupted copy or download"
        ) from exc
    check_unique_names(names, src, "the Parquet schema")
    df = read_parquet(path)
    if len(df) == 0:
        raise CatalogError(f"{src}: the Parquet file has columns but no rows")
    return RawTable(df, "parquet", attrs=dict(df.attrs.get("sedscape", {})))
