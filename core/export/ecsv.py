"""CSV with a provenance header: ECSV (astropy APE 6), written a chunk at a time by Arrow's CSV writer.

The ``#``-prefixed YAML header holds the column types and units and the export's provenance, so
``astropy.table.Table.read(path, format="ascii.ecsv")`` and TOPCAT get types, units and metadata, and
``pandas.read_csv(path, comment="#")`` gets the values. Text is always quoted and a missing value is
an empty cell, so an empty string (``""``) and a missing one stay apart for readers that keep the
quotes (:func:`core.export.read_export` does; astropy's and pandas' default readers see both as missing).

Text that a spreadsheet would run as a formula (a cell beginning with ``=``, ``+``, ``-``, ``@``, tab
or carriage return) is prefixed with ``'``, as OWASP recommends; so is text that already begins with
``'``, so that :func:`unescape_text` restores every value exactly. Numbers are never touched: a
negative magnitude stays a number.
"""

from __future__ import annotations

import json
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from core.export.plan import ColumnPlan, ExportPlan, null_mask, numeric_values, text_values

ECSV_VERSION = "1.0"
TEXT_ESCAPE = "'"
# OWASP "CSV injection": cells starting with these are run as formulas by spreadsheets.
_ESCAPE_PATTERN = r"^[=+\-@\t\r']"
# Rows formatted as one piece of text by one worker (bounds the text in memory; large enough to keep Arrow busy).
CSV_PIECE_ROWS = 16_384


def _ecsv_type(col: ColumnPlan) -> str:
    if col.kind == "text":
        return "string"
    if col.kind == "bool":
        return "bool"
    return str(col.dtype)


def plain(obj: Any) -> Any:
    """Provenance as plain JSON/YAML types (numpy scalars and arrays, paths become Python values)."""

    def default(o: Any) -> Any:
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        return str(o)

    return json.loads(json.dumps(obj, default=default))


def header(plan: ExportPlan, provenance: dict[str, Any]) -> str:
    """The ``#`` lines above the CSV rows."""
    datatype = []
    for col in plan.columns:
        entry: dict[str, Any] = {"name": col.name}
        if col.unit:
            entry["unit"] = col.unit
        entry["datatype"] = _ecsv_type(col)
        datatype.append(entry)
    meta = {
        "delimiter": ",",
        "datatype": datatype,
        "meta": {
            "sedscape_export": plain(provenance),
            "sedscape_csv": {"text_escape": TEXT_ESCAPE, "escaped": "text beginning with = + - @ tab CR or '"},
        },
        "schema": "astropy-2.0",
    }
    body = yaml.safe_dump(meta, sort_keys=False, default_flow_style=None, width=10_000, allow_unicode=True)
    lines = [f"# %ECSV {ECSV_VERSION}", "# ---", *(f"# {line}" for line in body.splitlines())]
    return "\n".join(lines) + "\n"


def escape_text(arr: pa.Array) -> pa.Array:
    """Prefix ``'`` to text a spreadsheet would take for a formula (and to text starting with ``'``)."""
    hit = pc.match_substring_regex(arr, _ESCAPE_PATTERN)
    if not pc.any(hit).as_py():
        return arr
    return pc.if_else(hit, pc.binary_join_element_wise(TEXT_ESCAPE, arr, ""), arr)


def unescape_text(values: Any) -> Any:
    """Undo :func:`escape_text` on a pandas string Series (every value beginning with ``'`` was escaped)."""
    return values.where(~values.str.startswith(TEXT_ESCAPE, na=False), values.str.slice(1))


def _arrow_column(values: Any, col: ColumnPlan) -> pa.Array:
    if col.kind == "text":
        cat = getattr(values, "categories", None)
        if cat is not None:  # escape each category once, then expand the codes
            cats = escape_text(pa.array([str(c) for c in cat], type=pa.string()))
            codes = np.asarray(values.codes)
            return cats.take(pa.array(codes, mask=codes < 0)) if len(cats) else pa.nulls(len(codes), pa.string())
        return escape_text(pa.array(text_values(values), type=pa.string(), from_pandas=True))
    mask = null_mask(values, col.kind) if col.nullable else None
    if col.kind == "bool":  # astropy's ECSV reader takes True/False, not Arrow's true/false
        words = pa.array(["False", "True"], type=pa.string())
        return words.take(pa.array(numeric_values(values, col).astype(np.int8), mask=mask))
    if col.kind == "float":
        return pa.array(numeric_values(values, col), mask=mask)  # NaN -> empty cell, as a missing value
    return pa.array(numeric_values(values, col), mask=mask if mask is not None and mask.any() else None)


def _csv_bytes(plan: ExportPlan, start: int, rows: int, header: bool) -> pa.Buffer:
    import pyarrow.csv as pa_csv

    chunk = plan.chunk(start, rows)
    arrays = [_arrow_column(chunk[col.name].array, col) for col in plan.columns]
    table = pa.Table.from_arrays(arrays, names=[c.name for c in plan.columns])
    buf = pa.BufferOutputStream()
    pa_csv.write_csv(table, buf, pa_csv.WriteOptions(include_header=header, quoting_style="needed"))
    return buf.getvalue()


def write(plan: ExportPlan, fh: IO[bytes], provenance: dict[str, Any]) -> None:
    """Stream the plan's rows to ``fh`` as ECSV.

    Formatting numbers as text is the slow part, and Arrow does it without the GIL: pieces of at most
    :data:`CSV_PIECE_ROWS` rows are formatted on one worker per core (at most 4) and written in order
    as they finish. Memory: at most ``workers + 1`` pieces as a DataFrame, Arrow arrays and CSV text
    (about 4 x piece rows x row width as text).
    """
    fh.write(header(plan, provenance).encode("utf-8"))
    workers = max(1, min(os.cpu_count() or 1, 4))
    rows = min(plan.chunk_rows, CSV_PIECE_ROWS)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sedscape-csv") as pool:
        pending: deque = deque()
        try:
            for k, start in enumerate(plan.starts(rows)):
                plan.check_cancel()
                pending.append((start, pool.submit(_csv_bytes, plan, start, rows, k == 0)))
                if len(pending) > workers:
                    done, future = pending.popleft()
                    fh.write(future.result())
                    plan.report(done + rows)
            while pending:
                plan.check_cancel()
                done, future = pending.popleft()
                fh.write(future.result())
                plan.report(done + rows)
        finally:
            for _, future in pending:
                future.cancel()
