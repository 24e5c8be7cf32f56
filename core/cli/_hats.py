"""The HATS side of the catalog verbs: partitioned inputs and outputs, Dask options (see core.partitioned)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from core.catalog import write_parquet
from core.cuts import CutConfig
from core.errors import CatalogError
from core.pipeline import select


def add_cluster_options(p: argparse.ArgumentParser) -> None:
    """Dask options for verbs that work partition by partition on a HATS catalog."""
    g = p.add_argument_group("Dask (HATS catalogs)")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="use an existing Dask cluster (tcp://host:8786); default: a local cluster")
    g.add_argument("--workers", type=int, default=None, help="local worker processes (default: one per core)")
    g.add_argument("--threads-per-worker", type=int, default=1, help="threads per local worker (default 1)")
    g.add_argument("--memory-per-worker", type=float, default=None, metavar="GB",
                   help="memory limit per local worker in GB (default: 75%% of RAM split evenly)")
    g.add_argument("--in-process", action="store_true",
                   help="run the local workers as threads of this process (quick start, small catalogs)")


def cluster_config(args: argparse.Namespace):
    from core.cluster import ClusterConfig

    mem = None if args.memory_per_worker is None else int(args.memory_per_worker * 1e9)
    return ClusterConfig(scheduler=args.scheduler, n_workers=args.workers,
                         threads_per_worker=args.threads_per_worker, memory_per_worker=mem,
                         processes=not args.in_process)


def run_partitioned(args: argparse.Namespace, out: Path) -> int:
    from core.cluster import dask_client
    from core.partitioned_scoring import score_hats

    with dask_client(cluster_config(args)) as client:
        n_workers = len(client.scheduler_info()["workers"])
        print(f"scoring {args.catalog} on {n_workers} Dask worker{'s' * (n_workers != 1)} "
              f"({'scheduler ' + args.scheduler if args.scheduler else 'local cluster'})", flush=True)
        s = score_hats(args.catalog, args.model, out, threshold=args.threshold, run=args.run,
                       overwrite=args.overwrite, progress=sys.stderr.isatty())
    rate = s.n_rows / s.seconds if s.seconds > 0 else float("nan")
    print(f"scored {s.n_rows:,} stars in {s.n_partitions} partitions ({s.n_resumed} already done) with run "
          f"{s.run} in {s.seconds:.1f} s ({rate:,.0f} stars/s, {rate / n_workers:,.0f} per worker)")
    pct = 100 * s.n_anomalies / s.n_rows if s.n_rows else 0.0
    print(f"anomalies (|residual| > {s.threshold} mag in any band): {s.n_anomalies:,} ({pct:.3f}%)")
    print(f"wrote {out}")
    return 0


def run_mock_hats(args: argparse.Namespace) -> int:
    import sys

    from core.cuts import Funnel
    from core.mock.sky import MockConfig
    from core.mock.stream import DEFAULT_BLOCK_ROWS, write_mock_hats

    n = args.stars if args.stars is not None else MockConfig().n_stars
    from core.cli.mock import _keep_freed_memory

    _keep_freed_memory()
    t0 = time.perf_counter()
    summary = write_mock_hats(
        args.out,
        n,
        args.seed,
        apply_selection=not args.no_cuts,
        block_rows=args.block_rows or DEFAULT_BLOCK_ROWS,
        partition_rows=args.partition_rows,
        overwrite=args.overwrite,
        progress=sys.stderr.isatty(),
    )
    if summary.funnel is not None:
        print(summary.funnel.format() if isinstance(summary.funnel, Funnel) else summary.funnel)
    hats = (summary.meta or {}).get("hats", {})
    print(f"wrote {summary.n_stars:,} rows ({summary.n_precut:,} drawn before the cuts) to the HATS catalog "
          f"{args.out} in {time.perf_counter() - t0:.1f} s ({hats.get('partitions', '?')} partitions)")
    return 0


def run_ingest_hats(args: argparse.Namespace, out: Path, bands, config: CutConfig, fmt: str) -> int:
    """A HATS input: select partition by partition (the cuts are row by row), stream into the output."""
    from core.mock.stream import merge_funnels
    from core.partitioned import HatsWriter, iter_partitions, read_sidecar

    meta_in = read_sidecar(args.input)
    funnels, n_out, meta = [], 0, {}
    frames = []
    writer = HatsWriter(out, overwrite=args.overwrite, unique_id=None) if fmt == "hats" else None
    try:
        for _, part in iter_partitions(args.input):
            part.attrs["sedscape"] = dict(meta_in)
            sel, funnel = select(part, bands, config=config, cuts=not args.no_cuts,
                                 deredden=not args.no_deredden, ebv=args.ebv)
            funnels.append(funnel)
            meta = dict(sel.attrs.get("sedscape", {}))
            n_out += len(sel)
            sel.attrs = {}
            if writer is not None:
                writer.add(sel)
            else:
                frames.append(sel)
        funnel = merge_funnels(funnels)
        print(funnel.format())
        if n_out == 0:
            raise CatalogError(f"no star passed the cuts (see the funnel above); nothing written to {out}")
        meta["funnel"] = funnel.to_dict()
        if writer is not None:
            writer.close(meta)
        else:
            import pandas as pd

            df = pd.concat(frames, ignore_index=True)
            write_parquet(df, out, metadata=meta, overwrite=args.overwrite)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    print(f"wrote {n_out:,} stars to {out}")
    return 0


def run_crossmatch_hats(args: argparse.Namespace, survey: str) -> int:
    """The LSDB path: partition against partition, with the survey's margin cache."""
    import sys

    from core.archives.hats_match import crossmatch_hats
    from core.partitioned import check_output, is_hats, output_format, write_catalog_any

    out = Path(args.out)
    fmt = "hats" if is_hats(args.catalog) and args.out_format == "auto" else output_format(out, args.out_format)
    check_output(out, args.overwrite)
    radius = args.radius
    print(f"matching {args.catalog} with the HATS catalog {args.hats} ({radius:g} arcsec, LSDB)")
    if fmt == "hats":
        _, summary = crossmatch_hats(args.catalog, args.hats, survey=survey, radius_arcsec=radius,
                                     margin_cache=args.margin, out=out, overwrite=args.overwrite,
                                     progress=sys.stderr.isatty())
    else:
        df, summary = crossmatch_hats(args.catalog, args.hats, survey=survey, radius_arcsec=radius,
                                      margin_cache=args.margin, progress=sys.stderr.isatty())
        write_catalog_any(df, out, fmt="parquet", metadata={survey: summary}, overwrite=args.overwrite)
    counts = ", ".join(f"{k.removeprefix('n_')} {v:,}" for k, v in summary.items() if k.startswith("n_"))
    print(f"{survey}: {counts}")
    print(f"wrote {out}")
    return 0


def stream_ps1_hats(args: argparse.Namespace, fetcher, raw_path: Path, sel_path: Path) -> int:
    """Tiles -> two HATS catalogs, one tile in memory at a time; the cuts run tile by tile (row by row)."""
    from core.bands import PS1
    from core.mock.stream import merge_funnels
    from core.partitioned import HatsWriter
    from core.pipeline import select

    fetcher.run(merge=False)
    raw = HatsWriter(raw_path, catalog_name="ps1_raw", overwrite=args.overwrite, unique_id="obj_id")
    sel = HatsWriter(sel_path, catalog_name="ps1_selected", overwrite=args.overwrite, unique_id="obj_id")
    funnels, n_dup, n_out, n_raw, meta = [], 0, 0, 0, {}
    prov = {**fetcher.manifest(), "streamed_to_hats": True}
    try:
        for df, dup, outside in fetcher.iter_tiles():
            n_dup, n_out = n_dup + dup, n_out + outside
            if len(df) == 0:
                continue
            prov["prob_star"] = prov.get("prob_star", False) or "prob_star" in df.columns
            n_raw += len(df)
            raw.add(df)
            df.attrs["sedscape"] = {"source": "ps1_dr2_tap"}
            s, funnel = select(df, PS1, cuts=not args.no_cuts, deredden=args.ebv != "none",
                               ebv="sfd" if args.ebv == "sfd" else "none")
            funnels.append(funnel)
            meta = dict(s.attrs.get("sedscape", {}))
            s.attrs = {}
            sel.add(s)
        if n_raw == 0:
            raise CatalogError(f"the service returned no PS1 objects in the {fetcher.region.describe()}; "
                               "nothing written")
        funnel = merge_funnels(funnels)
        prov.update({"n_duplicates_dropped_in_tiles": n_dup, "n_outside_region_dropped": n_out})
        raw.close({"source": "ps1_dr2_tap", "provenance": prov})
        meta.update({"source": "ps1_dr2_tap", "provenance": prov, "funnel": funnel.to_dict()})
        if sel.n_rows:
            sel.close(meta)
        else:
            sel.abort()
    except BaseException:
        raw.abort()
        sel.abort()
        raise
    print(f"streamed {n_raw:,} rows from {len(fetcher.tiles)} tiles ({fetcher.n_resumed} resumed from disk); "
          f"dropped {n_dup + raw.n_duplicates:,} duplicates and {n_out:,} rows outside the region")
    if args.server_cuts:
        print("(n >= 5 and error <= 0.05 cuts were applied inside MAST before the rows below)")
    print(funnel.format())
    print(f"wrote HATS catalogs {raw_path} ({raw.n_rows:,} rows) and {sel_path} ({sel.n_rows:,} stars)")
    return 0
