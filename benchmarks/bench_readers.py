"""What the readers' checks cost: a large MAST-style TSV read with every check, against pandas alone.

    .venv/bin/python benchmarks/bench_readers.py              # 200,000 rows (the M44 export repeated)
    .venv/bin/python benchmarks/bench_readers.py --rows 1000000

Times, in the same run: ``pandas.read_csv`` of the file (the reference), the line scan alone
(``core.readers.textcheck.scan_lines``: fields per line, final newline), the whole ``read_catalog``
(scan + parse + contract + designation check) on the plain file, and on the same file gzipped.
Prints seconds and ratios to the reference; on a shared machine only the ratios mean much.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from core.readers import read_catalog
from core.readers.textcheck import scan_lines

M44 = Path(__file__).resolve().parents[1] / "tests" / "data" / "ps1_dr1_meanobject_cone_M44.tsv"


def big_export(path: Path, rows: int) -> Path:
    """The real export's rows repeated to ``rows``, each copy with its own objIDs."""
    header, types, *body = M44.read_text().splitlines()
    ids = [line.split("\t", 2)[1] for line in body]
    with open(path, "w") as fh:
        fh.write(header + "\n" + types + "\n")
        written, copy = 0, 0
        while written < rows:
            for line, oid in zip(body, ids, strict=True):
                if written >= rows:
                    break
                name, _, rest = line.split("\t", 2)
                fh.write(f"{name}\t{int(oid) + copy * 10**12}\t{rest}\n")
                written += 1
            copy += 1
    return path


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-readers-"))
    try:
        path = big_export(tmp / "big.tsv", args.rows)
        gz = tmp / "big.tsv.gz"
        with open(path, "rb") as src, gzip.open(gz, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst)
        n_fields = len(M44.read_text().splitlines()[0].split("\t"))
        ref = best_of(lambda: pd.read_csv(path, sep="\t", skiprows=[1], low_memory=False), args.repeat)
        scan = best_of(lambda: scan_lines(path, "\t", 3, n_fields, str(path)), args.repeat)
        full = best_of(lambda: read_catalog(path), args.repeat)
        full_gz = best_of(lambda: read_catalog(gz), args.repeat)
        assert len(read_catalog(path)) == args.rows
        size = path.stat().st_size / 1e6
        print(f"{args.rows:,} rows, {size:.0f} MB of TSV (gzip {gz.stat().st_size / 1e6:.0f} MB); best of {args.repeat}")
        print(f"{'step':<36}{'seconds':>9}{'x pandas':>10}")
        for name, t in [("pandas.read_csv (reference)", ref), ("line scan (scan_lines)", scan),
                        ("read_catalog, plain file", full), ("read_catalog, .gz", full_gz)]:
            print(f"{name:<36}{t:>9.2f}{t / ref:>10.2f}")
        print(f"line scan throughput: {size / scan:.0f} MB/s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
