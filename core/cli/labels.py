"""``sedscape labels list|export|import``: the labels given to a catalog's stars, to and from CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli._io import input_file, output_file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "labels",
        help="list, export or import the labels given to a catalog's stars (dashboard labels, anomaly answers)",
        description=(
            "Labels live in a SQLite database beside the catalog (CATALOG.labels.sqlite, or --labels PATH, or "
            "$SEDSCAPE_LABELS). Export writes CSV rows obj_id,label,origin,created,note for notebooks and TOPCAT; "
            "import adds the labels of a CSV with obj_id and label columns."
        ),
    )
    verbs = p.add_subparsers(dest="labels_verb", metavar="ACTION", required=True)
    for name, text in (("list", "labels and how many stars carry each"),
                       ("export", "write labels to a CSV file"),
                       ("import", "add the labels of a CSV file")):  # fmt: skip
        v = verbs.add_parser(name, help=text)
        v.add_argument("catalog", help="the catalog the labels belong to (its database sits beside it)")
        v.add_argument("--labels", default=None, help="the label database (default: CATALOG.labels.sqlite)")
        if name == "export":
            v.add_argument("--out", required=True, help="CSV file to write")
            v.add_argument("--label", default=None, help="only this label")
            v.add_argument("--overwrite", action="store_true", help="replace an existing CSV")
        if name == "import":
            v.add_argument("csv", help="CSV with obj_id and label columns (origin, created, note kept if present)")
            v.add_argument("--label", default=None, help="give this label to every row (the CSV needs no label column)")
        v.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.labels import LabelStore, labels_path_for

    if args.labels_verb == "export":
        output_file(args.out, overwrite=args.overwrite)
    if args.labels_verb == "import":
        input_file(args.csv, "CSV file")
    path = Path(args.labels) if args.labels else labels_path_for(args.catalog)
    if args.labels_verb != "import" and not path.exists():
        print(f"no labels yet: {path} does not exist")
        return 0
    store = LabelStore(path)
    if args.labels_verb == "list":
        summary = store.summary()
        if not summary:
            print(f"{path}: no labels")
        for s in summary:
            print(f"{s.n_stars:>9,}  {s.label}  (last given {s.last})")
    elif args.labels_verb == "export":
        n = store.export_csv(args.out, label=args.label, overwrite=args.overwrite)
        print(f"wrote {n:,} label(s) to {args.out}")
    else:
        n = store.import_csv(args.csv, label=args.label)
        print(f"imported {n:,} label(s) into {path}")
    return 0
