"""Read an export back (any format): its rows with their types, and its provenance.

Used by ``sedscape export --selection`` (an earlier export's geometry), ``sedscape samp send`` and the
tests. CSV is read with Arrow so that a quoted empty string stays an empty string while an empty
cell is missing, and escaped text (see :mod:`core.export.ecsv`) gets its value back.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import CatalogError

_ARROW_TYPES = {"bool": "bool", "string": "string", "float16": "float16", "float32": "float32",
                "float64": "float64", "int8": "int8", "int16": "int16", "int32": "int32", "int64": "int64",
                "uint8": "uint8", "uint16": "uint16", "uint32": "uint32", "uint64": "uint64"}  # fmt: skip


def sniff_format(path: str | Path) -> str:
    """``csv``, ``parquet``, ``fits`` or ``votable`` from a file's first bytes (not its name)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"SIMPLE  ="):
        return "fits"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<?xml") or text.startswith(b"<VOTABLE"):
        return "votable"
    return "csv"


def _ecsv_header(path: Path) -> tuple[dict[str, Any], int]:
    lines = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            lines.append(line[2:] if line.startswith("# ") else line[1:])
    if not lines or not lines[0].startswith("%ECSV"):
        raise CatalogError(f"{path}: not an ECSV export: the first line should be '# %ECSV 1.0'")
    import yaml

    return yaml.safe_load("".join(lines[2:])) or {}, len(lines)


def _read_csv(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    from core.export.ecsv import unescape_text

    header, n_lines = _ecsv_header(path)
    types = {d["name"]: d.get("datatype", "string") for d in header.get("datatype", [])}
    table = pa_csv.read_csv(
        path,
        read_options=pa_csv.ReadOptions(skip_rows=n_lines),
        convert_options=pa_csv.ConvertOptions(
            column_types={k: pa.type_for_alias(_ARROW_TYPES.get(v, "string")) for k, v in types.items()},
            strings_can_be_null=True, quoted_strings_can_be_null=False,
            true_values=["True"], false_values=["False"],
        ),
    )  # fmt: skip
    df = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    meta = header.get("meta", {}) or {}
    escape = (meta.get("sedscape_csv") or {}).get("text_escape")
    for name, t in types.items():
        if t == "string" and escape:
            df[name] = unescape_text(df[name])
        elif df[name].isna().any() and t.startswith(("int", "uint", "bool")):
            df[name] = df[name].astype({"bool": "boolean"}.get(t, t.capitalize().replace("Uint", "UInt")))
    return df, meta.get("sedscape_export", {})


def _read_fits(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    from astropy.io import fits
    from astropy.table import Table

    with fits.open(path, memmap=False) as hdul:
        hdu = next((h for h in hdul[1:] if isinstance(h, fits.BinTableHDU)), None)
        if hdu is None:
            raise CatalogError(f"{path}: no binary table in this FITS file")
        prov = json.loads(hdu.header.get("SEDSCAPE", "{}"))
        with warnings.catch_warnings():  # astropy reads a missing boolean (a zero byte) as False, and says so
            warnings.filterwarnings("ignore", message=".*contains NULL .*undefined.* values")
            table = Table.read(hdu, character_as_bytes=False)
    table.meta.clear()
    return _astropy_to_pandas(table), prov


def _read_votable(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    from astropy.io.votable import parse

    vot = parse(str(path))
    prov: dict[str, Any] = {}
    for resource in vot.resources:
        for info in resource.infos:
            if info.name == "sedscape_export":
                prov = json.loads(info.value)
    table = vot.get_first_table().to_table(use_names_over_ids=True)
    table.meta.clear()
    return _astropy_to_pandas(table), prov


def _astropy_to_pandas(table: Any) -> pd.DataFrame:
    out = {}
    for name in table.colnames:
        col = table[name]
        mask = getattr(col, "mask", None)
        values = col.data.data if mask is not None else col.data
        if values.dtype.kind == "S":  # FITS text: sedscape writes UTF-8
            series = pd.Series(np.char.decode(values, "utf-8"), dtype="string")
        elif values.dtype.kind == "U":
            series = pd.Series(values, dtype="string")
        else:
            series = pd.Series(values.astype(values.dtype.newbyteorder("=")))
        if mask is not None and mask.any():
            if series.dtype.kind in "iub":
                series = series.astype({"b": "boolean"}.get(series.dtype.kind, str(series.dtype).capitalize()
                                                            .replace("Uint", "UInt")))  # fmt: skip
            series = series.mask(pd.Series(mask))
        out[name] = series
    return pd.DataFrame(out)


def read_export(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rows of an export (any of its formats) and its provenance dict."""
    from core.catalog import read_parquet

    path = Path(path)
    fmt = sniff_format(path)
    if fmt == "parquet":
        df = read_parquet(path)
        prov = df.attrs.get("sedscape", {}).get("export", {})
        df.attrs = {}
        return df, prov
    return {"csv": _read_csv, "fits": _read_fits, "votable": _read_votable}[fmt](path)


def read_provenance(path: str | Path) -> dict[str, Any]:
    """The provenance of an export (read from its header or metadata, not its rows where the format allows)."""
    path = Path(path)
    fmt = sniff_format(path)
    if fmt == "csv":
        header, _ = _ecsv_header(path)
        return (header.get("meta", {}) or {}).get("sedscape_export", {})
    if fmt == "parquet":
        from core.catalog import read_metadata

        return read_metadata(path).get("export", {})
    if fmt == "fits":
        from astropy.io import fits

        with fits.open(path) as hdul:
            return json.loads(hdul[1].header.get("SEDSCAPE", "{}"))
    return read_export(path)[1]
