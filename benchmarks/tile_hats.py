"""Make a large scored HATS catalog for dashboard benchmarks by tiling a smaller one: every partition's rows
repeated ``--copies`` times (new obj_ids; positions kept; other numbers wiggled by a part per million so
that copies do not compress into one another), same partitions, rows per partition times the copies.

    python benchmarks/tile_hats.py /tmp/base500k_scored /tmp/sky30m_scored --copies 60

Why: ``sedscape mock`` + ``sedscape score`` of 30M stars take hours on the shared 2-core machine; what the
dashboard's speed depends on (rows, columns, partitions, their sizes) is what tiling reproduces. The latent
space and diagrams look like the base catalog's, at ``copies`` times the density. A benchmark helper, not a
sedscape command.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.partitioned import SPATIAL_INDEX, is_hats, partitions  # noqa: E402


def tile_partition(src: Path, dst: Path, copies: int) -> int:
    table = pq.read_table(src)
    ids = table.column("obj_id").to_numpy()
    # Copy k of a star gets obj_id * copies + k: unique while the base ids are (int64 holds PS1's ids x 64).
    rng = np.random.default_rng(int(ids[0]) % 2**32)
    floats = [n for n, t in zip(table.column_names, table.schema.types, strict=True)
              if pa.types.is_floating(t) and n not in ("ra", "dec")]  # fmt: skip
    pieces = []
    for k in range(copies):
        piece = table.set_column(table.schema.get_field_index("obj_id"), "obj_id", pa.array(ids * copies + k))
        for name in floats:  # a part-per-million wiggle: copies look the same but do not compress into one another
            values = piece.column(name).to_numpy()
            wiggled = values * (1 + 1e-6 * rng.standard_normal(len(values))).astype(values.dtype)
            piece = piece.set_column(piece.schema.get_field_index(name), name, pa.array(wiggled, from_pandas=True))
        pieces.append(piece)
    tiled = pa.concat_tables(pieces)
    tiled = tiled.take(pc.sort_indices(tiled, [(SPATIAL_INDEX, "ascending")]))  # HATS order within a partition
    dst.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(tiled, dst, compression="zstd")
    return tiled.num_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", type=Path, help="scored HATS catalog to tile")
    parser.add_argument("out", type=Path)
    parser.add_argument("--copies", type=int, default=60)
    args = parser.parse_args()
    if not is_hats(args.base) or args.out.exists():
        raise SystemExit(f"need a HATS catalog ({args.base}) and a new output path ({args.out})")
    t0 = time.perf_counter()
    # Everything but the data files and the Parquet metadata, which are rewritten below.
    shutil.copytree(args.base, args.out, ignore=shutil.ignore_patterns("*.parquet", "_metadata", "_common_metadata"))
    parts = partitions(args.base)
    base_dir = next(p for p in args.base.iterdir() if (p / "hats.properties").exists())
    out_dir = args.out / base_dir.name

    def one(part) -> int:
        return tile_partition(part.path, out_dir / part.path.relative_to(base_dir), args.copies)

    with ThreadPoolExecutor(2) as pool:
        total = sum(pool.map(one, parts))
    import hats.io

    hats.io.write_parquet_metadata(out_dir)
    props = out_dir / "hats.properties"
    lines = [f"hats_nrows={total}" if ln.startswith("hats_nrows=") else ln for ln in props.read_text().splitlines()]
    props.write_text("\n".join(lines) + "\n")
    print(f"wrote {total:,} rows in {len(parts)} partitions to {args.out} in {time.perf_counter() - t0:.0f} s")
    sizes = np.array([p.n_rows * args.copies for p in parts])
    print(f"rows per partition: median {int(np.median(sizes)):,}, max {sizes.max():,}")


if __name__ == "__main__":
    main()
