"""A scored HATS catalog opened lazily: what a viewer of 100 million stars needs, partition by partition.

:class:`PartitionedScored` never holds the whole catalog. Rows have a stable global number
(partition offset + position in the partition, partitions in spatial-index order), so a table page,
the SEDs of a few stars or an export read only the partitions and columns they need. Datashader
aggregates the Dask-backed frame (persisted in worker memory when asked and it fits); a lasso is a
:class:`Selection` of per-partition boolean masks computed partition by partition.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import CatalogError

log = logging.getLogger(__name__)


def points_in_polygon(
    x: np.ndarray, y: np.ndarray, poly_x: Sequence[float], poly_y: Sequence[float]
) -> np.ndarray:
    """Boolean mask of the points inside the polygon (even-odd rule; the polygon closes itself)."""
    px = np.asarray(poly_x, dtype=np.float64)
    py = np.asarray(poly_y, dtype=np.float64)
    if px.size < 3 or px.size != py.size:
        raise CatalogError(
            f"a lasso needs at least 3 vertices with x and y each, got {px.size} and {py.size}"
        )
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    inside = np.zeros(x.shape, dtype=bool)
    # Only points inside the bounding box can be inside; test those edge by edge.
    box = (x >= px.min()) & (x <= px.max()) & (y >= py.min()) & (y <= py.max())
    idx = np.flatnonzero(box)
    xs, ys = x[idx], y[idx]
    hit = np.zeros(idx.size, dtype=bool)
    x0, y0 = px, py
    x1, y1 = np.roll(px, -1), np.roll(py, -1)
    for a, b, c, d in zip(x0, y0, x1, y1, strict=True):
        crosses = (b > ys) != (d > ys)
        if not crosses.any():
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            xcross = a + (ys - b) * (c - a) / (d - b)
        hit ^= crosses & (xs < xcross)
    inside[idx] = hit
    return inside


@dataclass
class Selection:
    """Selected rows as one boolean mask per partition (in partition order)."""

    masks: list[np.ndarray]
    offsets: np.ndarray

    @property
    def count(self) -> int:
        return int(sum(int(m.sum()) for m in self.masks))

    def indices(self) -> np.ndarray:
        """Global row numbers of the selected rows, ascending."""
        parts = [np.flatnonzero(m) + off for m, off in zip(self.masks, self.offsets, strict=True)]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)


class PartitionedScored:
    """A (scored) HATS catalog on disk, read partition by partition; see the module docstring.

    Parameters
    ----------
    path : the HATS catalog directory.
    client : an optional ``distributed.Client``; without one Dask's local threads do the work.
    """

    def __init__(self, path: str | Path, client: Any = None) -> None:
        from core.catalog import band_set_of
        from core.partitioned import partitions, read_sidecar

        self.path = Path(path)
        self.parts = partitions(self.path)
        if not self.parts:
            raise CatalogError(f"{self.path}: the catalog has no partitions")
        counts = np.array([p.n_rows for p in self.parts], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.n_rows = int(counts.sum())
        self.meta = read_sidecar(self.path)
        probe = pd.DataFrame()
        probe.attrs["sedscape"] = self.meta
        self.bands = band_set_of(probe)
        self.client = client
        self._persisted: dict[tuple[str, ...], Any] = {}

    def __len__(self) -> int:
        return self.n_rows

    @property
    def columns(self) -> list[str]:
        import pyarrow.parquet as pq

        return [c for c in pq.read_schema(self.parts[0].path).names if c != "_healpix_29"]

    # -- the Dask-backed frame ---------------------------------------------------------------------
    def frame(self, columns: Sequence[str]):
        """A Dask DataFrame of ``columns``, one Dask partition per HATS partition (persisted if asked)."""
        key = tuple(columns)
        if key in self._persisted:
            return self._persisted[key]
        import dask.dataframe as dd

        from core.partitioned import read_partition

        meta = read_partition(self.parts[0], list(columns)).iloc[:0]
        return dd.from_map(
            read_partition, self.parts, columns=list(columns), meta=meta, enforce_metadata=False
        )

    def persist(self, columns: Sequence[str]) -> None:
        """Keep ``columns`` in worker memory (the caller decides that they fit: 4-8 bytes x rows each)."""
        frame = self.frame(columns)
        self._persisted[tuple(columns)] = self.client.persist(frame) if self.client else frame.persist()

    def aggregate(
        self,
        x: str = "latent_x",
        y: str = "latent_y",
        *,
        width: int = 600,
        height: int = 600,
        x_range: tuple[float, float] | None = None,
        y_range: tuple[float, float] | None = None,
        agg: str = "count",
        column: str | None = None,
    ):
        """A datashader aggregate (``xarray.DataArray``) over every row, computed partition by partition.

        ``agg`` is a datashader reduction name (``count``, ``mean``, ``max``, ``any``...) applied
        to ``column`` (none for ``count``).
        """
        import datashader as ds

        cols = [x, y] + ([column] if column else [])
        frame = self.frame(cols)
        reduction = getattr(ds, agg)(column) if column else getattr(ds, agg)()
        canvas = ds.Canvas(plot_width=width, plot_height=height, x_range=x_range, y_range=y_range)
        return canvas.points(frame, x, y, agg=reduction)

    # -- selection and rows ------------------------------------------------------------------------
    def lasso(
        self, poly_x: Sequence[float], poly_y: Sequence[float], x: str = "latent_x", y: str = "latent_y"
    ) -> Selection:
        """Rows whose (``x``, ``y``) fall inside the polygon, found partition by partition on the cluster."""
        import dask

        from core.partitioned import read_partition

        px, py = list(map(float, poly_x)), list(map(float, poly_y))

        def one(part):
            df = read_partition(part, [x, y])
            return points_in_polygon(df[x].to_numpy(), df[y].to_numpy(), px, py)

        tasks = [dask.delayed(one)(p) for p in self.parts]
        masks = list(self.client.compute(tasks, sync=True) if self.client else dask.compute(*tasks))
        return Selection(masks, self.offsets)

    def rows(self, index: Sequence[int] | np.ndarray, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The rows with these global numbers (in the order given), reading only their partitions."""
        import pyarrow.parquet as pq

        idx = np.asarray(index, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_rows):
            raise CatalogError(f"row numbers must be in [0, {self.n_rows}), got {idx.min()}..{idx.max()}")
        cols = None if columns is None else [c for c in columns if c != "_healpix_29"]
        which = np.searchsorted(self.offsets, idx, side="right") - 1
        frames, order = [], []
        for k in np.unique(which):
            sel = np.flatnonzero(which == k)
            local = idx[sel] - self.offsets[k]
            table = pq.read_table(self.parts[k].path, columns=cols)
            if "_healpix_29" in table.column_names:
                table = table.drop_columns(["_healpix_29"])
            frames.append(table.take(local).to_pandas(split_blocks=True))
            order.append(sel)
        if not frames:
            return pd.DataFrame(columns=cols or self.columns)
        out = pd.concat(frames, ignore_index=True)
        pos = np.empty(idx.size, dtype=np.int64)
        pos[np.concatenate(order)] = np.arange(idx.size)
        out = out.iloc[pos].reset_index(drop=True)
        out.index = pd.Index(idx, name="row")
        return out

    def page(
        self, start: int, n: int, columns: Sequence[str] | None = None, selection: Selection | None = None
    ) -> pd.DataFrame:
        """``n`` rows from position ``start`` of the catalog (or of ``selection``)."""
        if selection is None:
            idx = np.arange(max(start, 0), min(start + n, self.n_rows))
        else:
            idx = selection.indices()[max(start, 0) : max(start, 0) + n]
        return self.rows(idx, columns)

    def sed(self, index: Sequence[int], reconstructed: bool = True) -> pd.DataFrame:
        """Observed (and reconstructed) magnitudes and errors of the given rows, for SED plots."""
        bands = self.bands.names
        cols = ["obj_id", *bands, *self.bands.err_columns]
        if reconstructed:
            cols += [f"{b}_rec" for b in bands if f"{b}_rec" in self.columns]
        return self.rows(index, cols)

    # -- export ------------------------------------------------------------------------------------
    def iter_selected(
        self, selection: Selection | None = None, columns: Sequence[str] | None = None
    ) -> Iterator[pd.DataFrame]:
        """The selected rows (all, without ``selection``), one partition at a time."""
        from core.partitioned import read_partition

        for k, part in enumerate(self.parts):
            if selection is not None and not selection.masks[k].any():
                continue
            df = read_partition(part, None if columns is None else list(columns))
            yield df if selection is None else df[selection.masks[k]]

    def export(
        self,
        out: str | Path,
        selection: Selection | None = None,
        columns: Sequence[str] | None = None,
        *,
        overwrite: bool = False,
    ) -> int:
        """Stream the selected rows to one Parquet (``.parquet``) or CSV file, partition by partition; rows written."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from core.errors import OutputExistsError

        out = Path(out)
        if out.exists() and not overwrite:
            raise OutputExistsError(f"{out} exists; pass overwrite=True to replace it")
        tmp = out.with_name(f".{out.name}.partial")
        n = 0
        csv = out.suffix.lower() == ".csv"
        writer = None
        try:
            for df in self.iter_selected(selection, columns):
                if csv:
                    df.to_csv(tmp, mode="a" if n else "w", header=not n, index=False)
                else:
                    table = pa.Table.from_pandas(df, preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
                    writer.write_table(table.cast(writer.schema))
                n += len(df)
            if writer is not None:
                writer.close()
                writer = None
            if n == 0:
                raise CatalogError("nothing to export: the selection is empty")
            tmp.replace(out)
        finally:
            if writer is not None:
                writer.close()
            tmp.unlink(missing_ok=True)
        return n
