"""``sedscape train``: the paper's multi-run training protocol on a catalog, written to a model directory."""

from __future__ import annotations

import argparse
import sys

from core.card import RunRecord
from core.catalog import band_set_of
from core.cli._io import output_dir, read_catalog_parquet
from core.cli._tensorflow import start_tensorflow
from core.errors import ConfigError
from core.models.base import TrainConfig, model_class
from core.models.mm_vae import VAEConfig


def register(sub: argparse._SubParsersAction) -> None:
    d = TrainConfig()
    p = sub.add_parser(
        "train",
        help="train autoencoder runs on a catalog (random splits and initialisations) and write a model directory",
        description=(
            "Train RUNS models on random 80/16/4 train/validation/test splits (scikit-learn train_test_split, "
            "random_state = seed + run - 1, as in the paper's appendix), keep every run's weights and history, "
            "and write model_card.json with losses, the chosen run (lowest validation loss), the canonical "
            "latent rotation and run-to-run agreement."
        ),
    )
    p.add_argument("catalog", help="Parquet catalog in the sedscape contract (complete photometry)")
    p.add_argument("--out", required=True, help="model directory to create")
    p.add_argument(
        "--model",
        default="lstm-ae",
        help="lstm-ae (the paper's, default), lstm-ae-2d (decoder sees only the 2-D latent), dense-ae, pca, "
        "masked-ae (masked-band pretraining) or mm-vae (needs --detections)",
    )
    p.add_argument("--detections", default=None, metavar="DET.parquet",
                   help="epoch table beside CATALOG (core.epochs contract); required by --model mm-vae")
    p.add_argument("--map", choices=("umap", "none"), default="umap",
                   help="mm-vae: fit a UMAP 2-D map of the 15-D latent and save it with the model (default)")
    p.add_argument("--map-sample", type=int, default=30_000, metavar="N",
                   help="mm-vae: training stars the UMAP map is fitted on (default 30,000; fewer: a smaller map file)")
    p.add_argument("--only-with-epochs", action="store_true",
                   help="mm-vae: train on the catalog's stars that have detections only (a catalog with epochs for "
                        "a subsample, such as the default sky); the others are counted and left out")
    p.add_argument("--runs", type=int, default=5, help="number of runs (default 5)")
    p.add_argument("--seed", type=int, default=41, help="base seed: run r uses seed + r - 1 (default 41)")
    # Defaults are the model's own (the paper's for lstm-ae/dense-ae), shown for the LSTM-AE and mm-vae.
    v = VAEConfig()
    p.add_argument("--max-epochs", type=int, default=None,
                   help=f"default {d.max_epochs} for lstm-ae ({v.max_epochs} per VAE for mm-vae)")
    p.add_argument("--patience", type=int, default=None,
                   help=f"early-stopping patience in epochs (default {d.patience}; mm-vae {v.patience})")
    p.add_argument("--batch-size", type=int, default=None, help=f"default {d.batch_size} for lstm-ae (mm-vae {v.batch_size})")
    p.add_argument("--lr", type=float, default=None,
                   help=f"Adam learning rate (default {d.learning_rate} for lstm-ae; mm-vae {v.learning_rate}, the seed's)")
    p.add_argument("--limit", type=int, default=None, help="train on the first N rows only (quick trials)")
    p.add_argument("--sample", type=int, default=None, metavar="N",
                   help="HATS catalogs: train on N rows drawn stratified by partition (default: all rows up "
                        "to 2,000,000); recorded in the model card")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model directory")
    p.set_defaults(func=run)


DEFAULT_HATS_SAMPLE = 2_000_000  # the paper trained on 3.1M stars; a sample this size is statistically the same


def run(args: argparse.Namespace) -> int:
    from core.training import train_runs

    if args.model == "mm-vae" or args.detections:
        return run_multimodal(args)
    # The model's own defaults (the paper's for lstm-ae); looking the model up imports TensorFlow, quietly.
    start_tensorflow(args.verbose)
    d = model_class(args.model).default_config()
    config = TrainConfig(
        max_epochs=d.max_epochs if args.max_epochs is None else args.max_epochs,
        patience=d.patience if args.patience is None else args.patience,
        batch_size=d.batch_size if args.batch_size is None else args.batch_size,
        learning_rate=d.learning_rate if args.lr is None else args.lr,
        seed=args.seed,
    )
    if args.runs < 1:
        raise ConfigError(f"--runs must be at least 1, got {args.runs}")
    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit must be at least 1 row, got {args.limit}")
    output_dir(args.out, overwrite=args.overwrite)
    from core.partitioned import is_hats, stratified_sample

    sample = None
    if is_hats(args.catalog):
        df, sample = stratified_sample(args.catalog, args.sample or DEFAULT_HATS_SAMPLE, seed=args.seed)
        print(f"drew {sample['n_sample']:,} of {sample['n_catalog']:,} stars from {sample['partitions']} "
              "partitions (stratified by sky region)")
    else:
        df = read_catalog_parquet(args.catalog, "train")
    bands = band_set_of(df)
    if args.limit:
        attrs = df.attrs
        df = df.iloc[: args.limit].reset_index(drop=True)
        df.attrs = attrs
    start_tensorflow(args.verbose)
    tty = sys.stderr.isatty()
    print(f"training {args.runs} x {args.model} on {len(df):,} stars, bands {''.join(bands.names)}")

    def on_run(r: RunRecord) -> None:
        print(
            f"run {r.run}: {r.epochs} epochs (best {r.best_epoch + 1}), train {r.train_loss:.3e}, "
            f"val {r.val_loss:.3e}, test {r.test_loss:.3e}, {r.seconds:.1f} s",
            flush=True,
        )

    result = train_runs(
        df,
        bands,
        model=args.model,
        runs=args.runs,
        seed=args.seed,
        config=config,
        out_dir=args.out,
        overwrite=args.overwrite,
        progress=tty,
        source=args.catalog,
        on_run=on_run,
        sample_info=sample,
    )
    print()
    print(result.format_summary())
    return 0


def run_multimodal(args: argparse.Namespace) -> int:
    """``--model mm-vae``: the seed-001 multi-modal VAE (SED + dm-dt + folded light curve)."""
    import time

    from core.epochs import read_epochs
    from core.multimodal import train_multimodal

    if args.model != "mm-vae" or not args.detections:
        raise ConfigError("--detections goes with --model mm-vae (and mm-vae needs --detections DET.parquet)")
    if args.runs < 1:
        raise ConfigError(f"--runs must be at least 1, got {args.runs}")
    output_dir(args.out, overwrite=args.overwrite)
    df = read_catalog_parquet(args.catalog, "train")
    bands = band_set_of(df)
    if args.limit:
        attrs = df.attrs
        df = df.iloc[: args.limit].reset_index(drop=True)
        df.attrs = attrs
    epochs = read_epochs(args.detections, bands)
    if args.only_with_epochs:
        from core.multimodal import stars_with_epochs

        has = stars_with_epochs(df, epochs)
        attrs = df.attrs
        df = df[has].reset_index(drop=True)
        df.attrs = attrs
        print(f"--only-with-epochs: {int(has.sum()):,} stars have detections; {int((~has).sum()):,} without are left out")
    if args.map_sample < 100:
        raise ConfigError(f"--map-sample must be at least 100 stars, got {args.map_sample}")
    v = VAEConfig()
    config = VAEConfig(max_epochs=args.max_epochs or v.max_epochs,
                       patience=v.patience if args.patience is None else args.patience,
                       batch_size=args.batch_size or v.batch_size, learning_rate=args.lr or v.learning_rate,
                       seed=args.seed)
    start_tensorflow(args.verbose)
    print(f"training {args.runs} x mm-vae on {len(df):,} stars and {len(epochs):,} detections")
    t0 = time.perf_counter()
    result = train_multimodal(df, epochs, args.out, bands, runs=args.runs, seed=args.seed, config=config,
                              map_kind=args.map, map_sample=args.map_sample, overwrite=args.overwrite,
                              progress=sys.stderr.isatty(),
                              source=args.catalog, detections_source=args.detections)
    print(result.format_summary())
    print(f"features {result.seconds['features']:.1f} s, map {result.seconds.get('map', 0):.1f} s, "
          f"total {time.perf_counter() - t0:.1f} s")
    return 0
