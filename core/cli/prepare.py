"""``sedscape prepare-default``: build the embedded default (mock sky scored by the shipped model)."""

from __future__ import annotations

import argparse
import sys

from core import paths
from core.cli._io import input_dir, output_dir
from core.cli._tensorflow import start_tensorflow
from core.defaults import DEFAULT_SEED, ensure_default_scored


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare-default",
        help="build the default scored mock sky the dashboard opens (once; cached in data/generated/)",
        description=(
            "Generate the default mock sky (seed 1, about 3.1M stars after cuts), PS1-like epochs for a subsample "
            "(variables of every class and some constant stars: data/generated/mock_sky.detections.parquet), and "
            "score it with every shipped model into one catalog: the default model in data/models/default/ under "
            "the bare column names, the masked AE (masked_ae__*) and the multi-modal VAE (mm_*, lc_*; stars with "
            "epochs) where they are shipped. Files that already exist and match the models are reused."
        ),
    )
    p.add_argument("--stars", type=int, default=None, help="stars after cuts (default: the paper's ~3.1M)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--model", default=None, help="model directory (default: data/models/default)")
    p.add_argument("--stellar", action="store_true",
                   help="also add the stellar model's Teff, log g, [Fe/H], E(B-V), distance and stellar_chi2 "
                        "(data/models/stellar) for the dashboard's colour-by, SED overlay and 'poorly fit' preset; "
                        "166 CPU-seconds more for the default sky: 11 min on a busy 2-core machine")  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.model:
        input_dir(args.model)
    output_dir(paths.default_scored_path().parent, option="the generated-data folder")
    start_tensorflow(args.verbose)
    import time

    from core.catalog import read_metadata

    t0 = time.perf_counter()
    path = ensure_default_scored(args.stars, args.seed, args.model)
    meta = read_metadata(path)
    build = meta.get("default_build", {})
    print(f"default scored catalog: {path} ({time.perf_counter() - t0:.0f} s)")
    for key, directory in build.get("models", {}).items():
        print(f"model {key}: {directory}")
    if meta.get("detections"):
        print(f"epochs: {path.parent / meta['detections']}")
    if args.stellar:
        _add_stellar(path)
    return 0


def _add_stellar(path) -> None:
    from core.stellar.defaults import ensure_default_stellar

    input_dir(paths.default_stellar_model_dir(), "stellar model directory")
    ensure_default_stellar(path, progress=sys.stderr.isatty())
    print(f"stellar parameters: {paths.default_stellar_model_dir()}")
