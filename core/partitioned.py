"""HATS catalogs: HEALPix-partitioned Parquet, read and written with the ``hats`` and ``lsdb`` libraries.

A sedscape catalog on disk is either one Parquet file (:mod:`core.catalog`) or a HATS catalog
directory (``hats.properties``, ``partition_info.csv``, ``dataset/Norder=k/Dir=d/Npix=p.parquet``),
the format LSDB opens with ``lsdb.open_catalog``. sedscape's provenance (band set, funnel, mock
config, scoring) is JSON in :data:`SIDECAR_NAME` beside ``hats.properties``; HATS readers ignore it.

:class:`HatsWriter` builds a catalog from a stream of DataFrames with bounded memory: each chunk is
split by HEALPix pixel into shard files as it arrives, and at the end every output partition is
gathered from its shards, sorted by the HATS spatial index and written by LSDB's own writer
(``Catalog.write_catalog``), which also writes the skymap, ``_metadata`` and the properties.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import CatalogError, ConfigError, OutputExistsError

log = logging.getLogger(__name__)

SIDECAR_NAME = "sedscape.json"
FORMATS: tuple[str, ...] = ("auto", "parquet", "hats")
DEFAULT_PARTITION_ROWS = 500_000
# 0.013 deg^2 cells: the finest a partition can be split to. Order 8 (0.21 deg^2) would already hold more
# than a partition's worth of rows in the core of M3 for a billion-star mock sky.
HISTOGRAM_ORDER = 10
SPATIAL_INDEX = "_healpix_29"


def is_hats(path: str | Path) -> bool:
    """True if ``path`` is a HATS catalog (or collection) directory."""
    p = Path(path)
    return p.is_dir() and ((p / "hats.properties").exists() or (p / "collection.properties").exists())


def output_format(path: str | Path, fmt: str = "auto") -> str:
    """``"hats"`` or ``"parquet"`` for an output ``path``: ``fmt`` if given, else what the path says.

    ``auto`` means HATS when the path is an existing HATS catalog (or an interrupted one), an empty
    directory, or ends in ``/``; otherwise one Parquet file, as sedscape has always written. Any other
    existing directory is then refused as a file name, so a user's folder is never turned into a catalog.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt != "auto":
        return fmt
    p = Path(path)
    if str(path).endswith("/") or is_hats(p) or _is_partial_hats(p):
        return "hats"
    return "hats" if p.is_dir() and not any(p.iterdir()) else "parquet"


def check_output(path: str | Path, overwrite: bool) -> None:
    """Refuse to replace an existing catalog unless ``overwrite``; refuse a non-catalog directory always."""
    p = Path(path)
    if not p.exists():
        return
    if not overwrite:
        raise OutputExistsError(f"{p} exists; pass --overwrite to replace it")
    if p.is_dir() and any(p.iterdir()) and not is_hats(p) and not _is_partial_hats(p):
        raise OutputExistsError(
            f"{p} is a directory that is not a HATS catalog; refusing to replace it even with --overwrite"
        )


def _is_partial_hats(p: Path) -> bool:
    """An interrupted LSDB write: partitions and progress markers but no properties yet."""
    return (p / "dataset").is_dir() or (p / "done").is_dir()


def remove_catalog(path: str | Path) -> None:
    p = Path(path)
    if p.is_dir():
        shutil.rmtree(p)
    elif p.exists():
        p.unlink()


# -- metadata -----------------------------------------------------------------------------------------


def write_sidecar(path: str | Path, meta: dict[str, Any]) -> Path:
    """Write sedscape's metadata JSON beside ``hats.properties`` (atomically)."""
    from core.catalog import json_default

    target = Path(path) / SIDECAR_NAME
    tmp = target.with_name(f".{SIDECAR_NAME}.partial")
    tmp.write_text(json.dumps(meta, indent=1, default=json_default) + "\n")
    tmp.replace(target)
    return target


def read_sidecar(path: str | Path) -> dict[str, Any]:
    """sedscape's metadata of a HATS catalog ({} for a catalog written by another tool)."""
    target = Path(path) / SIDECAR_NAME
    if not target.exists():
        return {}
    try:
        return json.loads(target.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CatalogError(f"{target}: cannot read sedscape metadata ({exc})") from exc


def read_any_metadata(path: str | Path) -> dict[str, Any]:
    """sedscape metadata of a Parquet file or HATS catalog, without reading rows."""
    if is_hats(path):
        return read_sidecar(path)
    from core.catalog import read_metadata

    return read_metadata(path)


@dataclass(frozen=True)
class Partition:
    """One HATS partition: HEALPix order and pixel, its file and row count."""

    order: int
    pixel: int
    path: Path
    n_rows: int


def _require_hats(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise CatalogError(f"{p}: no such catalog")
    if not is_hats(p):
        raise CatalogError(f"{p}: not a HATS catalog (no hats.properties)")
    return p


def partitions(path: str | Path) -> list[Partition]:
    """The partitions of a HATS catalog in spatial-index order, with row counts from the Parquet footers."""
    import hats
    import pyarrow.parquet as pq

    p = _require_hats(path)
    cat = _main_catalog(hats.read_hats(p))
    base = Path(str(cat.catalog_base_dir))
    out = []
    for pix in cat.get_healpix_pixels():
        f = Path(str(hats.io.pixel_catalog_file(base, pix)))
        out.append(Partition(pix.order, pix.pixel, f, pq.ParquetFile(f).metadata.num_rows))
    order = np.argsort([_first_index(q.order, q.pixel) for q in out], kind="stable")
    return [out[k] for k in order]


def _first_index(order: int, pixel: int) -> int:
    return int(pixel) << (2 * (29 - int(order)))


def _main_catalog(cat: Any) -> Any:
    """The object catalog of a HATS collection (LSDB writes one: main catalog plus optional margins)."""
    return getattr(cat, "main_catalog", cat)


def column_names(path: str | Path) -> list[str]:
    """The columns of a Parquet file or HATS catalog, from the schema only (HATS spatial index left out)."""
    import pyarrow.parquet as pq

    if is_hats(path):
        return [c for c in pq.read_schema(partitions(path)[0].path).names if c != SPATIAL_INDEX]
    return list(pq.read_schema(path).names)


def n_rows(path: str | Path) -> int:
    """Rows in a Parquet file or HATS catalog, from metadata only."""
    if is_hats(path):
        import hats

        return int(_main_catalog(hats.read_hats(Path(path))).catalog_info.total_rows)
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def read_partition(part: Partition, columns: list[str] | None = None) -> pd.DataFrame:
    """One partition as a plain pandas frame (numpy dtypes where Arrow allows), spatial index dropped."""
    import pyarrow.parquet as pq

    cols = None if columns is None else [c for c in columns if c != SPATIAL_INDEX]
    table = pq.read_table(part.path, columns=cols)
    if SPATIAL_INDEX in table.column_names:
        table = table.drop_columns([SPATIAL_INDEX])
    return table.to_pandas(split_blocks=True)


def iter_partitions(
    path: str | Path, columns: list[str] | None = None
) -> Iterator[tuple[Partition, pd.DataFrame]]:
    """Each partition of a HATS catalog in turn (one in memory at a time)."""
    for part in partitions(path):
        yield part, read_partition(part, columns)


def iter_chunks(
    path: str | Path, columns: list[str] | None = None, rows: int = 1_000_000
) -> Iterator[pd.DataFrame]:
    """A Parquet file (by row batches of ``rows``) or a HATS catalog (by partition) as a stream of frames."""
    if is_hats(path):
        for _, df in iter_partitions(path, columns):
            yield df
        return
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches(batch_size=rows, columns=columns):
        yield batch.to_pandas(split_blocks=True)


def read_hats_frame(path: str | Path, columns: list[str] | None = None, rows: int | None = None) -> pd.DataFrame:
    """A whole HATS catalog in memory (for catalogs that fit): partitions concatenated in spatial order.

    ``rows`` stops after that many rows. Metadata lands in ``df.attrs['sedscape']`` as
    :func:`core.catalog.read_parquet` does.
    """
    frames, n = [], 0
    for _, df in iter_partitions(path, columns):
        frames.append(df if rows is None else df.iloc[: rows - n])
        n += len(frames[-1])
        if rows is not None and n >= rows:
            break
    if not frames:
        raise CatalogError(f"{path}: the catalog has no partitions")
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    df.attrs["sedscape"] = read_sidecar(path)
    return df


def stratified_sample(
    path: str | Path, n: int, seed: int = 41, columns: list[str] | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``n`` rows drawn from a HATS catalog, stratified by partition (sky region), and how they were drawn.

    Each partition gives rows in proportion to its size (largest remainders make the total
    exactly ``n``), drawn uniformly without replacement with a generator seeded by
    ``(seed, partition number)``; one partition is read at a time. With ``n`` >= the catalog, every
    row is taken. Rows come back in catalog order.
    """
    parts = partitions(path)
    sizes = np.array([p.n_rows for p in parts], dtype=np.int64)
    total = int(sizes.sum())
    n = int(min(n, total))
    if n < 1:
        raise ConfigError(f"sample size must be >= 1, got {n}")
    quota = n * sizes / total
    take = np.floor(quota).astype(np.int64)
    short = n - int(take.sum())
    if short:
        take[np.argsort(-(quota - take), kind="stable")[:short]] += 1
    frames = []
    for k, (part, m) in enumerate(zip(parts, take, strict=True)):
        if m == 0:
            continue
        df = read_partition(part, columns)
        rng = np.random.default_rng([int(seed), k])
        rows = np.sort(rng.choice(len(df), size=int(m), replace=False))
        frames.append(df.iloc[rows])
    out = pd.concat(frames, ignore_index=True)
    out.attrs["sedscape"] = read_sidecar(path)
    info = {
        "catalog": str(path),
        "method": "stratified by HATS partition (HEALPix pixel): proportional allocation, largest remainders, "
        "uniform without replacement within each partition, generator seeded by (seed, partition number)",
        "seed": int(seed),
        "n_sample": int(len(out)),
        "n_catalog": total,
        "fraction": len(out) / total,
        "partitions": len(parts),
    }
    return out, info


def read_catalog_any(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A Parquet file or HATS catalog, whole, into memory (sedscape metadata in ``attrs``)."""
    if is_hats(path):
        return read_hats_frame(path, columns)
    from core.catalog import read_parquet

    return read_parquet(path, columns=columns)


def open_lsdb(path: str | Path, columns: list[str] | None = None, **kwargs: Any):
    """``lsdb.open_catalog`` of a local path or URL, with a clear error when it cannot be opened."""
    import lsdb

    try:
        return lsdb.open_catalog(str(path), columns=columns, **kwargs)
    except Exception as exc:  # lsdb/hats raise FileNotFoundError, ValueError, OSError...
        raise CatalogError(
            f"{path}: cannot open as a HATS catalog ({exc.__class__.__name__}: {exc})"
        ) from exc


# -- writing ------------------------------------------------------------------------------------------


class HatsWriter:
    """Write a HATS catalog from chunks of rows with memory bounded by one chunk and one partition.

    ``add(df)`` shards a chunk by HEALPix pixel (order ``shard_order``) into files beside the
    output and counts it in a histogram at :data:`HISTOGRAM_ORDER`; :meth:`close` chooses the
    partitions (``hats.pixel_math.generate_alignment``, at most ``partition_rows`` rows each) and
    has LSDB write each one from its shards, sorted by the spatial index. With
    ``unique_id="obj_id"`` duplicate ids inside a partition (the same position, so the same
    partition) are dropped or, with ``duplicates="nudge"``, made unique by +1 steps; both counted.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        catalog_name: str | None = None,
        partition_rows: int = DEFAULT_PARTITION_ROWS,
        shard_order: int = 3,
        overwrite: bool = False,
        unique_id: str | None = "obj_id",
        duplicates: str = "drop",
        ra_column: str = "ra",
        dec_column: str = "dec",
    ) -> None:
        if partition_rows < 1:
            raise ConfigError(f"partition_rows must be >= 1, got {partition_rows}")
        if not 0 <= shard_order <= HISTOGRAM_ORDER:
            raise ConfigError(f"shard_order must be in 0..{HISTOGRAM_ORDER}, got {shard_order}")
        if duplicates not in ("drop", "nudge"):
            raise ConfigError(f"duplicates must be 'drop' or 'nudge', got {duplicates!r}")
        self.path = Path(path)
        check_output(self.path, overwrite)
        self.catalog_name = catalog_name or self.path.name
        self.partition_rows = int(partition_rows)
        self.shard_order = int(shard_order)
        self.unique_id = unique_id
        self.duplicates = duplicates
        self.ra_column, self.dec_column = ra_column, dec_column
        self.shard_dir = self.path.with_name(f".{self.path.name}.shards")
        if self.shard_dir.exists():
            shutil.rmtree(self.shard_dir)
        self.shard_dir.mkdir(parents=True)
        self.histogram = np.zeros(12 * 4**HISTOGRAM_ORDER, dtype=np.int64)
        self.n_chunks = 0
        self.n_rows = 0
        self.schema = None
        self.closed = False
        self.n_duplicates = 0
        self.metadata: dict[str, Any] = {}

    def add(self, df: pd.DataFrame) -> None:
        """Shard one chunk by sky pixel (the chunk may then be freed)."""
        import pyarrow as pa
        import pyarrow.parquet as pq
        from hats.pixel_math.spatial_index import compute_spatial_index

        if self.closed:
            raise CatalogError("HatsWriter.add after close")
        if len(df) == 0:
            return
        ra = df[self.ra_column].to_numpy(dtype=np.float64)
        dec = df[self.dec_column].to_numpy(dtype=np.float64)
        if not (np.isfinite(ra).all() and np.isfinite(dec).all()):
            raise CatalogError("every row needs finite ra/dec to be placed in a HATS partition")
        index = compute_spatial_index(ra, dec).astype(np.int64)
        table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
        table = table.append_column(SPATIAL_INDEX, pa.array(index))
        if self.schema is None:
            self.schema = table.schema
        elif not table.schema.equals(self.schema, check_metadata=False):
            table = table.cast(self.schema)
        cells, counts = np.unique(index >> (2 * (29 - HISTOGRAM_ORDER)), return_counts=True)
        self.histogram[cells] += counts
        shard = index >> (2 * (29 - self.shard_order))
        order = np.argsort(shard, kind="stable")
        values, starts = np.unique(shard[order], return_index=True)
        ends = np.append(starts[1:], len(order))
        for pix, a, b in zip(values, starts, ends, strict=True):
            d = self.shard_dir / f"{int(pix)}"
            d.mkdir(exist_ok=True)
            pq.write_table(
                table.take(pa.array(order[a:b])), d / f"{self.n_chunks:06d}.parquet", compression="lz4"
            )
        self.n_chunks += 1
        self.n_rows += len(df)

    def add_all(self, frames: Iterable[pd.DataFrame]) -> None:
        for df in frames:
            self.add(df)

    def pixels(self) -> list:
        """The output partitions: the coarsest pixels holding at most ``partition_rows`` rows each."""
        from hats.pixel_math import HealpixPixel
        from hats.pixel_math.healpix_pixel_function import get_pixel_argsort

        pairs = aligned_pixels(self.histogram, HISTOGRAM_ORDER, self.partition_rows)
        pixels = [HealpixPixel(int(o), int(p)) for o, p in pairs]
        return list(np.array(pixels, dtype=object)[get_pixel_argsort(pixels)])

    def close(self, metadata: dict[str, Any] | None = None, *, progress: bool = False) -> Path:
        """Write every partition, the HATS metadata and sedscape's sidecar; remove the shards."""
        import hats
        import lsdb
        import nested_pandas as npd
        from hats.catalog import CatalogType, TableProperties
        from lsdb.io.common import new_provenance_properties
        from lsdb.operations.lsdb_ops import FromHealpixMap

        if self.closed:
            raise CatalogError("HatsWriter.close called twice")
        self.closed = True
        if self.n_rows == 0:
            shutil.rmtree(self.shard_dir, ignore_errors=True)
            raise CatalogError(f"no rows to write to {self.path}")
        pixels = self.pixels()
        import pyarrow as pa

        empty = self.schema.empty_table().to_pandas()
        empty.index = pd.Index([], dtype=pd.ArrowDtype(pa.int64()), name=SPATIAL_INDEX)
        meta = npd.NestedFrame(empty.drop(columns=[SPATIAL_INDEX]))
        dup_dir = self.shard_dir / "_duplicates"
        dup_dir.mkdir(exist_ok=True)
        op = FromHealpixMap(
            _gather_partition,
            pixels,
            str(self.shard_dir),
            self.shard_order,
            self.unique_id,
            self.duplicates,
            meta=meta,
            verify_meta=False,
        )
        info = TableProperties(
            catalog_name=self.catalog_name,
            catalog_type=CatalogType.OBJECT,
            ra_column=self.ra_column,
            dec_column=self.dec_column,
            healpix_column=SPATIAL_INDEX,
            healpix_order=29,
            total_rows=self.n_rows,
            hats_max_rows=self.partition_rows,
            **new_provenance_properties(),
        )
        structure = hats.catalog.Catalog(info, pixels, schema=self.schema)
        catalog = lsdb.Catalog(op, structure, loading_config=None)
        if self.path.exists():
            remove_catalog(self.path)
        catalog.write_catalog(
            str(self.path),
            catalog_name=self.catalog_name,
            progress_bar=progress,
            tqdm_kwargs={"desc": f"writing {self.path.name}"},
        )
        n_dup = sum(int(f.read_text()) for f in dup_dir.glob("*.txt"))
        meta_out = dict(metadata or {})
        if self.unique_id:
            meta_out.setdefault("hats", {})[
                f"duplicate_{self.unique_id}_{'dropped' if self.duplicates == 'drop' else 'renumbered'}"
            ] = n_dup
        self.n_duplicates = n_dup
        if self.duplicates == "drop":
            self.n_rows -= n_dup
        meta_out.setdefault("hats", {}).update(
            {"partitions": len(pixels), "partition_rows": self.partition_rows, "n_rows": self.n_rows}
        )
        write_sidecar(self.path, meta_out)
        self.metadata = meta_out
        shutil.rmtree(self.shard_dir, ignore_errors=True)
        log.info("wrote %d rows in %d partitions to %s", self.n_rows, len(pixels), self.path)
        return self.path

    def abort(self) -> None:
        """Remove the shards of an unfinished write."""
        self.closed = True
        shutil.rmtree(self.shard_dir, ignore_errors=True)


def aligned_pixels(histogram: np.ndarray, highest_order: int, threshold: int) -> np.ndarray:
    """The partitions ``hats.pixel_math.generate_alignment(histogram, highest_order, lowest_order=0,
    threshold, drop_empty_siblings=True)`` chooses, as ``(order, pixel)`` rows, computed with whole-array
    numpy: hats loops in Python over every cell (12.6M at order 10: 10-60 s per catalog written).

    Bottom-up, a cell takes in its 4 children when it holds at most ``threshold`` rows and more than one
    child holds any (so an isolated group stays in the smallest pixel around it).
    """
    if histogram.max() > threshold:
        raise ValueError(f"single pixel row count {histogram.max()} exceeds threshold {threshold}")
    sums = [histogram]
    for _ in range(highest_order):
        sums.append(sums[-1].reshape(-1, 4).sum(axis=1))  # NESTED numbering: children of p are 4p..4p+3
    sums = sums[::-1]  # sums[k]: rows per cell at order k
    order_map = np.where(histogram > 0, highest_order, -1).astype(np.int8)
    for k in range(highest_order - 1, -1, -1):
        collapse = (sums[k] != sums[k + 1].reshape(-1, 4).max(axis=1)) & (sums[k] <= threshold)
        order_map[np.repeat(collapse, 4 ** (highest_order - k))] = k  # lower orders overwrite, as in hats
    cells = np.flatnonzero(order_map >= 0)
    orders = order_map[cells].astype(np.int64)
    return np.unique(np.c_[orders, cells >> (2 * (highest_order - orders))], axis=0)


def _gather_partition(pixel, shard_dir: str, shard_order: int, unique_id: str | None, duplicates: str):
    """Rows of output partition ``pixel`` from its shard files, sorted by spatial index (one LSDB task)."""
    import nested_pandas as npd
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    root = Path(shard_dir)
    lo = _first_index(pixel.order, pixel.pixel)
    hi = _first_index(pixel.order, pixel.pixel + 1)
    if pixel.order >= shard_order:
        shards = [int(pixel.pixel) >> (2 * (pixel.order - shard_order))]
    else:
        k = 2 * (shard_order - pixel.order)
        shards = range(int(pixel.pixel) << k, (int(pixel.pixel) + 1) << k)
    tables = []
    for s in shards:
        d = root / str(s)
        if not d.is_dir():
            continue
        for f in sorted(d.glob("*.parquet")):
            t = pq.read_table(f)
            if pixel.order > shard_order:
                idx = t[SPATIAL_INDEX]
                t = t.filter(pc.and_(pc.greater_equal(idx, lo), pc.less(idx, hi)))
            tables.append(t)
    table = pa.concat_tables(tables)
    table = table.take(pc.sort_indices(table, sort_keys=[(SPATIAL_INDEX, "ascending")]))
    df = table.to_pandas(split_blocks=True)
    n_dup = 0
    if unique_id and unique_id in df.columns:
        ids = df[unique_id].to_numpy()
        dup = pd.Series(ids).duplicated().to_numpy()
        n_dup = int(dup.sum())
        if n_dup and duplicates == "drop":
            df = df[~dup]
        elif n_dup:
            df[unique_id] = _nudge_unique(ids)
    (root / "_duplicates" / f"{pixel.order}_{pixel.pixel}.txt").write_text(str(n_dup))
    # An Arrow-typed index: pandas may turn a numpy index of consecutive integers into a RangeIndex,
    # which pyarrow then stores as metadata only, dropping the spatial-index column from the file.
    index = pd.Index(df.pop(SPATIAL_INDEX).to_numpy(), dtype=pd.ArrowDtype(pa.int64()), name=SPATIAL_INDEX)
    df.index = index
    return npd.NestedFrame(df)


def _nudge_unique(ids: np.ndarray) -> np.ndarray:
    """Make integer ids unique by stepping ties up by one (as the mock's ``ps1_obj_id`` does)."""
    order = np.argsort(ids, kind="stable")
    s = ids[order].copy()
    while True:
        dup = np.flatnonzero(s[1:] <= s[:-1]) + 1
        if not dup.size:
            break
        s[dup] = s[dup - 1] + 1
    out = np.empty_like(ids)
    out[order] = s
    return out


def write_hats_frame(
    df: pd.DataFrame,
    path: str | Path,
    *,
    metadata: dict[str, Any] | None = None,
    overwrite: bool = False,
    partition_rows: int = DEFAULT_PARTITION_ROWS,
    chunk_rows: int = 1_000_000,
) -> Path:
    """Write an in-memory catalog as HATS (the metadata merged over ``df.attrs['sedscape']``)."""
    meta = dict(df.attrs.get("sedscape", {}))
    meta.update(metadata or {})
    writer = HatsWriter(path, partition_rows=partition_rows, overwrite=overwrite, unique_id=None)
    try:
        for start in range(0, len(df), chunk_rows):
            writer.add(df.iloc[start : start + chunk_rows])
        return writer.close(meta)
    except BaseException:
        writer.abort()
        raise


def write_catalog_any(
    df: pd.DataFrame,
    path: str | Path,
    *,
    fmt: str = "auto",
    metadata: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``df`` as one Parquet file or a HATS catalog, as :func:`output_format` decides."""
    if output_format(path, fmt) == "hats":
        return write_hats_frame(df, path, metadata=metadata, overwrite=overwrite)
    from core.catalog import write_parquet

    return write_parquet(df, path, metadata=metadata, overwrite=overwrite)
