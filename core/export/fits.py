"""FITS: a binary table written a chunk at a time, its header built by astropy, the provenance as JSON.

astropy cannot append rows to a table on disk, but a FITS binary table is a header that declares
the row count and each column's format, then fixed-size big-endian records: the header is built
with astropy for the known row count and text widths, and each chunk is packed into records with
numpy and written at once. Memory: one chunk's records (chunk rows x row bytes) plus the chunk.

Text is written as UTF-8 in fixed-width ``A`` columns (FITS has no missing text: a missing value is
written as an empty string); missing integers get a ``TNULL``; booleans are ``L`` (a missing one is a
zero byte, which FITS readers show as missing). The provenance is the JSON keyword ``SEDSCAPE``
(a long string continued over ``CONTINUE`` cards).
"""

from __future__ import annotations

import json
from typing import IO, Any

import numpy as np

from core.export.ecsv import plain
from core.export.plan import (
    ColumnPlan,
    ExportPlan,
    fixed_width_bytes,
    measure_text,
    null_mask,
    numeric_values,
)

BLOCK = 2880
_INT_FORMATS = {1: ("I", ">i2"), 2: ("I", ">i2"), 4: ("J", ">i4"), 8: ("K", ">i8")}
_TNULL = {"I": np.iinfo(np.int16).min, "J": np.iinfo(np.int32).min, "K": np.iinfo(np.int64).min}


def _format(col: ColumnPlan) -> tuple[str, str]:
    """FITS ``TFORM`` and the numpy dtype of its big-endian record field."""
    if col.kind == "float":
        return ("E", ">f4") if col.dtype.itemsize == 4 else ("D", ">f8")
    if col.kind == "bool":
        return "L", "u1"
    if col.kind == "text":
        width = max(col.width, 1)
        return f"{width}A", f"S{width}"
    if col.dtype == np.uint8:
        return "B", "u1"
    size = col.dtype.itemsize * (2 if col.dtype.kind == "u" else 1)  # unsigned: the next wider signed type
    if size > 8:
        size = 8
    return _INT_FORMATS[size]


def _header(plan: ExportPlan, provenance: dict[str, Any]) -> bytes:
    from astropy.io import fits

    cols = []
    for col in plan.columns:
        tform, _ = _format(col)
        null = _TNULL.get(tform) if col.kind == "int" and col.nullable else None
        cols.append(fits.Column(name=col.name, format=tform, unit=col.unit, null=null))
    hdu = fits.BinTableHDU.from_columns(cols, nrows=0)
    hdu.header["NAXIS2"] = plan.n
    hdu.header["EXTNAME"] = "SELECTION"
    hdu.header["SEDSCAPE"] = (json.dumps(plain(provenance), separators=(",", ":")), "sedscape export provenance")
    primary = fits.PrimaryHDU()
    primary.header["COMMENT"] = "sedscape export: the selected stars are in extension 1 (SELECTION)"
    return primary.header.tostring().encode("ascii") + hdu.header.tostring().encode("ascii")


def _records(chunk: Any, plan: ExportPlan) -> np.ndarray:
    dtype = np.dtype([(f"f{k}", _format(col)[1]) for k, col in enumerate(plan.columns)])
    rec = np.zeros(len(chunk), dtype=dtype)
    for k, col in enumerate(plan.columns):
        values = chunk[col.name].array
        field = f"f{k}"
        if col.kind == "text":
            rec[field] = fixed_width_bytes(values, col.width)[0]
        elif col.kind == "bool":
            flags = np.where(numeric_values(values, col), ord("T"), ord("F")).astype(np.uint8)
            if col.nullable:
                flags[null_mask(values, col.kind)] = 0
            rec[field] = flags
        else:
            numbers = numeric_values(values, col)
            if col.kind == "int" and col.nullable:
                numbers = numbers.astype(rec.dtype[field].newbyteorder("="))
                numbers[null_mask(values, col.kind)] = _TNULL[_format(col)[0]]
            rec[field] = numbers
    return rec


def write(plan: ExportPlan, fh: IO[bytes], provenance: dict[str, Any]) -> None:
    """Stream the plan's rows to ``fh`` as a FITS binary table (text widths measured first, a chunk at a time)."""
    measure_text(plan)
    fh.write(_header(plan, provenance))
    written = 0
    for chunk in plan.chunks():
        data = _records(chunk, plan).tobytes()
        fh.write(data)
        written += len(data)
    if written % BLOCK:
        fh.write(b"\0" * (BLOCK - written % BLOCK))
