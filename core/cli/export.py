"""``sedscape export``: reproduce a dashboard export from the selection geometry in its provenance."""

from __future__ import annotations

import argparse
import sys
import time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export the stars a selection geometry picks from a scored catalog (CSV, Parquet, FITS, VOTable)",
        description=(
            "Select the stars of SCORED that a selection geometry describes (a lasso or box in a view's "
            "coordinates, or a preset) and write them with the provenance, as the dashboard's export does. "
            "SELECTION is a JSON geometry, a JSON provenance, or an earlier export (any format) whose "
            "provenance holds the geometry: the rows come out the same as the dashboard's."
        ),
    )
    p.add_argument("scored", help="scored Parquet catalog (from `sedscape score`)")
    p.add_argument("--selection", required=True, help="selection geometry: JSON, or an earlier sedscape export")
    p.add_argument("--out", required=True, help="file to write")
    p.add_argument("--format", choices=("csv", "parquet", "fits", "votable"), default=None,
                   help="output format (default: from the --out suffix: .csv .parquet .fits .vot)")  # fmt: skip
    p.add_argument("--columns", choices=("all", "catalog"), default="all",
                   help="all: every catalog and model column (default); catalog: the input catalog's columns")  # fmt: skip
    p.add_argument("--threshold", type=float, default=None,
                   help="anomaly threshold for anomaly_at_threshold (default: the selection's, else the scoring's)")  # fmt: skip
    p.add_argument("--labels", default=None,
                   help="label database for the 'labels' column (default: SCORED.labels.sqlite when it exists)")  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from core.cli._io import input_file, output_file
    from core.export import ExportOptions, export_catalog_selection, format_for_path

    options = ExportOptions(format=args.format or format_for_path(args.out), columns=args.columns)
    input_file(args.scored, "scored catalog")
    input_file(args.selection, "selection file")
    if args.labels:
        input_file(args.labels, "label database")
    output_file(args.out, overwrite=args.overwrite)  # before reading a large catalog
    t0 = time.perf_counter()
    with tqdm(unit="star", desc="exporting", disable=not sys.stderr.isatty()) as bar:

        def progress(rows: int) -> None:
            bar.update(rows - bar.n)

        path, task = export_catalog_selection(
            args.scored, args.selection, args.out, options=options, threshold=args.threshold,
            overwrite=args.overwrite, progress=progress, labels=args.labels,
        )  # fmt: skip
    kind = (task.provenance.get("selection") or {}).get("kind", "?")
    print(f"exported {task.n:,} stars ({kind} selection, {len(task.columns)} columns, {options.format}) "
          f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    print(f"wrote {path}")
    return 0
