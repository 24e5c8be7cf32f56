"""Time and memory of exporting a large selection in every format, against pandas in the same run.

    .venv/bin/python benchmarks/bench_export.py                       # 800,000 stars of the default sky
    .venv/bin/python benchmarks/bench_export.py --stars 300000 --formats csv,parquet

Selects ``--stars`` stars of the default scored sky (``sedscape prepare-default``; without it, a
synthetic scored catalog of 1.25x that size with the dashboard's columns), makes the export the
dashboard makes (every column plus ``anomaly_at_threshold``) and writes it in each format with
``core.export``. The reference, measured in the same run, is what the dashboard did before:
``DataFrame.iloc`` of the selected rows, then pandas ``to_csv`` into memory.

Each measurement runs in a forked child of the process that holds the catalog, so each starts from
the same memory: "extra peak" is the child's peak resident memory (Linux VmHWM, reset at its start)
above its resident memory when it started, i.e. what the export itself needed on top of the catalog.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import io
import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path

import numpy as np

TARGETS_S = {"csv": 20.0, "parquet": 5.0}  # issue 9: on 2 cores


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _measure(kind: str, task, out_dir: Path, queue) -> None:
    # Fresh pages for every allocation of 64 KiB or more, so that reusing memory the parent freed (but
    # still holds) cannot hide an allocation from the resident-memory peak.
    ctypes.CDLL("libc.so.6").mallopt(-3, 65536)  # M_MMAP_THRESHOLD
    with open("/proc/self/clear_refs", "w") as fh:  # reset the peak (VmHWM) to the current RSS
        fh.write("5")
    start_kib = _rss_kib("VmRSS")
    t0 = time.perf_counter()
    if kind == "pandas to_csv (reference)":
        rows = task.source.iloc[task.index].copy()
        rows["anomaly_at_threshold"] = task.extra["anomaly_at_threshold"]
        buf = io.StringIO()
        rows.to_csv(buf, index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        size = len(buf.getvalue().encode())
    else:
        path = task.write(out_dir / f"selection.{kind}", overwrite=True)
        size = path.stat().st_size
    seconds = time.perf_counter() - t0
    queue.put((kind, seconds, (_rss_kib("VmHWM") - start_kib) / 1024, size / 1e6))


def load(stars: int, catalog: Path | None):
    """The catalog (a DataFrame), where it came from, and the rows of the selection."""
    from core import paths
    from core.catalog import read_parquet

    path = catalog or paths.default_scored_path()
    if path.exists():
        df = read_parquet(path)
        origin = str(path)
    else:
        from benchmarks.bench_dashboard import synthetic_scored

        df = synthetic_scored(int(stars * 1.25), seed=1)
        origin = f"synthetic scored catalog ({len(df):,} stars; {path} not built)"
    if len(df) < stars:
        raise SystemExit(f"{origin} has {len(df):,} stars, fewer than --stars {stars:,}")
    # The stars with the smallest latent x: a compact region of the latent space, like a lasso's.
    index = np.sort(np.argsort(df["latent_x"].to_numpy(), kind="stable")[:stars])
    return df, origin, index


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stars", type=int, default=800_000, help="stars selected (default 800,000)")
    ap.add_argument("--formats", default="csv,parquet,fits,votable")
    ap.add_argument("--catalog", type=Path, default=None, help="scored catalog (default: the default sky)")
    ap.add_argument("--out-dir", type=Path, default=None, help="keep the exports here (default: a temp dir)")
    args = ap.parse_args()

    from core.catalog import band_set_of
    from core.export import ExportOptions, selection_export

    t0 = time.perf_counter()
    df, origin, index = load(args.stars, args.catalog)
    bands = band_set_of(df)
    meta = dict(df.attrs.get("sedscape", {}))
    df.attrs = {}
    print(f"catalog: {origin}; {len(df):,} stars x {df.shape[1]} columns, loaded in {time.perf_counter() - t0:.1f} s")
    print(f"selection: {len(index):,} stars; {os.cpu_count()} CPU cores; timings from a loaded machine are noisy")
    geometry = {"kind": "obj_ids", "source": "benchmark", "n": len(index)}
    tasks = {
        fmt: selection_export(df, index, bands=bands, meta=meta, catalog=origin, geometry=geometry, threshold=0.05,
                              options=ExportOptions(fmt), made_by="bench_export")  # fmt: skip
        for fmt in args.formats.split(",")
    }
    import astropy.io.fits  # noqa: F401  (imported here, not counted in a child's peak)
    import pyarrow as pa
    import pyarrow.csv  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    pa.default_memory_pool().release_unused()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # give freed memory back, so children start from the same RSS

    ctx = mp.get_context("fork")
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        out_dir = args.out_dir or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        for kind in ["pandas to_csv (reference)", *tasks]:
            task = tasks.get(kind, next(iter(tasks.values())))
            queue = ctx.Queue()
            child = ctx.Process(target=_measure, args=(kind, task, out_dir, queue))
            child.start()
            results[kind] = queue.get()
            child.join()
    ref = results["pandas to_csv (reference)"]
    print(f"\n{'':28s} {'seconds':>8s} {'x ref':>7s} {'extra peak MB':>14s} {'x ref':>7s} {'file MB':>9s}  target")
    for kind, seconds, peak, size in results.values():
        target = TARGETS_S.get(kind)
        verdict = "" if target is None else f"< {target:.0f} s: {'met' if seconds < target else 'NOT met'}"
        print(f"{kind:28s} {seconds:8.2f} {seconds / ref[1]:7.2f} {peak:14.0f} {peak / max(ref[2], 1):7.2f} "
              f"{size:9.0f}  {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
