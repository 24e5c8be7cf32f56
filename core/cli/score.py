"""``sedscape score``: add canonical latent coordinates, reconstructions, residuals and anomaly flags."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from core.errors import OutputExistsError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="score a catalog with a trained model (latent coordinates, residuals, anomalies)",
        description=(
            "Run the model's chosen run (or --run) over CATALOG and write it with latent_x/latent_y "
            "(canonical orientation), <band>_rec, <band>_res (observed - reconstructed), max_abs_res, "
            "max_abs_res_sigma, res_band and anomaly (any |residual| > threshold)."
        ),
    )
    p.add_argument("catalog", help="Parquet file or HATS catalog directory with the model's bands")
    p.add_argument("--model", required=True, help="model directory written by `sedscape train`")
    p.add_argument("--out", required=True, help="scored Parquet file or HATS directory to write")
    p.add_argument("--format", choices=("auto", "parquet", "hats"), default="auto",
                   help="output format (auto: HATS for a HATS input or a path without suffix)")
    p.add_argument("--threshold", type=float, default=0.05, help="anomaly threshold in magnitudes (default 0.05)")
    p.add_argument("--run", type=int, default=None, help="run to use (default: the card's chosen run)")
    p.add_argument("--chunk-size", type=int, default=500_000, help="stars per model call")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    add_cluster_options(p)
    p.set_defaults(func=run)


def add_cluster_options(p: argparse.ArgumentParser) -> None:
    """Dask options for verbs that work partition by partition on a HATS catalog."""
    g = p.add_argument_group("Dask (HATS catalogs)")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="use an existing Dask cluster (tcp://host:8786); default: a local cluster")
    g.add_argument("--workers", type=int, default=None, help="local worker processes (default: one per core)")
    g.add_argument("--threads-per-worker", type=int, default=1, help="threads per local worker (default 1)")
    g.add_argument("--memory-per-worker", type=float, default=None, metavar="GB",
                   help="memory limit per local worker in GB (default: 75%% of RAM split evenly)")
    g.add_argument("--in-process", action="store_true",
                   help="run the local workers as threads of this process (quick start, small catalogs)")


def cluster_config(args: argparse.Namespace):
    from core.cluster import ClusterConfig

    mem = None if args.memory_per_worker is None else int(args.memory_per_worker * 1e9)
    return ClusterConfig(scheduler=args.scheduler, n_workers=args.workers,
                         threads_per_worker=args.threads_per_worker, memory_per_worker=mem,
                         processes=not args.in_process)


def run(args: argparse.Namespace) -> int:
    from core.catalog import read_parquet
    from core.errors import ConfigError
    from core.partitioned import is_hats, output_format, write_catalog_any
    from core.scoring import TrainedModel, score_catalog

    out = Path(args.out)
    fmt = "hats" if is_hats(args.catalog) and args.format == "auto" else output_format(out, args.format)
    if is_hats(args.catalog):
        if fmt != "hats":
            raise ConfigError("a HATS catalog is scored partition by partition into a HATS catalog; "
                              "drop --format parquet (or read the result with core.partitioned)")
        return run_partitioned(args, out)
    if out.exists() and not args.overwrite:
        raise OutputExistsError(f"{out} exists; pass --overwrite to replace it")
    model = TrainedModel.load(args.model, run=args.run)
    df = read_parquet(args.catalog)
    t0 = time.perf_counter()
    scored = score_catalog(
        df, model, threshold=args.threshold, chunk_size=args.chunk_size, progress=sys.stderr.isatty()
    )
    seconds = time.perf_counter() - t0
    write_catalog_any(scored, out, fmt=fmt, overwrite=args.overwrite)
    n_anom = int(scored["anomaly"].sum())
    print(f"scored {len(scored):,} stars with {model.name} run {model.run} in {seconds:.1f} s")
    print(f"anomalies (|residual| > {args.threshold} mag in any band): {n_anom:,} ({100 * n_anom / len(scored):.3f}%)")
    counts = scored.loc[scored["anomaly"], "res_band"].value_counts()
    if n_anom:
        print("worst band of anomalies: " + ", ".join(f"{b} {int(counts.get(b, 0)):,}" for b in model.bands.names))
    print(f"wrote {out}")
    return 0


def run_partitioned(args: argparse.Namespace, out: Path) -> int:
    from core.cluster import dask_client
    from core.partitioned_scoring import score_hats

    with dask_client(cluster_config(args)) as client:
        n_workers = len(client.scheduler_info()["workers"])
        print(f"scoring {args.catalog} on {n_workers} Dask worker{'s' * (n_workers != 1)} "
              f"({'scheduler ' + args.scheduler if args.scheduler else 'local cluster'})", flush=True)
        s = score_hats(args.catalog, args.model, out, threshold=args.threshold, run=args.run,
                       overwrite=args.overwrite, progress=sys.stderr.isatty())
    rate = s.n_rows / s.seconds if s.seconds > 0 else float("nan")
    print(f"scored {s.n_rows:,} stars in {s.n_partitions} partitions ({s.n_resumed} already done) with run "
          f"{s.run} in {s.seconds:.1f} s ({rate:,.0f} stars/s, {rate / n_workers:,.0f} per worker)")
    pct = 100 * s.n_anomalies / s.n_rows if s.n_rows else 0.0
    print(f"anomalies (|residual| > {s.threshold} mag in any band): {s.n_anomalies:,} ({pct:.3f}%)")
    print(f"wrote {out}")
    return 0
