"""``sedscape prepare-default``: build the embedded default (mock sky scored by the shipped model)."""

from __future__ import annotations

import argparse

from core import paths
from core.cli._io import input_dir, output_dir
from core.cli._tensorflow import start_tensorflow
from core.defaults import DEFAULT_SEED, ensure_default_scored


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare-default",
        help="build the default scored mock sky the dashboard opens (once; cached in data/generated/)",
        description=(
            "Generate the default mock sky (seed 1, about 3.1M stars after cuts) and score it with the default "
            "model in data/models/default/. Files that already exist and match the model are reused."
        ),
    )
    p.add_argument("--stars", type=int, default=None, help="stars after cuts (default: the paper's ~3.1M)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--model", default=None, help="model directory (default: data/models/default)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.model:
        input_dir(args.model)
    output_dir(paths.default_scored_path().parent, option="the generated-data folder")
    start_tensorflow(args.verbose)
    path = ensure_default_scored(args.stars, args.seed, args.model)
    print(f"default scored catalog: {path}")
    print(f"model: {args.model or paths.default_model_dir()}")
    return 0
