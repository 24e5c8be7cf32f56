"""``sedscape crossmatch``: add Gaia DR3 parallaxes or SIMBAD labels to a catalog, as the paper did."""

from __future__ import annotations

import argparse

from core.cli._io import output_file, read_catalog_parquet

_COMMON_EPILOG = """\
Endpoints: SEDSCAPE_GAIA_TAP_URL, SEDSCAPE_SIMBAD_TAP_URL; timeouts and retries:
SEDSCAPE_ARCHIVE_CONNECT_TIMEOUT, _READ_TIMEOUT, _RETRIES, _WORKERS, _OFFLINE_TTL. Answers are cached
under SEDSCAPE_CACHE_DIR (default ~/.cache/sedscape); --no-cache asks the service again.
"""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hats", default=None, metavar="PATH_OR_URL",
                   help="match with LSDB against this HATS catalog of the survey (local or remote, e.g. "
                        "an LSDB data-server URL) instead of its TAP service; for large catalogs (HATS input too)")
    p.add_argument("--margin", default=None, metavar="PATH_OR_URL",
                   help="with --hats: the survey's margin cache, when its collection does not name one")
    p.add_argument("--out-format", choices=("auto", "parquet", "hats"), default="auto",
                   help="with --hats: output format (auto: HATS for a HATS input or an existing HATS directory)")
    p.add_argument("catalog", help="input Parquet catalog (sedscape contract)")
    p.add_argument("--out", required=True, help="output Parquet file")
    p.add_argument("--batch-size", type=int, default=50_000, help="rows per uploaded batch (default 50000)")
    p.add_argument("--workers", type=int, default=None, help="concurrent TAP queries (default 4)")
    p.add_argument("--no-cache", action="store_true", help="ignore and do not write the on-disk cache")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("crossmatch", help="add Gaia DR3 parallaxes or SIMBAD object types to a catalog",
                       description="Cross-match a catalog with Gaia DR3 or SIMBAD through their TAP services.")
    what = p.add_subparsers(dest="service", metavar="SERVICE", required=True)

    g = what.add_parser(
        "gaia", help="Gaia DR3 parallax, distance, M_g and the paper's Gaia subset flag",
        description=(
            "Match each star to Gaia DR3 within 0.25 arcsec (paper's rule: a star with more than one Gaia "
            "source inside the radius gets no match) and add gaia_source_id, parallax, parallax_error, "
            "dist_kpc = 1/parallax, dist_err_kpc, abs_g (M_g from the catalog's g) and gaia_subset "
            "(d < 3 kpc and sigma_d < 0.1 kpc)."
        ),
        epilog=_COMMON_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(g)
    g.add_argument("--method", choices=("cone", "best-neighbour"), default="cone",
                   help="upload positions and search gaia_source (default), or use Gaia's "
                        "panstarrs1_best_neighbour table by PS1 objID")
    g.add_argument("--radius", type=float, default=0.25, help="match radius in arcsec (default 0.25)")
    g.add_argument("--sync", action="store_true", help="synchronous queries instead of async jobs")
    g.set_defaults(func=run_gaia)

    s = what.add_parser(
        "simbad", help="nearest SIMBAD object within 1 arcsec, its type and the paper's category",
        description=(
            "Upload positions to SIMBAD TAP, keep the nearest object of table basic within the radius, and add "
            "simbad_id, simbad_otype, simbad_category and simbad_sep_arcsec. Non-stellar matches are "
            "counted and listed by type; --drop-nonstellar removes them as the paper did."
        ),
        epilog=_COMMON_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(s)
    s.add_argument("--radius", type=float, default=1.0, help="match radius in arcsec (default 1)")
    s.add_argument("--max-pos-err-mas", type=float, default=None,
                   help="only match stars whose PS1 position error is below this (paper: 100); needs "
                        "ra_err_arcsec/dec_err_arcsec columns (written by sedscape fetch ps1)")
    s.add_argument("--drop-nonstellar", action="store_true", help="remove stars matched to non-stellar objects")
    s.add_argument("--async", dest="use_async", action="store_true", help="async jobs instead of sync queries")
    s.set_defaults(func=run_simbad)


def _prepare(args: argparse.Namespace, service: str):
    from core.archives.config import archive_config

    out = output_file(args.out, overwrite=args.overwrite)
    overrides = {"max_workers": args.workers} if args.workers else {}
    return out, read_catalog_parquet(args.catalog, f"crossmatch {service}"), archive_config(service, **overrides)


def run_gaia(args: argparse.Namespace) -> int:
    from core.archives.gaia import crossmatch_gaia
    from core.catalog import write_parquet

    if args.hats:
        from core.cli._hats import run_crossmatch_hats

        return run_crossmatch_hats(args, "gaia")

    out, df, config = _prepare(args, "gaia")
    print(f"matching {len(df):,} stars with Gaia DR3 at {config.url} ({args.method}, {args.radius:g} arcsec)")
    result, summary = crossmatch_gaia(
        df, method=args.method.replace("-", "_"), radius_arcsec=args.radius, batch_size=args.batch_size,
        mode="sync" if args.sync else "async", config=config, cache=not args.no_cache)
    print(summary.format())
    write_parquet(result, out, overwrite=args.overwrite)
    print(f"wrote {out}")
    return 0


def run_simbad(args: argparse.Namespace) -> int:
    from core.archives.simbad import crossmatch_simbad
    from core.catalog import write_parquet

    if args.hats:
        from core.cli._hats import run_crossmatch_hats

        return run_crossmatch_hats(args, "simbad")

    out, df, config = _prepare(args, "simbad")
    print(f"matching {len(df):,} stars with SIMBAD at {config.url} ({args.radius:g} arcsec, nearest)")
    result, summary = crossmatch_simbad(
        df, radius_arcsec=args.radius, max_pos_err_mas=args.max_pos_err_mas,
        drop_nonstellar=args.drop_nonstellar, batch_size=args.batch_size,
        mode="async" if args.use_async else "sync", config=config, cache=not args.no_cache)
    print(summary.format())
    write_parquet(result, out, overwrite=args.overwrite)
    print(f"wrote {out} ({len(result):,} rows)")
    return 0
