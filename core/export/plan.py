"""What an export writes: the columns in order, each one's kind (float, int, bool, text), nullability,
unit and text width, and the rows, taken from the catalog a chunk at a time.

The catalog is a mapping of full-length columns (a DataFrame, or the dashboard's loaded columns);
the selection is an array of row indices. Rows are never copied all at once: each writer asks for
:meth:`ExportPlan.chunks` and formats one chunk before taking the next.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.bands import BandSet
from core.errors import ExportCancelled

# Units and UCDs that TOPCAT and Aladin use to recognise positions and magnitudes.
_UNITS = {"ra": "deg", "dec": "deg", "l": "deg", "b": "deg", "parallax": "mas", "parallax_error": "mas",
          "dist_kpc": "kpc", "ebv": "mag", "abs_g": "mag", "max_abs_res": "mag"}  # fmt: skip
_UCDS = {"obj_id": "meta.id;meta.main", "ra": "pos.eq.ra;meta.main", "dec": "pos.eq.dec;meta.main",
         "l": "pos.galactic.lon", "b": "pos.galactic.lat"}  # fmt: skip


@dataclass(frozen=True)
class ColumnPlan:
    """One output column. ``kind`` is ``float``, ``int``, ``bool`` or ``text``; ``dtype`` the numpy type of
    its values (floats and ints); ``width`` the longest value in UTF-8 bytes and ``ascii`` whether every
    value is ASCII (text only, measured on the selected rows when a writer needs fixed widths)."""

    name: str
    kind: str
    dtype: np.dtype
    nullable: bool
    unit: str | None = None
    ucd: str | None = None
    width: int = 0
    ascii: bool = True


@dataclass
class ExportPlan:
    """The columns and rows of one export, and how to report progress and notice a cancel."""

    source: Mapping[str, Any]  # name -> full-length column (pandas Series or array)
    index: np.ndarray  # selected rows of the source, in output order
    columns: list[ColumnPlan]
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)  # name -> values aligned with ``index``
    chunk_rows: int = 100_000
    progress: Callable[[int], None] | None = None  # called with the rows written so far
    cancel: threading.Event | None = None

    @property
    def n(self) -> int:
        return len(self.index)

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise ExportCancelled("export cancelled")

    def starts(self, rows: int | None = None) -> range:
        """First rows of the chunks of ``rows`` (default ``chunk_rows``); one empty chunk for no selection."""
        return range(0, max(self.n, 1), rows or self.chunk_rows)

    def chunk(self, start: int, rows: int | None = None) -> pd.DataFrame:
        """The ``rows`` (default ``chunk_rows``) selected rows from ``start``, with every planned column."""
        stop = start + (rows or self.chunk_rows)
        idx = self.index[start:stop]
        data = {}
        for col in self.columns:
            if col.name in self.extra:
                data[col.name] = np.asarray(self.extra[col.name])[start:stop]
            else:
                data[col.name] = take_values(self.source[col.name], idx)
        return pd.DataFrame(data, copy=False)

    def report(self, rows_done: int) -> None:
        if self.progress is not None:
            self.progress(min(rows_done, self.n))

    def chunks(self) -> Iterator[pd.DataFrame]:
        """The selected rows a chunk at a time; checks for a cancel before each chunk and reports progress
        once the caller has written it (asked for the next one)."""
        for start in self.starts():
            self.check_cancel()
            yield self.chunk(start)
            self.report(start + self.chunk_rows)


def take_values(column: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of a column (Series or array) as an array, without building an index."""
    if isinstance(column, pd.Series):
        return column.array.take(idx)
    if hasattr(column, "take_rows"):  # a column read from disk as rows are asked for (a partitioned catalog)
        return column.take_rows(idx)
    return np.asarray(column)[idx]


def column_kind(values: Any) -> tuple[str, np.dtype, bool]:
    """``(kind, numpy dtype, nullable)`` of a column, from its dtype alone (no pass over the values)."""
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, pd.CategoricalDtype):
        return "text", np.dtype(object), True
    if pd.api.types.is_bool_dtype(dtype):
        return "bool", np.dtype(bool), isinstance(dtype, pd.api.extensions.ExtensionDtype)
    if pd.api.types.is_integer_dtype(dtype):
        np_dtype = np.dtype(getattr(dtype, "numpy_dtype", dtype))
        return "int", np_dtype, isinstance(dtype, pd.api.extensions.ExtensionDtype)
    if pd.api.types.is_float_dtype(dtype):
        np_dtype = np.dtype(getattr(dtype, "numpy_dtype", dtype))
        return "float", np.dtype(np.float32) if np_dtype.itemsize < 4 else np_dtype, True
    return "text", np.dtype(object), True


def plan_columns(
    source: Mapping[str, Any], names: Sequence[str], bands: BandSet | None, extra: Mapping[str, np.ndarray] | None = None
) -> list[ColumnPlan]:
    """A :class:`ColumnPlan` per name (no text widths yet: see :func:`measure_text`)."""
    extra = extra or {}
    mags = set()
    if bands is not None:
        for b in bands.names:
            mags |= {b, f"{b}_err", f"{b}_rec", f"{b}_res"}
    plans = []
    for name in names:
        values = extra[name] if name in extra else source[name]
        kind, dtype, nullable = column_kind(values)
        unit = _UNITS.get(name, "mag" if name in mags else None)
        plans.append(ColumnPlan(name, kind, dtype, nullable, unit, _UCDS.get(name)))
    return plans


def measure_text(plan: ExportPlan) -> None:
    """Fill in the width (UTF-8 bytes) and ASCII-ness of each text column over the selected rows,
    a chunk at a time (FITS and VOTable write fixed-width text, declared before the first row)."""
    for k, col in enumerate(plan.columns):
        if col.kind != "text":
            continue
        in_extra = col.name in plan.extra  # extra columns are aligned with the selection, not the catalog
        values = plan.extra[col.name] if in_extra else plan.source[col.name]
        width, ascii_only = 0, True
        if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
            cats = [str(c) for c in values.cat.categories]  # at most these: no pass over the rows
            encoded = [c.encode("utf-8") for c in cats]
            width = max((len(e) for e in encoded), default=0)
            ascii_only = all(len(e) == len(c) for e, c in zip(encoded, cats, strict=True))
        else:
            for start in range(0, plan.n, plan.chunk_rows):
                plan.check_cancel()
                stop = start + plan.chunk_rows
                chunk = text_values(np.asarray(values)[start:stop] if in_extra else take_values(values, plan.index[start:stop]))
                present = chunk[pd.notna(chunk)]
                if not present.size:
                    continue
                s = pd.Series(present, dtype=object)
                n_bytes = s.str.encode("utf-8").str.len()
                width = max(width, int(n_bytes.max()))
                ascii_only = ascii_only and bool((n_bytes == s.str.len()).all())
        plan.columns[k] = ColumnPlan(col.name, col.kind, col.dtype, col.nullable, col.unit, col.ucd, width, ascii_only)


def text_values(values: Any) -> np.ndarray:
    """An object array of ``str`` with ``None`` for missing values (categories, pandas strings, objects)."""
    arr = pd.array(values) if not isinstance(values, pd.api.extensions.ExtensionArray) else values
    out = np.asarray(arr.astype(object), dtype=object)
    missing = pd.isna(out)
    if missing.any():
        out = out.copy()
        out[missing] = None
    if pd.api.types.infer_dtype(out, skipna=True) not in ("string", "empty"):  # numbers or bytes: their text
        out = np.array([None if v is None else (v.decode() if isinstance(v, bytes) else str(v)) for v in out],
                       dtype=object)  # fmt: skip
    return out


def fixed_width_bytes(values: Any, width: int, encoding: str = "utf-8") -> tuple[np.ndarray, np.ndarray]:
    """Text of a chunk as a fixed-width bytes array (``S<width>``, missing values empty) and the missing mask.

    Categories are encoded once and expanded by their codes; other text value by value (a Python loop
    is far quicker here than numpy's ``char.encode``, which converts to UCS-4 first)."""
    cats = getattr(values, "categories", None)
    if cats is not None:
        codes = np.asarray(values.codes)
        table = np.array([str(c).encode(encoding) for c in cats] + [b""], dtype=f"S{max(width, 1)}")
        return table[np.where(codes < 0, len(cats), codes)], codes < 0
    text = text_values(values)
    missing = np.fromiter((v is None for v in text), dtype=bool, count=len(text))
    encoded = [b"" if v is None else v.encode(encoding) for v in text]
    return np.array(encoded, dtype=f"S{max(width, 1)}"), missing


def null_mask(values: Any, kind: str) -> np.ndarray:
    """True where a value is missing (NaN for floats, NA for pandas nullable types, None for text)."""
    if kind == "float":
        return np.isnan(np.asarray(values, dtype=np.float64))
    return np.asarray(pd.isna(values), dtype=bool)


def numeric_values(values: Any, col: ColumnPlan) -> np.ndarray:
    """Numbers (or booleans) of a chunk as ``col.dtype``; missing ints and booleans become 0 / False."""
    if isinstance(values, (pd.api.extensions.ExtensionArray, pd.Series)):
        fill = np.nan if col.kind == "float" else (False if col.kind == "bool" else 0)
        return np.asarray(pd.array(values).to_numpy(dtype=col.dtype, na_value=fill))
    return np.asarray(values, dtype=col.dtype)
