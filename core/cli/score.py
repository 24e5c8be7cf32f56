"""``sedscape score``: add canonical latent coordinates, reconstructions, residuals and anomaly flags."""

from __future__ import annotations

import argparse
import sys
import time

from core.cli._io import input_dir, output_file, read_catalog_parquet
from core.cli._tensorflow import start_tensorflow
from core.errors import CatalogError, ConfigError


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
    p.add_argument("catalog", help="Parquet catalog with the model's bands")
    p.add_argument("--model", required=True, help="model directory written by `sedscape train`")
    p.add_argument("--out", required=True, help="scored Parquet file to write")
    p.add_argument("--threshold", type=float, default=0.05, help="anomaly threshold in magnitudes (default 0.05)")
    p.add_argument("--run", type=int, default=None, help="run to use (default: the card's chosen run)")
    p.add_argument("--chunk-size", type=int, default=500_000, help="stars per model call")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.catalog import write_parquet
    from core.scoring import TrainedModel, score_catalog

    out = output_file(args.out, overwrite=args.overwrite)
    input_dir(args.model)
    if args.chunk_size < 1:
        raise ConfigError(f"--chunk-size must be at least 1 star, got {args.chunk_size}")
    if not args.threshold > 0:
        raise ConfigError(f"--threshold must be a positive magnitude, got {args.threshold}")
    df = read_catalog_parquet(args.catalog, "score")
    if len(df) == 0:
        raise CatalogError(f"{args.catalog}: the catalog has no rows; nothing to score, nothing written")
    start_tensorflow(args.verbose)
    model = TrainedModel.load(args.model, run=args.run)
    t0 = time.perf_counter()
    scored = score_catalog(
        df, model, threshold=args.threshold, chunk_size=args.chunk_size, progress=sys.stderr.isatty()
    )
    seconds = time.perf_counter() - t0
    write_parquet(scored, out, overwrite=args.overwrite)
    n_anom = int(scored["anomaly"].sum())
    print(f"scored {len(scored):,} stars with {model.name} run {model.run} in {seconds:.1f} s")
    print(f"anomalies (|residual| > {args.threshold} mag in any band): {n_anom:,} ({100 * n_anom / len(scored):.3f}%)")
    counts = scored.loc[scored["anomaly"], "res_band"].value_counts()
    if n_anom:
        print("worst band of anomalies: " + ", ".join(f"{b} {int(counts.get(b, 0)):,}" for b in model.bands.names))
    print(f"wrote {out}")
    return 0
