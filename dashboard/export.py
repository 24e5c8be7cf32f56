"""Export selected stars as ECSV: CSV rows under a ``#``-prefixed YAML header with column types and provenance.

ECSV (Enhanced Character Separated Values, astropy APE 6) is read by TOPCAT/STIL and
``astropy.table.Table.read(format="ascii.ecsv")`` with its metadata, and by pandas with
``pd.read_csv(path, comment="#")`` (or :func:`read_export`, which also returns the provenance).
No Panel import here: exports are made and tested without a UI.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

ECSV_VERSION = "1.0"


def _ecsv_type(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return str(np.dtype(dtype.numpy_dtype if hasattr(dtype, "numpy_dtype") else dtype))
    if pd.api.types.is_float_dtype(dtype):
        return str(np.dtype(dtype.numpy_dtype if hasattr(dtype, "numpy_dtype") else dtype))
    return "string"


def _plain(obj: Any) -> Any:
    """Provenance as plain YAML-safe types (numpy scalars and arrays, paths become Python values)."""

    def default(o: Any) -> Any:
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        return str(o)

    return json.loads(json.dumps(obj, default=default))


def to_ecsv(rows: pd.DataFrame, provenance: dict[str, Any]) -> str:
    """``rows`` as ECSV text; ``provenance`` goes into the header's ``meta`` under ``sedscape_export``.

    String columns are always quoted so that values containing ``#`` or ``,`` survive readers that
    strip comments; floats are written with full round-trip precision.
    """
    rows = rows.reset_index(drop=True)
    out = rows.copy()
    types = {}
    for col in rows.columns:
        types[col] = _ecsv_type(rows[col])
        if types[col] == "string":
            out[col] = rows[col].astype("string")
    header = {
        "delimiter": ",",
        "datatype": [{"name": str(c), "datatype": t} for c, t in types.items()],
        "meta": {"sedscape_export": _plain(provenance)},
        "schema": "astropy-2.0",
    }
    body = yaml.safe_dump(header, sort_keys=False, default_flow_style=None, width=10_000)
    lines = [f"# %ECSV {ECSV_VERSION}", "# ---", *(f"# {line}" for line in body.splitlines())]
    buf = io.StringIO()
    buf.write("\n".join(lines) + "\n")
    out.to_csv(buf, index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n", na_rep="")
    return buf.getvalue()


def write_export(rows: pd.DataFrame, provenance: dict[str, Any], path: str | Path, *, overwrite: bool = False) -> Path:
    """Write :func:`to_ecsv` to ``path``; refuses to replace an existing file unless asked."""
    from core import OutputExistsError

    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass overwrite=True to replace it")
    path.write_text(to_ecsv(rows, provenance), encoding="utf-8")
    return path


def read_export(source: str | Path | io.StringIO) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read an export back: the table with its recorded dtypes, and the provenance dict."""
    text = source.getvalue() if isinstance(source, io.StringIO) else Path(source).read_text(encoding="utf-8")
    header = [line[2:] if line.startswith("# ") else line[1:] for line in text.splitlines() if line.startswith("#")]
    if not header or not header[0].startswith("%ECSV"):
        raise ValueError("not an ECSV export: the first line should be '# %ECSV 1.0'")
    meta = yaml.safe_load("\n".join(header[2:]))
    dtypes = {d["name"]: d["datatype"] for d in meta.get("datatype", [])}
    df = pd.read_csv(io.StringIO(text), comment="#", keep_default_na=False, na_values=[""])
    for col, t in dtypes.items():
        if t == "string":
            df[col] = df[col].astype("string")
        elif t == "bool":
            df[col] = df[col].astype(bool)
        else:
            df[col] = df[col].astype(t)
    return df, meta.get("meta", {}).get("sedscape_export", {})
