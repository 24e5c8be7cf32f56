"""``sedscape train``: the paper's multi-run training protocol on a catalog, written to a model directory."""

from __future__ import annotations

import argparse
import sys

from core.card import RunRecord
from core.catalog import band_set_of, read_parquet
from core.models.base import TrainConfig


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
    p.add_argument("--model", default="lstm-ae", help="lstm-ae (the paper's, default), lstm-ae-2d (decoder sees only the 2-D latent), dense-ae or pca")
    p.add_argument("--runs", type=int, default=5, help="number of runs (default 5)")
    p.add_argument("--seed", type=int, default=41, help="base seed: run r uses seed + r - 1 (default 41)")
    p.add_argument("--max-epochs", type=int, default=d.max_epochs)
    p.add_argument("--patience", type=int, default=d.patience, help="early-stopping patience in epochs")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.learning_rate, help="Adam learning rate")
    p.add_argument("--limit", type=int, default=None, help="train on the first N rows only (quick trials)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model directory")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.training import train_runs

    df = read_parquet(args.catalog)
    bands = band_set_of(df)
    if args.limit:
        attrs = df.attrs
        df = df.iloc[: args.limit].reset_index(drop=True)
        df.attrs = attrs
    config = TrainConfig(
        max_epochs=args.max_epochs,
        patience=args.patience,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        seed=args.seed,
    )
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
    )
    print()
    print(result.format_summary())
    return 0
