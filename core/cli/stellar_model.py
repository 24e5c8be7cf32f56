"""``sedscape stellar-model``: train the data-driven stellar model, infer parameters for every star, report."""

from __future__ import annotations

import argparse
import sys
import time

from core.cli._io import input_dir, input_file, output_dir, output_file, read_catalog_parquet


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stellar-model",
        help="data-driven stellar model (Green et al.): Teff, log g, [Fe/H], E(B-V) and distance for every star",
        description=(
            "Learn, from stars with spectroscopic labels (and parallaxes where they have them), the absolute "
            "magnitude and colours of a star of given (Teff, log g, [Fe/H]) and the passbands' extinction vector "
            "R (train); then give every star of a catalog its parameters, E(B-V), distance modulus and "
            "stellar_chi2 (infer); and compare with the truth, the SF11 coefficients and the autoencoder (report)."
        ),
    )
    verbs = p.add_subparsers(dest="stellar_verb", metavar="STEP")

    t = verbs.add_parser("train", help="train on a catalog with spectroscopic labels")
    t.add_argument("catalog", help="Parquet catalog (sedscape contract) with observed photometry and 'ebv'")
    t.add_argument("--labels", default=None, help="label table (CSV, TSV, FITS, VOTable, ECSV, Parquet) with teff, logg, feh and errors; without it the catalog's own label columns are used")
    t.add_argument("--join-on", default=None, help="join labels on this id column instead of by position")
    t.add_argument("--match-radius", type=float, default=1.0, help="positional match radius in arcsec (default 1)")
    t.add_argument("--out", required=True, help="model directory to create")
    t.add_argument("--iterations", type=int, default=20, help="training iterations (default 20, the seed's)")
    t.add_argument("--epochs", type=int, default=25, help="epochs per iteration (default 25)")
    t.add_argument("--first-epochs", type=int, default=100, help="epochs of the first iteration (default 100)")
    t.add_argument("--batch-size", type=int, default=256)
    t.add_argument("--lr", type=float, default=1e-3, help="initial learning rate (default 1e-3)")
    t.add_argument("--hidden", default="32,32", help="hidden layer sizes of the stellar sector (default 32,32)")
    t.add_argument("--ref-band", default="r", help="band whose absolute magnitude the model learns (default r)")
    t.add_argument("--mag-err-floor", type=float, default=0.02, help="added in quadrature to magnitude errors (default 0.02)")
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--overwrite", action="store_true", help="replace an existing model directory")
    t.set_defaults(func=run_train)

    i = verbs.add_parser("infer", help="Teff, log g, [Fe/H], E(B-V), distance modulus and stellar_chi2 for every star")
    i.add_argument("catalog", help="Parquet catalog (observed photometry: <band>_obs or not dereddened)")
    i.add_argument("--model", required=True, help="stellar model directory from `sedscape stellar-model train`")
    i.add_argument("--out", required=True, help="Parquet file to write (the catalog plus stellar_* columns)")
    i.add_argument("--no-galactic-prior", action="store_true", help="flat prior in distance and [Fe/H]")
    i.add_argument("--chunk-size", type=int, default=2048, help="stars per compiled block (default 2048)")
    i.add_argument("--limit", type=int, default=None, help="only the first N rows")
    i.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    i.set_defaults(func=run_infer)

    r = verbs.add_parser("report", help="R vs SF11, parameter accuracy, figures, stellar vs autoencoder anomalies")
    r.add_argument("catalog", help="catalog with stellar_* columns (from `infer`); mock truth columns are used if present")
    r.add_argument("--model", required=True, help="the stellar model directory")
    r.add_argument("--out", required=True, help="report directory")
    r.add_argument("--scored", action="append", default=[], metavar="NAME=PATH",
                   help="an autoencoder-scored catalog (same rows) for the latent smoothness score and the anomaly comparison; repeatable")
    r.add_argument("--cluster", default=None, help="an inferred catalog of the M44 cone for the Praesepe check")
    r.add_argument("--chi2-threshold", type=float, default=None, help="stellar_chi2 above which a star is a physical anomaly (default: the report's rule)")
    r.add_argument("--overwrite", action="store_true", help="replace an existing report")
    r.set_defaults(func=run_report)

    m = verbs.add_parser("mock-field", help="the mock's LAMOST-like labelled stars seen through more dust (training data)")
    m.add_argument("sky", help="mock sky Parquet from `sedscape mock` (with teff/logg/feh labels)")
    m.add_argument("--out", required=True, help="Parquet file to write")
    m.add_argument("--ebv-max", type=float, default=1.0, help="reddening range of the field, 0..EBV_MAX (default 1.0)")
    m.add_argument("--map-error", type=float, default=0.1, help="fractional error of the field's E(B-V) estimates (default 0.1)")
    m.add_argument("--seed", type=int, default=7)
    m.add_argument("--overwrite", action="store_true")
    m.set_defaults(func=run_mock_field)
    p.set_defaults(func=lambda args: p.print_help() or 1)


def run_train(args: argparse.Namespace) -> int:
    from core.catalog import band_set_of
    from core.errors import ConfigError
    from core.stellar import StellarDataConfig, StellarModelConfig, StellarTrainConfig, train_stellar_model
    from core.stellar.labels import attach_labels, read_label_table

    output_dir(args.out, overwrite=args.overwrite)
    if args.labels:
        input_file(args.labels, "label table")
    df = read_catalog_parquet(args.catalog, "stellar-model train")
    bands = band_set_of(df)
    if args.labels:
        labels = read_label_table(args.labels)
        df, summary = attach_labels(df, labels, on=args.join_on, radius_arcsec=args.match_radius)
        print(summary.format())
    try:
        hidden = tuple(int(h) for h in args.hidden.split(","))
    except ValueError:
        raise ConfigError(f"--hidden must be comma-separated integers, got {args.hidden!r}") from None
    model_config = StellarModelConfig(hidden=hidden, ref_band=args.ref_band)
    config = StellarTrainConfig(
        iterations=args.iterations, epochs=args.epochs, first_epochs=args.first_epochs,
        batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed,
    )
    data_config = StellarDataConfig(mag_err_floor=args.mag_err_floor)
    print(f"training the stellar model on {args.catalog} (bands {''.join(bands.names)})")
    t0 = time.perf_counter()
    result = train_stellar_model(
        df, bands.names, model_config=model_config, data_config=data_config, config=config,
        out_dir=args.out, overwrite=args.overwrite, progress=sys.stderr.isatty(), source=args.catalog,
    )
    n_lab = result.card["catalog"]["n_labelled"]
    print(f"{n_lab:,} labelled stars used ({result.card['catalog']['n_without_labels']:,} rows without labels ignored)")
    print(result.format_summary())
    print(f"trained in {time.perf_counter() - t0:.1f} s")
    return 0


def run_infer(args: argparse.Namespace) -> int:
    import pandas as pd

    from core.card import card_sha256
    from core.catalog import write_parquet
    from core.stellar.inference import (
        InferenceConfig,
        configs_from_card,
        infer_parameters,
        load_stellar_model,
    )

    out = output_file(args.out, overwrite=args.overwrite)
    input_dir(args.model, "stellar model directory")
    model, grid, card = load_stellar_model(args.model)
    data_config, grid_config = configs_from_card(card)
    df = read_catalog_parquet(args.catalog, "stellar-model infer")
    if args.limit:
        attrs = df.attrs
        df = df.iloc[: args.limit].reset_index(drop=True)
        df.attrs = attrs
    config = InferenceConfig(chunk_size=args.chunk_size, galactic_prior=not args.no_galactic_prior)
    t0 = time.perf_counter()
    params = infer_parameters(
        df, model, grid, data_config=data_config, config=config, grid_config=grid_config,
        progress=sys.stderr.isatty(),
    )
    seconds = time.perf_counter() - t0
    keep = [c for c in df.columns if c not in params.columns]
    result = pd.concat([df[keep], params], axis=1)
    meta = dict(df.attrs.get("sedscape", {}))
    meta["stellar"] = {
        "model_dir": str(args.model),
        "model_card_sha256": card_sha256(args.model),
        "config": config.to_dict(),
        "n_rows": len(result),
        "seconds": round(seconds, 1),
    }
    result.attrs["sedscape"] = meta
    write_parquet(result, out, overwrite=args.overwrite)
    n = len(result)
    print(f"stellar parameters for {n:,} stars in {seconds:.1f} s ({seconds / max(n, 1) * 1e6:.0f} s per million)")
    med = params[["stellar_teff", "stellar_logg", "stellar_feh", "stellar_ebv", "stellar_dm"]].median()
    print("medians: " + ", ".join(f"{k.removeprefix('stellar_')} {v:.3g}" for k, v in med.items()))
    print(f"wrote {out}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    from core.errors import ConfigError
    from core.stellar.report import write_stellar_report

    input_dir(args.model, "stellar model directory")
    output_dir(args.out)
    scored = {}
    for item in args.scored:
        if "=" not in item:
            raise ConfigError(f"--scored expects NAME=PATH, got {item!r}")
        name, path = item.split("=", 1)
        scored[name] = str(input_file(path, "scored catalog"))
    if args.cluster:
        input_file(args.cluster, "inferred M44 catalog")
    df = read_catalog_parquet(args.catalog, "stellar-model report", made_by="stellar-model infer")
    path = write_stellar_report(
        df, args.model, args.out, scored=scored, cluster=args.cluster, chi2_threshold=args.chi2_threshold,
        overwrite=args.overwrite,
    )
    print(f"wrote {path}")
    return 0


def run_mock_field(args: argparse.Namespace) -> int:
    from core.catalog import write_parquet
    from core.mock.spectro import lamost_field

    out = output_file(args.out, overwrite=args.overwrite)
    sky = read_catalog_parquet(args.sky, "stellar-model mock-field", made_by="mock")
    field = lamost_field(sky, ebv_max=args.ebv_max, map_error=args.map_error, seed=args.seed)
    write_parquet(field, out, overwrite=args.overwrite)
    print(f"{len(field):,} labelled stars of {len(sky):,} seen through E(B-V) 0..{args.ebv_max}; wrote {out}")
    return 0
