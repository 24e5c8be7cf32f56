"""``sedscape report``: Tables 1-2, anomaly statistics, truth metrics and figures for a scored catalog."""

from __future__ import annotations

import argparse
import sys

from core.cli._io import input_dir, output_dir, parquet_input
from core.cli._tensorflow import start_tensorflow


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write the evaluation report (Markdown + JSON + PNG figures) for a scored catalog",
        description=(
            "Write REPORT_DIR/report.md and report.json with the paper's Table 1 (losses per run) and Table 2 "
            "(% of stars within 0.01/0.025/0.05/0.1 mag), the anomaly fraction, recall/precision against "
            "true_anomaly/true_class when present (mock sky), and figures. --compare trains the named baselines "
            "on the chosen run's split (at most --compare-epochs epochs) and compares test losses; model "
            "directories given to --compare (e.g. an lstm-ae-2d trained on the same catalog) are compared "
            "side by side: Table 2, test losses, run-to-run latent agreement, anomaly-list overlap and "
            "latent smoothness."
        ),
    )
    p.add_argument("scored", help="scored Parquet file from `sedscape score`")
    p.add_argument("--model", required=True, help="the model directory that scored it")
    p.add_argument("--out", required=True, help="report directory")
    p.add_argument("--compare", default="", help="comma-separated models to compare: names are trained here on the same split (e.g. dense-ae,pca); "
                   "model directories (e.g. data/models/lstm-ae-2d) are compared as trained")
    p.add_argument("--compare-epochs", type=int, default=20, help="max epochs for baselines trained here (default 20)")
    p.add_argument("--baseline-model", default=None, help="a dense-AE model directory (from `sedscape train --model dense-ae`)")
    p.add_argument(
        "--key", default=None,
        help="which model of a multi-model scored catalog to report (default: the one scored from --model)",
    )
    p.add_argument(
        "--imputation", action="store_true",
        help="add the imputation evaluation (masked-ae models: hide each band in turn, against KNN and locus baselines)",
    )
    p.add_argument("--imputation-stars", type=int, default=5000, help="complete stars per class to evaluate on")
    p.add_argument("--classifier", default=None, help="a `sedscape classify train` directory: add its comparison")
    p.add_argument("--overwrite", action="store_true", help="replace an existing report in REPORT_DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.classify import read_classifier
    from core.report import write_report
    from core.scoring import load_scored

    scored_path = parquet_input(args.scored, "report", made_by="score")
    input_dir(args.model)
    if args.baseline_model:
        input_dir(args.baseline_model, "baseline model directory")
    output_dir(args.out)
    scored = load_scored(scored_path)
    start_tensorflow(args.verbose)
    compare = [c.strip() for c in args.compare.split(",") if c.strip()]
    imputation = None
    if args.imputation:
        from core.imputation import evaluate_imputation
        from core.scoring import TrainedModel

        imputation = evaluate_imputation(scored, TrainedModel.load(args.model), per_class=args.imputation_stars)
    path = write_report(
        scored,
        args.model,
        args.out,
        compare=compare,
        baseline_model=args.baseline_model,
        compare_epochs=args.compare_epochs,
        overwrite=args.overwrite,
        progress=sys.stderr.isatty(),
        model_key=args.key,
        imputation=imputation,
        classifier=read_classifier(args.classifier)[1] if args.classifier else None,
    )
    import json

    summary = json.loads((path.parent / "report.json").read_text())
    print(f"model shown: {summary['model_label']}")
    print(f"Table 2 (% within threshold), {summary['n_stars']:,} stars:")
    for row in summary["table2_percent_within"]:
        print("  " + "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{v:>4}" for k, v in row.items()))
    a = summary["anomalies"]
    print(f"anomalies: {a['n_anomalies']:,} ({a['percent']:.3f}%) at > {a['threshold']} mag")
    if summary.get("truth") and summary["truth"].get("overall"):
        o = summary["truth"]["overall"]
        fmt = lambda v: "n/a" if v is None else f"{100 * v:.1f}%"  # noqa: E731
        print(f"vs truth: recall {fmt(o['recall'])}, precision {fmt(o['precision'])}")
    share = lambda v: "n/a" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    for row in summary.get("variants") or []:
        print(f"  {row['model']:>10}: all bands within 0.05 mag {row['all_within_0.05']:.3f}%, test loss "
              f"{row['test_loss_chosen']:.3e}, 10-NN agreement {share(row['agreement_mean'])}, anomaly-list "
              f"Jaccard {share(row['anomaly_jaccard_mean'])}")
    for row in summary.get("comparison") or []:
        print(f"  {row['model']:>8}: test loss {row['test_loss']:.3e}, all bands within 0.05: {row['all_within_0.05']:.3f}%")
    print(f"wrote {path}")
    return 0
