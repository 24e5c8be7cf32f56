"""``sedscape ingest``: read a catalog file, apply the paper's cuts and dereddening, write contract Parquet."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.bands import get_band_set
from core.cli._io import input_file, output_file
from core.cuts import DEFAULT_CUT_CONFIG, CutConfig
from core.errors import CatalogError, ConfigError
from core.pipeline import EBV_SOURCES, select
from core.readers import READERS, read_catalog

# --option -> CutConfig field, for the single-valued thresholds.
_THRESHOLDS = {
    "min_measurements": (int, "n_<band> >= N in every band"),
    "min_qf_perfect": (float, "QfPerfect >= X in every band"),
    "max_err": (float, "0 < <band>_err <= X in every band"),
    "min_prob_star": (float, "prob_star >= X"),
    "max_g_r": (float, "g - r <= X"),
    "min_i_y": (float, "i - y > X"),
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest",
        help="read a photometric catalog (MAST/CasJobs/TAP export, CSV, FITS, VOTable, Parquet), select and deredden",
        description=(
            "Read INPUT into the sedscape catalog contract, apply the selection cuts of Hutchinson et al. (2025) "
            "on observed magnitudes, deredden with E(B-V) and the Schlafly & Finkbeiner (2011) coefficients, and "
            "write Parquet with the funnel and provenance in its metadata. Prints the funnel."
        ),
    )
    p.add_argument("input", help="catalog file; format detected from its extension and content")
    p.add_argument("--out", required=True, help="output Parquet file or HATS directory")
    p.add_argument("--out-format", choices=("auto", "parquet", "hats"), default="auto",
                   help="output format (auto: HATS for a HATS input or an existing HATS directory)")
    p.add_argument("--format", choices=sorted(READERS), default=None, help="force the input format")
    p.add_argument("--bands", default="ps1", help="band set: ps1 (default), sdss, 2mass, gaia, ps1+2mass")
    p.add_argument("--no-cuts", action="store_true", help="keep every row (no selection cuts)")
    p.add_argument("--no-deredden", action="store_true", help="keep observed magnitudes")
    p.add_argument(
        "--ebv",
        choices=EBV_SOURCES,
        default="auto",
        help=(
            "E(B-V) source: auto (default: the file's ebv column, else the SFD map if dustmaps has it, "
            "else no dereddening, said loudly), column, sfd, or none"
        ),
    )
    p.add_argument(
        "--ebv-value",
        type=float,
        default=None,
        metavar="E",
        help=(
            "deredden every star with one E(B-V) on SFD's scale (a cluster field); a reddening measured on "
            "the true scale is E_true / 0.86 here (Schlafly & Finkbeiner 2011), e.g. Praesepe's 0.027 -> 0.031"
        ),
    )
    d = DEFAULT_CUT_CONFIG
    for name, (kind, what) in _THRESHOLDS.items():
        p.add_argument(
            f"--{name.replace('_', '-')}",
            type=kind,
            default=getattr(d, name),
            help=f"{what} (default {getattr(d, name)})",
        )
    p.add_argument(
        "--g-i-range", type=float, nargs=2, metavar=("LO", "HI"), default=d.g_i_range, help="LO < g - i < HI"
    )
    p.add_argument(
        "--z-y-range", type=float, nargs=2, metavar=("LO", "HI"), default=d.z_y_range, help="LO < z - y < HI"
    )
    p.add_argument(
        "--allow-missing",
        type=int,
        default=0,
        metavar="K",
        help=(
            "keep stars that lack up to K bands (default 0: complete photometry, as in the paper); the other cuts "
            "judge only the bands a star has, and the funnel counts the kept incomplete stars. Fill the gaps "
            "with `sedscape impute`"
        ),
    )
    p.add_argument(
        "--unit",
        action="append",
        default=[],
        metavar="COLUMN=UNIT",
        help=(
            "declare a column's unit when the file does not (or override it): RA/Dec in deg, hourangle, rad; "
            "magnitudes as fluxes in Jy, nJy, nanomaggy... (converted to AB mag); errors in mmag. "
            "COLUMN is the file's name or the contract's (ra, g, g_err). Repeatable"
        ),
    )
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=run)


def _units(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        column, sep, unit = item.partition("=")
        if not sep or not column.strip() or not unit.strip():
            raise ConfigError(f"--unit wants COLUMN=UNIT (e.g. raMean=hourangle), got {item!r}")
        out[column.strip()] = unit.strip()
    return out


def run(args: argparse.Namespace) -> int:
    from core.partitioned import is_hats, output_format

    out_fmt = "hats" if is_hats(args.input) and args.out_format == "auto" else output_format(args.out, args.out_format)
    bands = get_band_set(args.bands)
    config = CutConfig(
        **{name: getattr(args, name) for name in _THRESHOLDS},
        g_i_range=tuple(args.g_i_range),
        z_y_range=tuple(args.z_y_range),
        max_missing_bands=args.allow_missing,
    )
    if is_hats(args.input):  # partition by partition (the cuts are row by row)
        from core.cli._hats import run_ingest_hats

        return run_ingest_hats(args, Path(args.out), bands, config, out_fmt)
    # Check before reading: a long read should not end in a refusal.
    out = output_file(args.out, overwrite=args.overwrite) if out_fmt == "parquet" else Path(args.out)
    input_file(args.input, "catalog file")
    df = read_catalog(args.input, format=args.format, bands=bands, units=_units(args.unit))
    fmt = df.attrs["sedscape"]["ingest"]["format"]
    print(f"read {len(df):,} rows from {args.input} ({fmt}, bands {''.join(bands.names)})")
    selected, funnel = select(
        df, bands, config=config, cuts=not args.no_cuts, deredden=not args.no_deredden, ebv=args.ebv,
        ebv_value=args.ebv_value,
    )
    print(funnel.format())
    if len(selected) == 0:
        raise CatalogError(f"no star passed the cuts (see the funnel above); nothing written to {out}")
    dered = selected.attrs["sedscape"].get("dereddened")
    if dered:
        print(f"dereddened with {dered['source']} ({dered.get('ebv_column', 'ebv')})")
    else:
        reason = selected.attrs["sedscape"].get("dereddening_skipped")
        print(f"NOT dereddened: {reason}" if reason else "not dereddened: magnitudes are as observed")
    missing = selected.attrs["sedscape"].get("missing_bands")
    if missing:
        per = ", ".join(f"{b} {n:,}" for b, n in missing["per_band"].items() if n) or "none"
        print(f"kept {missing['n_rows_with_missing']:,} stars with up to {missing['allowed']} missing band(s) "
              f"(missing per band: {per}); fill them with `sedscape impute`")
    from core.partitioned import write_catalog_any

    path = write_catalog_any(selected, out, fmt=out_fmt, overwrite=args.overwrite)
    print(f"wrote {len(selected):,} stars to {path}")
    return 0
