"""Raw readers, one per file format: each returns the file's table untouched plus what it learned.

They only turn bytes into a DataFrame and turn damaged, empty or header-only files into a
:class:`CatalogError` naming the file; mapping onto the contract happens in :mod:`core.readers`.
"""

from __future__ import annotations

import gzip
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.catalog import read_parquet
from core.errors import CatalogError

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
    """A table as read, before renaming: ``line_offset`` maps data row k (1-based) to file line k+offset."""

    df: pd.DataFrame
    format: str
    line_offset: int | None = None
    attrs: dict = field(default_factory=dict)


def open_text(path: Path):
    return gzip.open(path, "rt", errors="replace") if path.suffix == ".gz" else open(path, errors="replace")


def head_lines(path: Path, n: int = 40) -> list[str]:
    lines = []
    with open_text(path) as fh:
        for line in fh:
            lines.append(line.rstrip("\r\n"))
            if len(lines) >= n:
                break
    return lines


def is_mast_types_line(header: list[str], line: str, sep: str) -> bool:
    tokens = [t.strip().lower() for t in line.split(sep)]
    return len(tokens) == len(header) and all(t in MAST_TYPES for t in tokens)


def _read_delimited(path: Path, sep: str, fmt: str) -> RawTable:
    lines = head_lines(path)
    n_comments = 0
    while n_comments < len(lines) and lines[n_comments].startswith("#"):
        n_comments += 1
    body = lines[n_comments:]
    if not any(line.strip() for line in body):
        raise CatalogError(f"{path}: no header line and no data (only comments or blank lines)")
    header = body[0].split(sep)
    skip = list(range(n_comments))
    offset = n_comments + 1
    if len(body) > 1 and is_mast_types_line(header, body[1], sep):
        skip.append(n_comments + 1)
        offset += 1
        fmt = "mast-tsv" if sep == "\t" else "mast-csv"
    try:
        df = pd.read_csv(path, sep=sep, skiprows=skip, low_memory=False)
    except pd.errors.ParserError as exc:
        raise CatalogError(f"{path}: cannot parse as {fmt} ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path}: not a text file ({exc})") from exc
    if len(df) == 0:
        raise CatalogError(f"{path}: the file has a header ({len(header)} columns) but no data rows")
    return RawTable(df, fmt, line_offset=offset)


def read_csv(path: Path) -> RawTable:
    return _read_delimited(path, ",", "csv")


def read_tsv(path: Path) -> RawTable:
    return _read_delimited(path, "\t", "tsv")


def read_text(path: Path) -> RawTable:
    """Delimited text of unknown separator: tab if the header has tabs, else comma."""
    lines = [line for line in head_lines(path, 5) if not line.startswith("#")]
    sep = "\t" if lines and "\t" in lines[0] else ","
    return _read_delimited(path, sep, "tsv" if sep == "\t" else "csv")


def _table_to_frame(table, path: Path, fmt: str) -> pd.DataFrame:
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
        raise CatalogError(f"{path}: the {fmt} table has columns but no rows")
    return df


def read_fits(path: Path) -> RawTable:
    """The first table HDU of a FITS file; truncated files raise instead of being zero-padded."""
    from astropy.io import fits
    from astropy.table import Table
    from astropy.utils.exceptions import AstropyUserWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", AstropyUserWarning)
            with fits.open(path, memmap=False) as hdul:
                hdus = [h for h in hdul if isinstance(h, (fits.BinTableHDU, fits.TableHDU))]
                if not hdus:
                    raise CatalogError(f"{path}: the FITS file has no table extension")
                table = Table.read(hdus[0])  # applies TNULL / NaN masks, unlike Table(hdu.data)
    except CatalogError:
        raise
    except Exception as exc:
        raise CatalogError(
            f"{path}: not a readable FITS table ({exc.__class__.__name__}: {exc}); "
            "it may be truncated by an interrupted copy or download"
        ) from exc
    return RawTable(_table_to_frame(table, path, "FITS"), "fits")


def read_votable(path: Path) -> RawTable:
    """The first table of a VOTable (e.g. a TAP result)."""
    from astropy.io.votable import parse

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # astropy warns about harmless VOTable spec deviations
            vot = parse(str(path))
            tables = list(vot.iter_tables())
            if not tables:
                raise CatalogError(f"{path}: the VOTable holds no TABLE")
            table = tables[0].to_table(use_names_over_ids=True)
    except CatalogError:
        raise
    except Exception as exc:
        raise CatalogError(
            f"{path}: not a readable VOTable ({exc.__class__.__name__}: {exc}); "
            "it may be truncated, or be an error page instead of a table"
        ) from exc
    return RawTable(_table_to_frame(table, path, "VOTable"), "votable")


def read_ecsv(path: Path) -> RawTable:
    """Astropy's enhanced CSV (``Table.write(..., format="ascii.ecsv")``)."""
    from astropy.table import Table

    try:
        table = Table.read(path, format="ascii.ecsv")
    except Exception as exc:
        raise CatalogError(f"{path}: not a readable ECSV table ({exc.__class__.__name__}: {exc})") from exc
    return RawTable(_table_to_frame(table, path, "ECSV"), "ecsv")


def read_parquet_raw(path: Path) -> RawTable:
    df = read_parquet(path)
    if len(df) == 0:
        raise CatalogError(f"{path}: the Parquet file has columns but no rows")
    return RawTable(df, "parquet", attrs=dict(df.attrs.get("sedscape", {})))
