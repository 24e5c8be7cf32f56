"""A scored HATS catalog in the dashboard: 30-100 million stars without the catalog in memory.

:class:`PartitionedSky` is the :class:`~dashboard.sky.SkyData` of a HATS directory. It holds only
the float32 columns the views draw, each read partition by partition the first time a view, a
colour-by or a lasso needs it (:class:`FrameColumns`: 4 bytes a star a column, ~1.1 GB for the
first page at 30M stars), plus the category codes. Datashader aggregates those columns; a lasso or
preset is decided partition by partition (:func:`core.selection_mask` on each partition's slice);
table pages, SEDs and tooltips read only the rows they show (``core.PartitionedScored.rows``);
an export takes its rows a chunk at a time from the partitions (:class:`PartitionColumn`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import DEFAULT_THRESHOLD, PartitionedScored, band_set_of, selection_mask, view_coordinate
from dashboard.sky import NO_CATEGORY, SkyData, page_columns, plotting_frame, robust_range

log = logging.getLogger(__name__)

# Axis and colour ranges come from an evenly strided sample of at most this many stars (quantiles of
# 30M values would cost seconds per column on the first page for no visible difference).
RANGE_SAMPLE = 2_000_000
# Stars that can get tooltips: from HOVER_PARTITIONS random partitions, the anomalous ones first, then a
# random sample; read once in the background after the first page.
HOVER_SAMPLE = 100_000
HOVER_PARTITIONS = 12
# Partitions read at once (Arrow decoding and the masks release the GIL; the machine has 2 cores).
PARTITION_THREADS = 2
# Catalog columns of recently shown partitions kept for the next rows asked for (table pages, SEDs).
ROW_CACHE_BYTES = 400_000_000

_POOL = ThreadPoolExecutor(max_workers=PARTITION_THREADS, thread_name_prefix="sedscape-partition")


def _each_partition(fn, n: int) -> list:
    """``fn(k)`` for every partition ``k``, on the partition threads, results in partition order."""
    return list(_POOL.map(fn, range(n)))


class FrameColumns:
    """The views' float32 columns (``dashboard.sky.plotting_frame``'s, computed the same way by
    :func:`core.view_coordinate`) of a partitioned catalog, each loaded on first use and then kept.

    Looks enough like a DataFrame for the views: ``frame[name]`` (a Series over the kept array),
    ``name in frame`` and ``frame.columns`` (every column it can provide, loaded or not).
    """

    def __init__(self, catalog: PartitionedScored, columns: Sequence[str], raw: Sequence[str]) -> None:
        self.catalog = catalog
        self.columns = pd.Index(list(columns))
        self._raw = set(raw)
        self._arrays: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __len__(self) -> int:
        return self.catalog.n_rows

    def __getitem__(self, name: str) -> pd.Series:
        return pd.Series(self.array(name), copy=False, name=name)

    def loaded(self) -> list[str]:
        return list(self._arrays)

    def array(self, name: str) -> np.ndarray:
        if name not in self._arrays:
            self.ensure([name])
        return self._arrays[name]

    def ensure(self, names: Iterable[str]) -> None:
        """Load the ``names`` not yet in memory, reading each partition once for all of them."""
        with self._lock:
            todo = [n for n in dict.fromkeys(names) if n not in self._arrays]
            if not todo:
                return
            unknown = [n for n in todo if n not in self.columns]
            if unknown:
                raise KeyError(f"no plotting column {unknown[0]!r}; columns: {', '.join(self.columns)}")
            t0 = time.perf_counter()
            raw = sorted({c for n in todo for c in self.raw_columns(n)})
            out = {n: np.empty(self.catalog.n_rows, dtype=np.float32) for n in todo}
            bands, parts, offsets = self.catalog.bands, self.catalog.parts, self.catalog.offsets

            def one(k: int) -> None:
                from core import read_partition

                df = read_partition(parts[k], raw)
                lo = offsets[k]
                for n in todo:
                    out[n][lo : lo + len(df)] = view_coordinate(df, n, bands)

            _each_partition(one, len(parts))
            self._arrays.update(out)
            log.info("read %s for %d stars from %d partitions in %.1f s", ", ".join(todo), self.catalog.n_rows,
                     len(parts), time.perf_counter() - t0)  # fmt: skip

    def raw_columns(self, name: str) -> list[str]:
        """The catalog columns :func:`core.view_coordinate` reads to compute ``name``."""
        names = self.catalog.bands.names
        base, suffix = (name[: -len("_rec")], "_rec") if name.endswith("_rec") else (name, "")
        if base == "abs_g":
            first = ["abs_g"] if "abs_g" in self._raw else [c for c in ("parallax", "parallax_error") if c in self._raw]
            return first + [names[0]] + ([f"{names[0]}_rec"] if suffix else [])
        for a in names:
            for b in names:
                if a != b and base == f"{a}_{b}":
                    return [a + suffix, b + suffix]
        return [name]


@dataclass(eq=False)
class PartitionedSky(SkyData):
    """:class:`SkyData` of a HATS catalog: ``df`` holds the page columns' schema only (no rows), ``frame``
    is a :class:`FrameColumns`; rows are read from the partitions when shown."""

    catalog: PartitionedScored | None = field(default=None, kw_only=True)

    @classmethod
    def open(cls, path: Path, model_dir: Path | None = None) -> PartitionedSky:
        catalog = PartitionedScored(path)
        names = catalog.columns
        probe = pd.DataFrame()
        probe.attrs["sedscape"] = catalog.meta
        bands = band_set_of(probe)
        schema = _schema_frame(catalog, page_columns(names, bands))
        return cls(df=schema, bands=bands, catalog_path=path, model_dir=model_dir, meta=dict(catalog.meta),
                   column_order=tuple(names), catalog=catalog)  # fmt: skip

    def _plotting_frame(self) -> FrameColumns:
        head = self.df.head(0)
        columns = list(plotting_frame(head, self.bands).columns)
        raw = set(self.catalog.columns)
        if "abs_g" not in columns and ({"abs_g", "parallax"} & raw):
            columns += ["abs_g"] + (["abs_g_rec"] if f"{self.bands.names[0]}_rec" in raw else [])
        return FrameColumns(self.catalog, columns, raw)

    @property
    def n(self) -> int:
        return self.catalog.n_rows

    @property
    def lazy_rows(self) -> bool:
        return True

    @property
    def has_gaia(self) -> bool:
        return "abs_g" in self.frame and bool(np.isfinite(self._sample(self.frame.array("abs_g"))).any())

    def _sample(self, values: np.ndarray) -> np.ndarray:
        step = max(1, len(values) // RANGE_SAMPLE)
        return values[::step]

    def limits(self, column: str, subset: str | None = None) -> tuple[float, float] | None:
        key = (column, subset)
        if key not in self._limits:
            values = self._sample(self.frame.array(column))
            if subset is not None:
                values = values[np.isfinite(self._sample(self.frame.array(subset)))]
            self._limits[key] = robust_range(values)
        return self._limits[key]

    def colour_range(self, column: str) -> tuple[float, float] | None:
        if column not in self._colour_ranges:
            values = self._sample(self.frame.array(column)).astype(np.float64)
            self._colour_ranges[column] = robust_range(values, quantile=0.005, pad=0.0)
        return self._colour_ranges[column]

    # ----- rows, read when shown ------------------------------------------------------------------
    def take(self, index: np.ndarray, columns: Sequence[str]) -> pd.DataFrame:
        """Rows ``index`` (in that order) of ``columns``, read from their partitions (on the partition
        threads; recently read partitions' columns are kept, so the SEDs reuse what the table page read)."""
        import pyarrow as pa

        index, columns = np.asarray(index, dtype=np.int64), list(columns)
        if not index.size:
            return self.df[columns].iloc[:0].reset_index(drop=True)
        which = np.searchsorted(self.catalog.offsets, index, side="right") - 1
        ks = np.unique(which)

        def one(k: int) -> pd.DataFrame:
            at = np.flatnonzero(which == k)
            table = pa.table(self._partition_columns(int(k), columns))
            return table.take(index[at] - self.catalog.offsets[k]).to_pandas()

        frames = list(_POOL.map(one, ks))
        out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        order = np.concatenate([np.flatnonzero(which == k) for k in ks])
        pos = np.empty(len(index), dtype=np.int64)
        pos[order] = np.arange(len(index))
        return out.iloc[pos].reset_index(drop=True)

    def _partition_columns(self, k: int, columns: list[str]) -> dict[str, Any]:
        """Arrow columns of partition ``k`` (read if not kept; the least recently used dropped beyond
        ROW_CACHE_BYTES)."""
        import pyarrow.parquet as pq

        with self._row_cache_lock:
            cache = self.__dict__.setdefault("_row_cache", OrderedDict())
            have = {c: cache[(k, c)] for c in columns if (k, c) in cache}
            for c in have:
                cache.move_to_end((k, c))
        missing = [c for c in columns if c not in have]
        if missing:
            table = pq.read_table(self.catalog.parts[k].path, columns=missing)
            with self._row_cache_lock:
                for c in missing:
                    have[c] = cache[(k, c)] = table.column(c)
                size = sum(v.nbytes for v in cache.values())
                while size > ROW_CACHE_BYTES and len(cache) > len(columns):
                    _, dropped = cache.popitem(last=False)
                    size -= dropped.nbytes
        return {c: have[c] for c in columns}

    @cached_property
    def _row_cache_lock(self) -> threading.Lock:
        return threading.Lock()

    def rows_at(self, index: np.ndarray) -> pd.DataFrame:
        return self.take(index, list(self.df.columns))

    def start_hover_load(self, columns: Sequence[str]) -> None:
        """Read the tooltip columns of the stars that can get tooltips, in the background (idempotent)."""
        with self._load_lock:
            if getattr(self, "_hover_thread", None) is not None:
                return
            self._hover_thread = threading.Thread(target=self._load_hover, args=(list(columns),), daemon=True,
                                                  name="sedscape-hover-rows")  # fmt: skip
        self._hover_thread.start()

    def _load_hover(self, columns: list[str]) -> None:
        t0 = time.perf_counter()
        rng = np.random.default_rng(0)
        parts, offsets = self.catalog.parts, self.catalog.offsets
        # Partitions are patches of sky, so a few random ones hold stars from all over the latent space
        # and every diagram; reading a few keeps this background read from slowing the first lasso.
        chosen = np.sort(rng.permutation(len(parts))[:HOVER_PARTITIONS])
        rows = np.concatenate([np.arange(offsets[k], offsets[k] + parts[k].n_rows) for k in chosen])
        res = self.frame.array("max_abs_res")[rows]
        flagged = rng.permutation(rows[res > DEFAULT_THRESHOLD])[:HOVER_SAMPLE]
        others = rng.permutation(rows[res <= DEFAULT_THRESHOLD])[: HOVER_SAMPLE - len(flagged)]
        order = np.concatenate([flagged, others]).astype(np.int64)
        rows = self.catalog.rows(np.sort(order), columns)
        position = pd.Series(np.arange(len(rows)), index=rows.index.to_numpy())
        self._hover_rows = rows.reset_index(drop=True)
        self._hover_position = position
        self._hover_ready = order
        log.info("read tooltips of %d stars in %.1f s", len(order), time.perf_counter() - t0)

    @property
    def hover_order(self) -> np.ndarray:
        """The stars that can get tooltips (anomalous first, then random); empty until they are read."""
        return getattr(self, "_hover_ready", np.zeros(0, dtype=np.int64))

    def hover_rows(self, index: np.ndarray, columns: Sequence[str]) -> pd.DataFrame:
        rows = getattr(self, "_hover_rows", None)
        if rows is None or not len(index):
            return self.df[list(columns)].iloc[:0].reset_index(drop=True)
        at = self._hover_position.loc[np.asarray(index, dtype=np.int64)].to_numpy()
        return rows[list(columns)].iloc[at].reset_index(drop=True)

    # ----- selections, decided partition by partition ---------------------------------------------
    def mask(self, geometry: dict[str, Any] | None, coordinates: Any = None) -> np.ndarray:
        """:func:`core.selection_mask` of every partition (its slice of the view columns, and the
        catalog columns a preset needs), concatenated. (``coordinates``: always this catalog's own view
        columns; a partitioned catalog shows its default model only.)"""
        if geometry is None:
            return np.zeros(self.n, dtype=bool)
        kind = geometry.get("kind")
        coords = [geometry["x"], geometry["y"]] if kind in ("lasso", "box") else []
        raw: list[str] = []
        if kind == "obj_ids":
            raw = ["obj_id"]
        elif kind == "preset":
            preset = geometry.get("preset")
            coords = ["max_abs_res"] if preset == "anomalies" else []
            raw = [geometry["column"]] if preset == "simbad" else ["ra", "dec"] if preset == "field" else []
        coords = [c for c in coords if c in self.frame]
        self.frame.ensure(coords)
        parts, offsets, bands = self.catalog.parts, self.catalog.offsets, self.bands

        def one(k: int) -> np.ndarray:
            from core import read_partition

            lo, hi = offsets[k], offsets[k] + parts[k].n_rows
            xy = pd.DataFrame({c: self.frame.array(c)[lo:hi] for c in coords}, copy=False)
            df = read_partition(parts[k], raw) if raw else pd.DataFrame(index=pd.RangeIndex(hi - lo))
            return selection_mask(df, geometry, bands, coordinates=xy)

        return np.concatenate(_each_partition(one, len(parts)))

    def isin(self, column: str, values: np.ndarray) -> np.ndarray:
        from core import read_partition

        parts = self.catalog.parts
        return np.concatenate(_each_partition(
            lambda k: read_partition(parts[k], [column])[column].isin(values).to_numpy(), len(parts)))  # fmt: skip

    def labels(self, column: str) -> tuple[np.ndarray, list[str]]:
        return _category_codes(self.catalog, column)

    @cached_property
    def category_codes(self) -> tuple[str | None, np.ndarray, list[str]]:
        col = next((c for c in ("simbad_category", "simbad_otype") if c in self.df), None)
        if col is None:
            return None, np.zeros(self.n, dtype=np.int32), []
        codes, names = _category_codes(self.catalog, col)
        return col, codes, names

    # ----- exports, streamed from the partitions --------------------------------------------------
    def start_export_load(self) -> None:  # nothing to preload: exports read the partitions
        return None

    def load_columns(self, names: Iterable[str]) -> None:
        self.frame.ensure([n for n in names if n in self.frame])

    def column_source(self) -> dict[str, PartitionColumn]:
        return {c: PartitionColumn(self.catalog, c) for c in self.column_order}


def _schema_frame(catalog: PartitionedScored, columns: list[str]) -> pd.DataFrame:
    """An empty frame with the catalog's pandas dtypes for ``columns`` (one tiny batch read)."""
    import pyarrow.parquet as pq

    batch = next(pq.ParquetFile(catalog.parts[0].path).iter_batches(batch_size=1, columns=columns))
    return batch.to_pandas().iloc[:0][columns]


def _category_codes(catalog: PartitionedScored, column: str) -> tuple[np.ndarray, list[str]]:
    """Per-star codes of a text column over every partition, into its sorted present values
    (:data:`NO_CATEGORY` for missing ones), as ``SkyData`` computes them in memory."""
    from core import read_partition

    parts = catalog.parts

    def one(k: int) -> tuple[np.ndarray, list[str], np.ndarray]:
        s = read_partition(parts[k], [column])[column]
        if not isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype("string").astype("category")
        # Codes of the partition's dictionary, missing values last (as NO_CATEGORY): no string per star.
        cats = [str(c) for c in s.cat.categories] + [NO_CATEGORY]
        codes = s.cat.codes.to_numpy().astype(np.int32)
        codes[codes < 0] = len(cats) - 1
        present = np.flatnonzero(np.bincount(codes, minlength=len(cats)))
        return codes, cats, present

    results = _each_partition(one, len(parts))
    names = sorted({cats[i] for _, cats, present in results for i in present})
    lookup = {name: i for i, name in enumerate(names)}
    codes = np.empty(catalog.n_rows, dtype=np.int32)
    for k, (local, cats, _) in enumerate(results):
        table = np.array([lookup.get(c, -1) for c in cats], dtype=np.int32)
        codes[catalog.offsets[k] : catalog.offsets[k] + len(local)] = table[local] if len(cats) else local
    return codes, names


class PartitionColumn:
    """One catalog column of a HATS catalog as an export source: full length, rows taken a chunk at a time
    from the partitions they lie in (the last partition read is kept, since chunks come in row order)."""

    def __init__(self, catalog: PartitionedScored, name: str) -> None:
        import pyarrow as pa

        self.catalog, self.name = catalog, name
        field_type = _arrow_schema(catalog).field(name).type
        if pa.types.is_dictionary(field_type) or pa.types.is_string(field_type) or pa.types.is_large_string(field_type):
            self.dtype = np.dtype(object)
        else:
            self.dtype = np.dtype(field_type.to_pandas_dtype())
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return self.catalog.n_rows

    def take_rows(self, index: np.ndarray) -> np.ndarray:
        import pyarrow.parquet as pq

        index = np.asarray(index, dtype=np.int64)
        out = np.empty(len(index), dtype=self.dtype)
        which = np.searchsorted(self.catalog.offsets, index, side="right") - 1
        for k in np.unique(which):
            at = np.flatnonzero(which == k)
            if k not in self._cache:
                s = pq.read_table(self.catalog.parts[k].path, columns=[self.name]).column(0).to_pandas()
                self._cache[k] = s.to_numpy(dtype=object, na_value=None) if self.dtype == object else s.to_numpy(self.dtype)
                while len(self._cache) > 2:
                    self._cache.popitem(last=False)
            out[at] = self._cache[k][index[at] - self.catalog.offsets[k]]
        return out


def _arrow_schema(catalog: PartitionedScored):
    import pyarrow.parquet as pq

    return pq.read_schema(catalog.parts[0].path)
