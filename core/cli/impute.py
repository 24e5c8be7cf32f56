"""``sedscape impute``: fill missing bands with a masked model's predictions and calibrated uncertainties."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import OutputExistsError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "impute",
        help="fill missing bands with a masked-ae model (prediction + calibrated uncertainty, <band>_imputed flags)",
        description=(
            "Fill each missing magnitude of CATALOG (NaN or archive sentinel, e.g. kept by `sedscape ingest "
            "--allow-missing K`) with the masked model's prediction from the star's other bands; its error column "
            "gets the 1-sigma uncertainty calibrated on held-out stars whose bands were hidden on purpose (68%% of "
            "such errors fall within it), and <band>_imputed = true marks the filled values. Stars with too few "
            "bands keep their gaps and are counted."
        ),
    )
    p.add_argument("catalog", help="Parquet catalog with the model's bands (some missing)")
    p.add_argument("--model", required=True, help="masked-ae model directory (sedscape train --model masked-ae)")
    p.add_argument("--out", required=True, help="Parquet file to write")
    p.add_argument("--run", type=int, default=None, help="run to use (default: the card's chosen run)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.catalog import read_parquet, write_parquet
    from core.imputation import impute_catalog
    from core.scoring import TrainedModel

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise OutputExistsError(f"{out} exists; pass --overwrite to replace it")
    model = TrainedModel.load(args.model, run=args.run)
    df = read_parquet(args.catalog)
    filled, summary = impute_catalog(df, model)
    write_parquet(filled, out, overwrite=args.overwrite)
    per = ", ".join(f"{b} {n:,}" for b, n in summary["per_band"].items())
    print(f"{summary['n_rows_with_missing']:,} of {summary['n_rows']:,} stars lack bands; imputed "
          f"{summary['n_rows_imputed']:,} with {model.name} run {model.run} (bands filled: {per})")
    if summary["n_rows_too_few_bands"]:
        print(f"{summary['n_rows_too_few_bands']:,} stars have fewer than {summary['min_visible_bands']} bands and "
              "keep their gaps")
    print(f"wrote {out}")
    return 0
