"""VOTable 1.3 with a BINARY2 stream, written a chunk at a time; the provenance is an ``INFO`` (JSON).

BINARY2 rows are a null-flag bitmask followed by each field, big-endian, with fixed-width text: so a
chunk is packed into numpy records and base64-encoded as it goes (what does not fill a 57-byte line
of base64 waits for the next chunk, so the text does not depend on the chunk size). Memory: one
chunk's records and their base64 text. ASCII text is ``char``, other text ``unicodeChar`` (UCS-2); a missing value (also
text, unlike FITS) is flagged in the bitmask, so an empty string and a missing one stay apart.
Positions carry the UCDs ``pos.eq.ra;meta.main`` / ``pos.eq.dec;meta.main`` that TOPCAT and Aladin use.
"""

from __future__ import annotations

import binascii
import json
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

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

NAMESPACE = "http://www.ivoa.net/xml/VOTable/v1.3"
_INTS = {1: ("short", ">i2"), 2: ("short", ">i2"), 4: ("int", ">i4"), 8: ("long", ">i8")}


def _field(col: ColumnPlan) -> tuple[str, str, str | None]:
    """VOTable datatype, numpy dtype of the record field, and arraysize (text only)."""
    if col.kind == "float":
        return ("float", ">f4", None) if col.dtype.itemsize == 4 else ("double", ">f8", None)
    if col.kind == "bool":
        return "boolean", "S1", None
    if col.kind == "text":
        width = max(col.width, 1)
        if col.ascii:
            return "char", f"S{width}", str(width)
        # UCS-2: at most as many code units as UTF-8 bytes, two bytes each
        return "unicodeChar", f"S{2 * width}", str(width)
    if col.dtype == np.uint8:
        return "unsignedByte", "u1", None
    size = min(col.dtype.itemsize * (2 if col.dtype.kind == "u" else 1), 8)
    return _INTS[size] + (None,)


def _head(plan: ExportPlan, provenance: dict[str, Any], name: str) -> str:
    prov = json.dumps(plain(provenance), separators=(",", ":"))
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<VOTABLE version="1.3" xmlns="{NAMESPACE}">',
        '<RESOURCE type="results">',
        f"<INFO name=\"sedscape_export\" value={quoteattr(prov)}/>",
        f"<TABLE name={quoteattr(name)} nrows=\"{plan.n}\">",
        f"<DESCRIPTION>{escape(f'{plan.n} stars selected with sedscape; provenance in INFO sedscape_export')}"
        "</DESCRIPTION>",
    ]
    for col in plan.columns:
        datatype, _, arraysize = _field(col)
        attrs = f"name={quoteattr(col.name)} datatype=\"{datatype}\""
        if arraysize:
            attrs += f' arraysize="{arraysize}"'
        if col.unit:
            attrs += f" unit={quoteattr(col.unit)}"
        if col.ucd:
            attrs += f" ucd={quoteattr(col.ucd)}"
        lines.append(f"<FIELD {attrs}/>")
    lines.append('<DATA><BINARY2><STREAM encoding="base64">')
    return "\n".join(lines) + "\n"


# Each base64 line encodes this many bytes (a multiple of 3: no padding inside the stream); lines of a
# fixed length make the text independent of the chunk size.
_LINE_BYTES = 3 * 16_384
_TAIL = "</STREAM></BINARY2></DATA>\n</TABLE>\n</RESOURCE>\n</VOTABLE>\n"


def _records(chunk: Any, plan: ExportPlan) -> np.ndarray:
    n_flags = (len(plan.columns) + 7) // 8
    dtype = np.dtype([("nulls", "u1", (n_flags,))] + [(f"f{k}", _field(c)[1]) for k, c in enumerate(plan.columns)])
    rec = np.zeros(len(chunk), dtype=dtype)
    nulls = np.zeros((len(chunk), n_flags * 8), dtype=bool)
    for k, col in enumerate(plan.columns):
        values = chunk[col.name].array
        field = f"f{k}"
        if col.kind == "text":
            width = col.width if col.ascii else 2 * col.width
            rec[field], nulls[:, k] = fixed_width_bytes(values, width, "ascii" if col.ascii else "utf-16-be")
        elif col.kind == "bool":
            missing = null_mask(values, col.kind) if col.nullable else np.zeros(len(chunk), bool)
            flags = np.where(numeric_values(values, col), b"T", b"F")
            flags[missing] = b"?"
            rec[field] = flags
            nulls[:, k] = missing
        else:
            rec[field] = numeric_values(values, col)
            if col.nullable:
                nulls[:, k] = null_mask(values, col.kind)
    rec["nulls"] = np.packbits(nulls, axis=1, bitorder="big")
    return rec


def write(plan: ExportPlan, fh: IO[bytes], provenance: dict[str, Any], name: str = "sedscape_selection") -> None:
    """Stream the plan's rows to ``fh`` as a VOTable (text widths measured first, a chunk at a time)."""
    measure_text(plan)
    fh.write(_head(plan, provenance, name).encode("utf-8"))
    carry = b""
    for chunk in plan.chunks():
        data = carry + _records(chunk, plan).tobytes()
        cut = len(data) - len(data) % _LINE_BYTES
        carry = data[cut:]
        _write_base64(fh, memoryview(data)[:cut])
    if carry:
        _write_base64(fh, memoryview(carry))
    fh.write(_TAIL.encode("utf-8"))


def _write_base64(fh: IO[bytes], data: memoryview) -> None:
    for start in range(0, len(data), _LINE_BYTES):
        fh.write(binascii.b2a_base64(data[start : start + _LINE_BYTES]))  # with its newline
