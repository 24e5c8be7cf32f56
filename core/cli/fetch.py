"""``sedscape fetch``: download PS1 DR2 photometry of a region (resumable), or a PS1 colour cutout."""

from __future__ import annotations

import argparse

from core.cli._io import output_dir, output_file
from core.errors import CatalogError, ConfigError, OutputExistsError

PS1_EPILOG = """\
The paper's data set (Hutchinson et al. 2025): all stars with 60 <= b <= 80 deg:

  sedscape fetch ps1 --galactic-annulus 60 80 --out ps1_ngc --server-cuts --ebv sfd

The annulus is ~2,450 deg^2, ~720 tiles of 2 deg. Assuming ~15-25 thousand PS1 DR2 mean objects per
deg^2 at these latitudes, that is a few tens of millions of raw rows (~10-20 GB of VOTable); the paper's
cuts leave ~3.1 million stars. --server-cuts runs the n >= 5 and error <= 0.05 cuts inside MAST and
shrinks the download ~5-10x (the printed funnel then starts after those cuts; the metadata says so).
Assuming ~5 MB/s over 4 concurrent jobs: ~1 h raw, ~10 min with --server-cuts, plus queueing at MAST.
These are assumptions, not measurements. Interrupt at will: finished tiles stay in OUT/tiles and the
same command resumes. PS1-STRM star probabilities (prob_star cut) are joined only when
SEDSCAPE_PS1_STRM_TAP_URL (and SEDSCAPE_PS1_STRM_TABLE) name a TAP service offering them; otherwise
the funnel reports the prob_star cut as not applied. --ebv sfd needs the dustmaps package and its SFD map.

Endpoints: SEDSCAPE_PS1_TAP_URL (default MAST PS1 DR2 TAP), SEDSCAPE_PS1_IMAGE_URL; timeouts and
retries: SEDSCAPE_ARCHIVE_CONNECT_TIMEOUT, _READ_TIMEOUT, _RETRIES, _WORKERS, _OFFLINE_TTL.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fetch", help="download PS1 DR2 photometry of a region, or a PS1 colour cutout",
                       description="Download data from the archives the paper used.")
    what = p.add_subparsers(dest="source", metavar="SOURCE", required=True)

    ps1 = what.add_parser(
        "ps1", help="PS1 DR2 mean photometry of a cone or Galactic annulus (MAST TAP, resumable)",
        description=(
            "Split the region into RA/Dec tiles, fetch each as an async TAP job (bounded concurrency), "
            "write each finished tile to OUT/tiles (so an interrupted fetch resumes), merge, rename to the "
            "sedscape contract, apply the paper's cuts and dereddening and print the funnel. Writes "
            "OUT/ps1_raw.parquet (all rows) and OUT/ps1_selected.parquet."
        ),
        epilog=PS1_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    region = ps1.add_mutually_exclusive_group(required=True)
    region.add_argument("--cone", nargs=3, type=float, metavar=("RA", "DEC", "RADIUS"), help="degrees")
    region.add_argument("--galactic-annulus", nargs=2, type=float, metavar=("BMIN", "BMAX"),
                        help="all l with BMIN <= b <= BMAX (degrees); the paper used 60 80")
    ps1.add_argument("--out", required=True, help="output folder (tiles, merged and selected catalogs)")
    ps1.add_argument("--tile-deg", type=float, default=2.0, help="tile size in degrees (default 2)")
    ps1.add_argument("--server-cuts", action="store_true",
                     help="apply the n >= 5 and error <= 0.05 cuts inside MAST (smaller download)")
    ps1.add_argument("--workers", type=int, default=None, help="concurrent TAP jobs (default 4)")
    ps1.add_argument("--sync", action="store_true", help="use synchronous queries instead of async jobs")
    ps1.add_argument("--ebv", choices=("sfd", "none"), default="sfd",
                     help="deredden with SFD E(B-V) via dustmaps (default) or not at all")
    ps1.add_argument("--no-cuts", action="store_true", help="write the merged rows without selection cuts")
    ps1.add_argument("--format", choices=("parquet", "hats"), default="parquet",
                     help="hats: stream the tiles one by one into OUT/ps1_raw and OUT/ps1_selected HATS "
                          "catalogs (never merged in memory; for regions of any size)")
    ps1.add_argument("--overwrite", action="store_true", help="replace existing merged/selected files")
    ps1.set_defaults(func=run_ps1)

    det = what.add_parser(
        "ps1-detections", help="PS1 DR2 single-epoch detections of a catalog's stars (MAST TAP, resumable)",
        description=(
            "Query dbo.Detection for the obj_id (PS1 objID) of every star of CATALOG in chunks (one TAP job each, "
            "saved to OUT.parts/ so an interrupted fetch resumes), convert psfFlux (Jy) to AB magnitudes and "
            "filterID to bands, and write the epoch table OUT (Parquet, sorted by star). Assumption, not a "
            "measurement: ~60 detections and ~6 kB of VOTable per star."
        ),
    )
    det.add_argument("catalog", help="catalog Parquet whose obj_id are PS1 objIDs")
    det.add_argument("--out", required=True, help="epoch table to write (Parquet)")
    det.add_argument("--chunk-size", type=int, default=500, help="objects per TAP query (default 500)")
    det.add_argument("--workers", type=int, default=None, help="concurrent TAP jobs (default 4)")
    det.add_argument("--sync", action="store_true", help="use synchronous queries instead of async jobs")
    det.add_argument("--overwrite", action="store_true", help="replace OUT if it exists (the parts are kept)")
    det.set_defaults(func=run_detections)

    cut = what.add_parser("cutout", help="a PS1 colour JPEG cutout (0.25 arcsec/pixel)",
                          description="Fetch a colour JPEG cutout from the PS1 image service.")
    cut.add_argument("ra", type=float)
    cut.add_argument("dec", type=float)
    cut.add_argument("--out", required=True, help="output JPEG file")
    cut.add_argument("--size", type=int, default=240, help="pixels on a side at 0.25 arcsec/pixel (default 240)")
    cut.add_argument("--filters", default="gri", help="1-3 PS1 bands, e.g. gri (default), grz, y")
    cut.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    cut.set_defaults(func=run_cutout)


def run_ps1(args: argparse.Namespace) -> int:
    from core.archives.config import archive_config
    from core.archives.ps1 import Cone, GalacticAnnulus, PS1Fetcher
    from core.bands import PS1
    from core.catalog import write_parquet
    from core.pipeline import select

    out = output_dir(args.out)
    hats = args.format == "hats"
    raw_path, sel_path = (out / "ps1_raw", out / "ps1_selected") if hats else \
        (out / "ps1_raw.parquet", out / "ps1_selected.parquet")
    for p in (raw_path, sel_path):
        if p.exists() and not args.overwrite:
            raise OutputExistsError(f"{p} exists; pass --overwrite to replace it (the tiles are kept either way)")
    if args.ebv == "sfd":
        try:
            import dustmaps.sfd  # noqa: F401
        except ImportError:
            raise ConfigError(
                "--ebv sfd needs the dustmaps package and its SFD map (pip install dustmaps; "
                "python -c 'import dustmaps.sfd; dustmaps.sfd.fetch()'); or pass --ebv none"
            ) from None
    region = Cone(*args.cone) if args.cone else GalacticAnnulus(*args.galactic_annulus)
    overrides = {"max_workers": args.workers} if args.workers else {}
    fetcher = PS1Fetcher(out, region, tile_deg=args.tile_deg, server_cuts=args.server_cuts,
                         config=archive_config("ps1", **overrides), mode="sync" if args.sync else "async")
    n = len(fetcher.tiles)
    print(f"{region.describe()}: {n} tile{'s' * (n != 1)} of {args.tile_deg:g} deg from {fetcher.config.url}")
    if hats:
        from core.cli._hats import stream_ps1_hats

        return stream_ps1_hats(args, fetcher, raw_path, sel_path)
    result = fetcher.run()
    print(f"merged {len(result.catalog):,} rows from {result.n_tiles} tiles ({result.n_tiles_resumed} resumed "
          f"from disk); dropped {result.n_duplicates:,} duplicates and {result.n_outside_region:,} rows "
          "outside the region")
    if len(result.catalog) == 0:
        raise CatalogError(f"the service returned no PS1 objects in the {region.describe()} (PS1 covers "
                           "Dec > -30 deg); nothing written")
    if not result.provenance["prob_star"]:
        print("no PS1-STRM prob_star column: the service does not offer it here (the cut will be skipped)")
    write_parquet(result.catalog, raw_path, overwrite=args.overwrite)
    selected, funnel = select(result.catalog, PS1, cuts=not args.no_cuts,
                              deredden=args.ebv != "none", ebv="sfd" if args.ebv == "sfd" else "none")
    if args.server_cuts:
        print("(n >= 5 and error <= 0.05 cuts were applied inside MAST before the rows below)")
    print(funnel.format())
    write_parquet(selected, sel_path, overwrite=args.overwrite)
    print(f"wrote {raw_path} ({len(result.catalog):,} rows) and {sel_path} ({len(selected):,} stars)")
    return 0


def run_cutout(args: argparse.Namespace) -> int:
    from core.archives.cache import atomic_write_bytes
    from core.archives.cutouts import fetch_cutout

    out = output_file(args.out, overwrite=args.overwrite)
    cut = fetch_cutout(args.ra, args.dec, size=args.size, filters=args.filters)
    atomic_write_bytes(out, cut.data)
    if cut.placeholder:
        print(f"wrote a placeholder to {out}: {cut.message}")
        return 1
    print(f"wrote {out} ({len(cut.data):,} bytes, {args.size} px at 0.25 arcsec/px, {args.filters})")
    return 0


def run_detections(args: argparse.Namespace) -> int:
    from core.archives.config import archive_config
    from core.archives.ps1_detections import DetectionFetcher
    from core.catalog import read_parquet
    from core.cli._io import output_file
    from core.epochs import validate_epochs, write_epochs

    out = output_file(args.out, overwrite=args.overwrite)
    ids = read_parquet(args.catalog, columns=["obj_id"])["obj_id"].to_numpy()
    overrides = {"max_workers": args.workers} if args.workers else {}
    fetcher = DetectionFetcher(out.with_name(out.name + ".parts"), ids, chunk_size=args.chunk_size,
                               config=archive_config("ps1", **overrides), mode="sync" if args.sync else "async")
    print(f"{len(fetcher.obj_ids):,} objects in {len(fetcher.chunks)} chunks from {fetcher.config.url}")
    res = fetcher.run()
    if len(res.epochs) == 0:
        raise CatalogError(f"the service returned no detections for the {len(ids):,} objects of {args.catalog}; "
                           "nothing written")
    rep = validate_epochs(res.epochs, source=str(out), catalog_ids=ids)
    write_epochs(res.epochs, out, metadata={"catalog": str(args.catalog)}, overwrite=args.overwrite)
    print(f"{res.n_chunks_resumed} of {res.n_chunks} chunks resumed from disk; {rep.summary()}")
    print(f"wrote {out}")
    return 0
