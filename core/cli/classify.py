"""``sedscape classify``: train a small head on a frozen encoder's embedding (with baselines), or apply one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.errors import ConfigError, OutputExistsError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "classify",
        help="classifiers on a frozen masked-ae embedding: `classify train` (with baselines) and `classify apply`",
        description="Frozen-encoder classifiers (masked pretraining, then a small head on the embedding).",
    )
    verbs = p.add_subparsers(dest="classify_verb", metavar="ACTION")
    t = verbs.add_parser(
        "train",
        help="train a head on the frozen embedding; compare with XGBoost and the LSTM-AE's 2-D latent",
        description=(
            "Train a small TensorFlow head (softmax, class weights for rare classes) on the frozen embedding of "
            "ENCODER for the labels in LABELS (a column of CATALOG, e.g. true_class or simbad_category, or a CSV "
            "of obj_id,label), on a stratified split; report per class ROC-AUC, PR-AUC and precision among the "
            "top 1,000 test stars. --baseline xgboost trains XGBoost on magnitudes and colours on the same split; "
            "if CATALOG is scored, the same head on its default model's 2-D latent is compared too."
        ),
    )
    t.add_argument("catalog", help="Parquet catalog (scored or not) with the encoder's bands")
    t.add_argument("--labels", required=True, help="label column of CATALOG, or a CSV file with obj_id,label")
    t.add_argument("--encoder", required=True, help="masked-ae model directory whose embedding is used (frozen)")
    t.add_argument("--out", required=True, help="classifier directory to write")
    t.add_argument("--baseline", choices=["xgboost"], default=None, help="also train XGBoost on mags and colours")
    t.add_argument(
        "--merge", action="append", default=[], metavar="NEW=OLD1,OLD2",
        help="merge label classes, e.g. --merge wd=wd_da,wd_db (repeatable)",
    )
    t.add_argument("--latent-model", default="default",
                   help="key of the scored model whose 2-D latent is compared (default: the default model; 'none' skips)")
    t.add_argument("--max-per-class", type=int, default=None, help="cap each class in the training set (speed)")
    t.add_argument("--hidden", type=int, default=64, help="hidden units of the head (0: logistic regression)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--overwrite", action="store_true", help="replace an existing classifier directory")
    t.set_defaults(func=run_train)

    a = verbs.add_parser(
        "apply",
        help="add p_<class> columns to a catalog with a trained classifier",
        description="Add one p_<class> probability column per class (the frozen-encoder head) to CATALOG.",
    )
    a.add_argument("catalog")
    a.add_argument("--classifier", required=True, help="directory written by `sedscape classify train`")
    a.add_argument("--encoder", default=None, help="encoder model directory (default: the one recorded in the classifier)")
    a.add_argument("--out", required=True)
    a.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    a.set_defaults(func=run_apply)
    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])


def _merge(specs: list[str]) -> dict[str, list[str]]:
    out = {}
    for spec in specs:
        new, sep, old = spec.partition("=")
        if not sep or not new.strip() or not old.strip():
            raise ConfigError(f"--merge {spec!r}: expected NEW=OLD1,OLD2")
        out[new.strip()] = [o.strip() for o in old.split(",") if o.strip()]
    return out


def run_train(args: argparse.Namespace) -> int:
    from core.catalog import read_parquet
    from core.classify import HeadConfig, load_labels, train_classifier, write_classifier
    from core.scoring import TrainedModel

    out = Path(args.out)
    if (out / "classifier.json").exists() and not args.overwrite:
        raise OutputExistsError(f"{out} already holds a classifier; pass --overwrite to replace it")
    encoder = TrainedModel.load(args.encoder)
    df = read_parquet(args.catalog)
    labels = load_labels(df, args.labels, _merge(args.merge))
    print(f"{int(labels.notna().sum()):,} labelled stars of {len(df):,}; classes: "
          + ", ".join(f"{c} {n:,}" for c, n in labels.value_counts().items()))
    result = train_classifier(
        df, labels, encoder, config=HeadConfig(hidden=args.hidden, seed=args.seed), baseline=args.baseline,
        latent_key=None if args.latent_model == "none" else args.latent_model, max_per_class=args.max_per_class,
        label_source=args.labels, progress=sys.stderr.isatty(),
    )
    write_classifier(out, result.head, result.card, result.xgboost, overwrite=args.overwrite)
    table = result.metrics_table()
    cols = ["method", "class", "n_positive", "roc_auc", "pr_auc", "precision_top1000"]
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in result.card["seconds"].items()))
    print(f"wrote {out}")
    return 0


def run_apply(args: argparse.Namespace) -> int:
    from core.catalog import read_parquet, write_parquet
    from core.classify import apply_classifier, read_classifier
    from core.scoring import TrainedModel

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise OutputExistsError(f"{out} exists; pass --overwrite to replace it")
    head, card = read_classifier(args.classifier)
    encoder_dir = args.encoder or card["encoder"]["model_dir"]
    encoder = TrainedModel.load(encoder_dir, run=card["encoder"]["run"])
    df = read_parquet(args.catalog)
    result = apply_classifier(df, head, card, encoder)
    write_parquet(result, out, overwrite=args.overwrite)
    print(f"added {', '.join(card['probability_columns'])} to {len(df):,} stars")
    print(f"wrote {out}")
    return 0
