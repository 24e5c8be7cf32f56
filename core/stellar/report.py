"""The stellar-model report: ``stellar_report.md``, ``stellar_report.json`` and figures in a directory.

Sections: the model and its training; the learned extinction vector against SF11; on a mock catalog, the
photometric parameters against the truth and [Fe/H] by colour; ``stellar_chi2`` anomalies against the
autoencoders' anomalies; how predictable the physical parameters are from each autoencoder's latent space;
and, given an inferred M44 cone, Praesepe's distance and reddening.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.catalog import json_default
from core.errors import CatalogError, OutputExistsError
from core.report import _markdown_table
from core.stellar import evaluation as ev
from core.stellar import figures
from core.stellar.inference import load_stellar_model
from core.stellar.training import HISTORY_NAME, TEST_NAME

log = logging.getLogger(__name__)

REPORT_FILES = ("stellar_report.md", "stellar_report.json")


def _load_test(model_dir: Path) -> dict[str, np.ndarray] | None:
    path = model_dir / TEST_NAME
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def colour_zscores(test: dict[str, np.ndarray], model) -> tuple[np.ndarray, list[str]]:
    """(observed - predicted) / photometric sigma for each colour of the test stars (fitted E(B-V))."""
    b = np.eye(model.n_bands)
    b[1:, 0] = -1
    _, r = model.predict(test["theta"], 0.0)
    pred = test["y_free"] + test["ebv"][:, None] * (r[:, model.order] @ b.T)
    var = test["mag_var"][:, model.order]
    sig = np.sqrt(var[:, 1:] + var[:, :1])
    return (test["y_obs"][:, 1:] - pred[:, 1:]) / sig, model.output_names[1:]


def _merge_scored(df: pd.DataFrame, path: str) -> pd.DataFrame:
    from core.catalog import read_parquet

    cols = ["obj_id", "latent_x", "latent_y", "anomaly"]
    scored = read_parquet(path, columns=cols)
    if "obj_id" not in df.columns:
        raise CatalogError("the stellar catalog has no obj_id to join the scored catalog on")
    keep = [c for c in df.columns if c.startswith(("stellar_", "true_")) or c in ("obj_id", "r", "r_obs", "i", "i_obs")]
    merged = scored.merge(df[keep], on="obj_id", how="inner")
    log.info("%s: %d of %d scored rows have stellar parameters", path, len(merged), len(scored))
    return merged


def write_stellar_report(
    df: pd.DataFrame,
    model_dir: str | Path,
    out_dir: str | Path,
    *,
    scored: dict[str, str] | None = None,
    cluster: str | Path | None = None,
    chi2_threshold: float | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the report for ``df`` (a catalog with ``stellar_*`` columns) and its model; returns the .md path."""
    from core.catalog import read_parquet

    out_dir = Path(out_dir)
    if out_dir.exists() and any((out_dir / f).exists() for f in REPORT_FILES) and not overwrite:
        raise OutputExistsError(f"{out_dir} already holds a stellar report; pass --overwrite to replace it")
    if "stellar_chi2" not in df.columns:
        raise CatalogError("no stellar_* columns: run `sedscape stellar-model infer` on the catalog first")
    model_dir = Path(model_dir)
    model, grid, card = load_stellar_model(model_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    test = _load_test(model_dir)
    s: dict[str, Any] = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model_dir": str(model_dir),
        "card": {k: card.get(k) for k in ("model", "catalog", "split", "losses", "excluded_by_final_cut", "iterations", "seconds")},
        "n_stars": int(len(df)),
        "figures": {},
    }
    ext = ev.extinction_comparison(model, theta=None if test is None else test["theta"])
    s["extinction"] = ext.to_dict(orient="records")
    s["figures"]["r_vs_sf11"] = figures.r_vs_sf11(ext, out_dir / "r_vs_sf11.png").name
    history_path = model_dir / HISTORY_NAME
    if history_path.exists():
        s["history"] = [{k: h[k] for k in ("iteration", "chi2_cut", "n_train", "n_excluded", "val_loss", "extinction_vector")}
                        for h in json.loads(history_path.read_text())]
    if test is not None:
        s["figures"]["predicted_cmds"] = figures.predicted_cmds(test, model, out_dir / "predicted_cmds.png").name
        z, names = colour_zscores(test, model)
        dens = grid.density_at(test["theta"])
        s["figures"]["residuals_vs_density"] = figures.residuals_vs_density(z, dens, names, out_dir / "residuals_vs_density.png").name
        s["test_colour_z_std"] = {n: float(np.nanstd(z[:, k])) for k, n in enumerate(names)}
    has_truth = "true_teff" in df.columns
    if has_truth:
        s["parameter_errors"] = ev.parameter_errors(df).to_dict(orient="records")
        s["feh_by_colour"] = ev.feh_by_colour(df).to_dict(orient="records")
        s["figures"]["inferred_vs_true"] = figures.inferred_vs_true(df, out_dir / "inferred_vs_true.png").name
    flags, thr = ev.chi2_flags(df, chi2_threshold)
    s["chi2_threshold"] = thr
    s["n_chi2_anomalies"] = int(flags.sum())
    if "stellar_density" in df.columns and flags.any():
        s["chi2_anomalies_low_density_percent"] = 100 * float((df.loc[flags, "stellar_density"] < 0.01).mean())
    s["chi2_percentiles"] = {str(p): float(np.nanpercentile(df["stellar_chi2"], p)) for p in (50, 90, 99, 99.9)}
    comparisons, smoothness = {}, {}
    sources = dict(scored or {})
    for name, path in sources.items():
        merged = _merge_scored(df, path)
        f_st, _ = ev.chi2_flags(merged, thr)
        comparisons[name] = ev.anomaly_comparison(merged, f_st, merged["anomaly"].to_numpy(bool), name)
        n_ae = int(merged["anomaly"].sum())
        top = np.zeros(len(merged), bool)
        if n_ae:
            top[np.argsort(-merged["stellar_chi2"].to_numpy(np.float64))[:n_ae]] = True
        comparisons[f"{name} (equal rate)"] = ev.anomaly_comparison(merged, top, merged["anomaly"].to_numpy(bool), name)
        smoothness[name] = ev.latent_predictability(merged)
        smoothness[f"{name} (inferred)"] = ev.latent_predictability(
            merged, {p: f"stellar_{p}" for p in ("teff", "logg", "feh", "ebv")}
        )
    if not sources and "anomaly" in df.columns:
        comparisons["autoencoder"] = ev.anomaly_comparison(df, flags, df["anomaly"].to_numpy(bool), "autoencoder")
    if not sources and {"latent_x", "latent_y"} <= set(df.columns):
        smoothness["this catalog"] = ev.latent_predictability(df)
    s["anomaly_comparison"] = comparisons
    s["latent_predictability"] = smoothness
    if cluster is not None:
        s["cluster"] = ev.cluster_check(read_parquet(cluster))
    (out_dir / "stellar_report.json").write_text(json.dumps(s, indent=2, default=json_default) + "\n")
    (out_dir / "stellar_report.md").write_text(_markdown(s))
    log.info("wrote stellar report to %s", out_dir)
    return out_dir / "stellar_report.md"


def _markdown(s: dict[str, Any]) -> str:
    c = s["card"]
    cat = c.get("catalog") or {}
    split = c.get("split") or {}
    losses = c.get("losses") or {}
    lines = [
        f"# Stellar model report ({s['n_stars']:,} stars)",
        "",
        f"Model `{s['model_dir']}`: {c['model']['architecture']}; {c['model']['n_params']} parameters. Trained on "
        f"{cat.get('n_labelled', 0):,} labelled stars (train {split.get('n_train', 0):,} / validation "
        f"{split.get('n_val', 0):,} / test {split.get('n_test', 0):,}) in {c.get('iterations')} iterations, "
        f"{c.get('seconds', 0):.0f} s. Final chi^2/entries (stars under the last chi^2 cut): train "
        f"{losses.get('train', float('nan')):.3f}, validation {losses.get('val', float('nan')):.3f}, test "
        f"{losses.get('test', float('nan')):.3f}. Created {s['created']}.",
        "",
        "## Extinction vector",
        "",
        "Learned R = A_band / E(B-V) at the median spectroscopic features against the Schlafly & Finkbeiner "
        "(2011) R_V = 3.1 coefficients (the mock's truth); `R_spread_percent` is its standard deviation over "
        "the test stars (how much R depends on stellar type).",
        "",
        _markdown_table(pd.DataFrame(s["extinction"]), ".3f"),
        "",
    ]
    if s.get("parameter_errors"):
        lines += [
            "## Photometric parameters against the truth (mock)",
            "",
            "Median |inferred - true| for stars with observed r < 18 (E(B-V) in mag, distance modulus `dm` in mag).",
            "",
            _markdown_table(pd.DataFrame(s["parameter_errors"]), ".3f"),
            "",
            "### [Fe/H] by colour",
            "",
            "grizy constrain metallicity weakly. Per dereddened g-i bin (normal stars, r < 18): the spread of "
            "the true [Fe/H] (what the prior alone would give), the median error, the median reported error and "
            "the correlation of inferred with true [Fe/H].",
            "",
            _markdown_table(pd.DataFrame(s["feh_by_colour"]), ".3f"),
            "",
        ]
    pct = s["chi2_percentiles"]
    lines += [
        "## Physical anomalies: stellar_chi2",
        "",
        f"`stellar_chi2` is the smallest colour + E(B-V)-prior + parallax chi^2 over every (Teff, log g, [Fe/H]) "
        f"the model knows. Percentiles: 50% {pct['50']:.2f}, 90% {pct['90']:.2f}, 99% {pct['99']:.1f}, 99.9% "
        f"{pct['99.9']:.1f}. {s['n_chi2_anomalies']:,} stars have stellar_chi2 > {s['chi2_threshold']:g}.",
        "",
    ]
    if "chi2_anomalies_low_density_percent" in s:
        lines += [
            f"{s['chi2_anomalies_low_density_percent']:.1f}% of them have their best fit where the model saw "
            "almost no training stars (`stellar_density` < 0.01 of the peak): objects unlike any star (white "
            "dwarfs, quasars) pulled to the edge of the grid, and normal stars outside the spectroscopic "
            "sample (e.g. M dwarfs cooler than it); `stellar_density` tells the two cases apart only partly.",
            "",
        ]
    for name, comp in s["anomaly_comparison"].items():
        lines += [
            f"### stellar_chi2 against {name}",
            "",
            f"{comp['stellar_chi2']:,} flagged by stellar_chi2, {comp[name.split(' (')[0]]:,} by the autoencoder, "
            f"{comp['both']:,} by both (Jaccard {comp['jaccard']:.3f}).",
        ]
        if "recall_stellar_chi2" in comp:
            nm = name.split(" (")[0]
            lines += [
                f"Against the mock's injected anomalies: recall {100 * comp['recall_stellar_chi2']:.1f}% "
                f"(stellar_chi2), {100 * comp[f'recall_{nm}']:.1f}% ({nm}), {100 * comp['recall_either']:.1f}% "
                f"(either); precision {100 * comp['precision_stellar_chi2']:.1f}%, "
                f"{100 * comp[f'precision_{nm}']:.1f}%.",
            ]
        lines += [""]
        if comp.get("per_class"):
            lines += [_markdown_table(pd.DataFrame(comp["per_class"]), ".2f"), ""]
    if s["latent_predictability"]:
        lines += [
            "## How physical parameters vary across the latent space",
            "",
            "R^2 of a 20-nearest-neighbour regressor from the latent (x, y) to each parameter, on held-out "
            "stars (1 = the latent position alone fixes it). Truth columns where the catalog has them; "
            "'(inferred)' uses the stellar model's estimates.",
            "",
            _markdown_table(pd.DataFrame(s["latent_predictability"]).T.reset_index(names="latent space"), ".3f"),
            "",
        ]
    if s.get("cluster"):
        cl = s["cluster"]
        lines += [
            "## Real data: Praesepe (M44 cone)",
            "",
            f"{cl['n']} red dwarfs in the cone ({cl['selection']}): Praesepe members and background field "
            f"dwarfs. Inferred distance moduli, sorted: {', '.join(f'{v:.2f}' for v in cl.get('dm_values', []))}.",
            "",
        ]
        if "group_n" in cl:
            lines += [
                f"Within +-{cl['group_window']:g} mag of the literature: {cl['group_n']} stars, median distance modulus "
                f"{cl['group_dm_median']:.2f} (std {cl['group_dm_std']:.2f}; median per-star error "
                f"{cl['group_dm_err_median']:.2f}), {cl['group_distance_pc']:.0f} pc; literature "
                f"{cl['dm_literature']:.2f} (186 pc; Gaia Collaboration, Babusiaux et al. 2018). Its median "
                f"E(B-V) is {cl['group_ebv_median']:.3f}; literature {cl['ebv_literature']:.3f} (Taylor 2006). "
                f"All {cl['n']} selected: median E(B-V) {cl['ebv_all_median']:.3f}.",
                "",
            ]
    captions = {
        "r_vs_sf11": "Learned extinction vector against SF11",
        "predicted_cmds": "Observed (left) and predicted de-noised (right) CMDs of the test stars, coloured by Teff and [Fe/H] (seed Figs 8-9)",
        "residuals_vs_density": "Colour residuals against the training density at the star's features (seed Fig. 13)",
        "inferred_vs_true": "Inferred against true parameters (mock, r < 18)",
    }
    lines += ["## Figures", ""]
    for key, name in s["figures"].items():
        lines += [f"![{captions[key]}]({name})", "", f"*{captions[key]}.*", ""]
    return "\n".join(lines)
