"""``sedscape samp send``: send a catalog file to TOPCAT, Aladin or DS9 over SAMP."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "samp",
        help="send a catalog to SAMP applications (TOPCAT, Aladin) through the running hub",
        description="Talk to SAMP applications through the hub they run (found with SAMP_HUB or ~/.samp).",
    )
    verbs = p.add_subparsers(dest="samp_verb", metavar="ACTION", required=True)
    send = verbs.add_parser(
        "send",
        help="send TABLE (Parquet, FITS, VOTable or CSV) as a VOTable to every client that loads tables",
        description="Send TABLE to every SAMP client that accepts table.load.votable and wait for each to "
                    "load it. Exits with status 2 when no hub is running or no client accepts tables.",
    )  # fmt: skip
    send.add_argument("table", help="catalog file: Parquet, FITS, VOTable or CSV/ECSV")
    send.add_argument("--hub-url", default=None,
                      help="the hub's lockfile (path, file:// URL or SAMP_HUB's std-lockurl: value); "
                           "default: $SAMP_HUB, else ~/.samp")  # fmt: skip
    send.add_argument("--name", default=None, help="table name shown by the receivers (default: the file name)")
    send.add_argument("--timeout", type=int, default=60, help="seconds to wait for each client to load it")
    send.set_defaults(func=run_send)


def run_send(args: argparse.Namespace) -> int:
    from core.cli._io import input_file
    from core.errors import SampError
    from core.export import ExportOptions, export_rows
    from core.export.read import sniff_format
    from core.samp import SampLink, find_hub, read_any_table

    table = input_file(args.table, "catalog file")
    find_hub(args.hub_url)  # no hub: say so before reading a large file
    name = args.name or table.name
    link = SampLink(hub_url=args.hub_url)
    try:
        with tempfile.TemporaryDirectory(prefix="sedscape-samp-") as tmp:
            if sniff_format(table) == "votable":
                votable = table
            else:
                df = read_any_table(table)
                votable = Path(tmp) / f"{table.stem}.vot"
                export_rows(df, range(len(df)), votable, columns=list(df.columns),
                            provenance={"source": str(table.resolve())}, options=ExportOptions("votable"))  # fmt: skip
            results = link.send_table_and_wait(votable, name=name, timeout_s=args.timeout)
    finally:
        link.close()
    if not results:
        raise SampError("the SAMP hub is running but no client accepts tables (table.load.votable); start TOPCAT")
    for who, outcome in results.items():
        print(f"{who}: {'loaded ' + name if outcome == 'ok' else 'failed: ' + outcome}")
    return 0 if any(v == "ok" for v in results.values()) else 2
