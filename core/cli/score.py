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
            "max_abs_res_sigma, res_band and anomaly (any |residual| > threshold). Several models can share one "
            "scored catalog: score an already scored catalog with another model and its columns are added under "
            "'<key>__' (e.g. masked_ae__latent_x) without touching the others; the first model keeps the bare names "
            "(the default model). Scoring again with an existing key replaces that model's columns."
        ),
    )
    p.add_argument("catalog", help="Parquet catalog or HATS catalog directory with the model's bands")
    p.add_argument("--model", required=True, help="model directory written by `sedscape train`")
    p.add_argument("--out", required=True, help="scored Parquet file to write")
    p.add_argument("--threshold", type=float, default=0.05, help="anomaly threshold in magnitudes (default 0.05)")
    p.add_argument("--run", type=int, default=None, help="run to use (default: the card's chosen run)")
    p.add_argument("--chunk-size", type=int, default=500_000, help="stars per model call")
    p.add_argument(
        "--key", default=None, help="name of this model's columns (default: the model name, masked-ae -> masked_ae)"
    )
    p.add_argument(
        "--default",
        action="store_true",
        help="make this model the default (bare column names); the previous default moves behind its key",
    )
    p.add_argument("--detections", default=None, metavar="DET.parquet",
                   help="epoch table of CATALOG's stars; required for an mm-vae model (its path is recorded in OUT's "
                        "metadata, where the dashboard finds the light curves)")
    p.add_argument("--only-with-epochs", action="store_true",
                   help="mm-vae: score only the stars that have detections; the others keep NaN multi-modal columns")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    from core.cli._hats import add_cluster_options

    add_cluster_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.partitioned import is_hats

    if is_hats(args.catalog):  # a HATS catalog: partition by partition on Dask, into a HATS catalog
        from pathlib import Path

        from core.cli._hats import run_partitioned

        return run_partitioned(args, Path(args.out))
    from core.catalog import write_parquet
    from core.scored_models import model_key, scored_models
    from core.scoring import TrainedModel, score_catalog

    out = output_file(args.out, overwrite=args.overwrite)
    input_dir(args.model)
    from core.multimodal import is_multimodal_dir

    if is_multimodal_dir(args.model):
        return run_multimodal(args, out)
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
        df,
        model,
        threshold=args.threshold,
        chunk_size=args.chunk_size,
        progress=sys.stderr.isatty(),
        key=args.key,
        as_default=True if args.default else None,
    )
    seconds = time.perf_counter() - t0
    write_parquet(scored, out, overwrite=args.overwrite)
    models = scored_models(scored)
    this = next(m for m in models if m.key == model_key(args.key or model.name))
    n_anom = int(scored[this.column("anomaly")].sum())
    print(f"scored {len(scored):,} stars with {this.label} in {seconds:.1f} s")
    print("models in the catalog: " + ", ".join(
        f"{m.key} ({'bare columns' if m.default else m.prefix + '*'})" for m in models))
    print(f"anomalies (|residual| > {args.threshold} mag in any band): {n_anom:,} ({100 * n_anom / len(scored):.3f}%)")
    counts = scored.loc[scored[this.column("anomaly")], this.column("res_band")].value_counts()
    if n_anom:
        print("worst band of anomalies: " + ", ".join(f"{b} {int(counts.get(b, 0)):,}" for b in model.bands.names))
    print(f"wrote {out}")
    return 0


def detections_reference(detections, out) -> str:
    """The detection table's path as recorded in a scored catalog: relative to OUT's folder when it is
    inside it (the two move together), else absolute (``core.epochs.find_detections`` reads it back)."""
    from pathlib import Path

    det, folder = Path(detections).resolve(), Path(out).resolve().parent
    return str(det.relative_to(folder)) if det.is_relative_to(folder) else str(det)


def run_multimodal(args: argparse.Namespace, out) -> int:
    from core.catalog import write_parquet
    from core.epochs import read_epochs
    from core.multimodal import MultiModalModel, score_multimodal

    if not args.detections:
        raise ConfigError(f"{args.model} is an mm-vae model: pass --detections DET.parquet")
    df = read_catalog_parquet(args.catalog, "score")
    start_tensorflow(args.verbose)
    model = MultiModalModel.load(args.model, run=args.run)
    epochs = read_epochs(args.detections, model.bands)
    t0 = time.perf_counter()
    scored = score_multimodal(df, epochs, model, progress=sys.stderr.isatty(), source=args.detections,
                              only_with_epochs=args.only_with_epochs)
    seconds = time.perf_counter() - t0
    scored.attrs.setdefault("sedscape", {})["detections"] = detections_reference(args.detections, out)
    write_parquet(scored, out, overwrite=args.overwrite)
    n_anom = int(scored["mm_anomaly"].sum())
    print(f"scored {len(scored):,} stars with mm-vae run {model.run} in {seconds:.1f} s; "
          f"{int(scored['mm_has_lc'].sum()):,} with a folded light curve")
    if args.only_with_epochs:
        n_without = scored.attrs["sedscape"]["multimodal"]["n_without_epochs"]
        print(f"--only-with-epochs: {n_without:,} stars without detections keep NaN multi-modal columns")
    print(f"multi-modal anomalies (score > {model.card['anomaly']['threshold']:.2f}): {n_anom:,}")
    print(f"wrote {out}")
    return 0
