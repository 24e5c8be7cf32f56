"""The evaluation report: the paper's Tables 1-2, anomaly statistics, truth metrics on the mock sky, model comparison.

``write_report`` turns a scored catalog and its model directory into ``report.md``, ``report.json``
and PNG figures (loss curves, residual vs magnitude, colour histograms, latent map).

Model comparison (``compare``): the LSTM-AE's chosen run is compared with other models trained on
*the same split* (same ``random_state``) of the scored catalog, which must then be the training
catalog in its original row order (checked against the card's fingerprint). Baselines are trained
inside the report with ``compare_epochs`` epochs (a modest budget, recorded in the report), or a
baseline model directory trained by ``sedscape train --model dense-ae`` is used for the loss curves.

Model variants (``compare`` entries that are model directories, e.g. ``lstm-ae-2d`` trained with
``sedscape train --model lstm-ae-2d`` on the same catalog): every model's own protocol figures side by
side: Table 2 on the scored catalog's stars (each model's chosen run), test losses, run-to-run latent
agreement and anomaly-list overlap, and latent smoothness of the mock's truth parameters.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import figures
from core.bands import BandSet
from core.card import CARD_NAME, ModelCard, catalog_fingerprint, read_card
from core.catalog import json_default
from core.errors import ConfigError, OutputExistsError
from core.models.base import TrainConfig, build_model, scale, unscale
from core.scored_models import ScoredModel, model_view, scored_models
from core.scoring import DEFAULT_THRESHOLD, check_bands
from core.training import split_indices

log = logging.getLogger(__name__)

__all__ = [
    "COLOUR_BIN_MIN_STARS",
    "COLOUR_BIN_WIDTH",
    "MEDIAN_RESIDUAL_TOLERANCE",
    "THRESHOLDS",
    "anomaly_summary",
    "compare_models",
    "compare_variants",
    "otype_table",
    "residual_by_colour",
    "table1",
    "table2",
    "truth_metrics",
    "write_report",
]

THRESHOLDS = (0.01, 0.025, 0.05, 0.1)
REPORT_FILES = ("report.md", "report.json")
COLOUR_BIN_WIDTH = 0.25  # mag: residual-vs-colour bins (issue 10's g - i bins)
COLOUR_BIN_MIN_STARS = 20  # bins with fewer stars are listed but not judged
MEDIAN_RESIDUAL_TOLERANCE = 0.01  # mag: a systematic residual larger than this in a bin is flagged


def residual_colour(bands: BandSet) -> tuple[str, str]:
    """The colour the residuals are binned by: band 0 - band 2 (g - i for PS1), else first - last band."""
    names = bands.names
    return (names[0], names[2]) if len(names) > 2 else (names[0], names[-1])


def residual_by_colour(
    df: pd.DataFrame, bands: BandSet, width: float = COLOUR_BIN_WIDTH, min_count: int = 1
) -> pd.DataFrame:
    """Median residual (observed - reconstructed) per band in bins of colour (g - i for PS1).

    Bins have edges at multiples of ``width``; bins with fewer than ``min_count`` stars are left out.
    Columns: lo, hi, n, ``<band>_median`` per band, and ``within`` (every |median| <= 0.01 mag) for
    bins with at least :data:`COLOUR_BIN_MIN_STARS` stars (None for thinner bins).
    """
    a, b = residual_colour(bands)
    colour = df[a].to_numpy(float) - df[b].to_numpy(float)
    res = df[[f"{x}_res" for x in bands.names]].to_numpy(float)
    ok = np.isfinite(colour)
    cols = ["lo", "hi", "n", *(f"{x}_median" for x in bands.names), "within"]
    if not ok.any():
        return pd.DataFrame(columns=cols)
    which = np.floor(colour[ok] / width).astype(np.int64)
    res = res[ok]
    rows = []
    for k in np.unique(which):
        sel = which == k
        n = int(sel.sum())
        if n < min_count:
            continue
        med = np.nanmedian(res[sel], axis=0)
        judged = n >= COLOUR_BIN_MIN_STARS
        rows.append({"lo": round(k * width, 6), "hi": round((k + 1) * width, 6), "n": n,
                     **{f"{x}_median": float(m) for x, m in zip(bands.names, med, strict=True)},
                     "within": bool(np.all(np.abs(med) <= MEDIAN_RESIDUAL_TOLERANCE)) if judged else None})
    return pd.DataFrame(rows, columns=cols)


def table1(card: ModelCard) -> pd.DataFrame:
    """Train loss at the best epoch, best validation loss and test loss per run (the paper's Table 1)."""
    rows = [
        {
            "run": r.run,
            "train_loss": r.train_loss,
            "val_loss": r.val_loss,
            "test_loss": r.test_loss,
            "epochs": r.epochs,
            "chosen": r.run == card.chosen_run,
        }
        for r in card.runs
    ]
    return pd.DataFrame(rows)


def table2(df: pd.DataFrame, bands: BandSet, thresholds: tuple[float, ...] = THRESHOLDS) -> pd.DataFrame:
    """Percentage of stars with ``|m - m'| <= t`` per band and in all bands at once (the paper's Table 2)."""
    return _table2(df[[f"{b}_res" for b in bands.names]].to_numpy(np.float64), bands, thresholds)


def _table2(residuals: np.ndarray, bands: BandSet, thresholds: tuple[float, ...] = THRESHOLDS) -> pd.DataFrame:
    res = np.abs(residuals)
    n = len(res)
    rows = []
    for k, b in enumerate(bands.names):
        rows.append({"band": b, **{f"<= {t:g}": 100.0 * float((res[:, k] <= t).sum()) / n for t in thresholds}})
    worst = res.max(axis=1)
    rows.append({"band": "all", **{f"<= {t:g}": 100.0 * float((worst <= t).sum()) / n for t in thresholds}})
    return pd.DataFrame(rows)


def anomaly_summary(df: pd.DataFrame, bands: BandSet, threshold: float) -> dict[str, Any]:
    """Count and fraction of anomalies, and how many have each band as their worst band."""
    a = df["anomaly"].to_numpy(bool)
    by_band = df.loc[a, "res_band"].astype(str).value_counts()
    return {
        "threshold": float(threshold),
        "n_stars": int(len(df)),
        "n_anomalies": int(a.sum()),
        "percent": 100.0 * float(a.mean()) if len(a) else 0.0,
        "worst_band_counts": {b: int(by_band.get(b, 0)) for b in bands.names},
    }


def truth_metrics(df: pd.DataFrame) -> dict[str, Any] | None:
    """Recall and precision of ``anomaly`` against ``true_anomaly``, overall and per ``true_class``.

    Returns None when the catalog has no truth columns (real data). Per class, ``flagged_percent``
    is the share of the class flagged (the paper's Figure 17 for SIMBAD types).
    """
    if "true_anomaly" not in df and "true_class" not in df:
        return None
    flag = df["anomaly"].to_numpy(bool)
    out: dict[str, Any] = {}
    truth = df["true_anomaly"].to_numpy(bool) if "true_anomaly" in df else None
    if truth is not None:
        out["overall"] = _recall_precision(flag, truth)
    if "true_class" in df:
        rows = []
        classes = df["true_class"].astype(str).to_numpy()
        for cls in sorted(set(classes)):
            sel = classes == cls
            row = {"class": cls, "n": int(sel.sum()), "flagged": int(flag[sel].sum()),
                   "flagged_percent": 100.0 * float(flag[sel].mean())}
            if truth is not None:
                row.update(_recall_precision(flag[sel], truth[sel]))
            rows.append(row)
        out["per_class"] = rows
    return out


def otype_table(df: pd.DataFrame, top: int = 20) -> pd.DataFrame | None:
    """Share of stars flagged per SIMBAD object type (the paper's Figure 17), most common types first."""
    if "simbad_otype" not in df:
        return None
    labelled = df.loc[df["simbad_otype"].notna(), ["simbad_otype", "anomaly"]]
    if labelled.empty:
        return None
    g = labelled.groupby(labelled["simbad_otype"].astype(str), observed=True)["anomaly"]
    out = pd.DataFrame({"n": g.size(), "flagged": g.sum().astype(int)})
    out["flagged_percent"] = 100.0 * out["flagged"] / out["n"]
    return out.sort_values("n", ascending=False).head(top).reset_index(names="otype")


def _recall_precision(flag: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    tp = int((flag & truth).sum())
    n_true, n_flag = int(truth.sum()), int(flag.sum())
    return {
        "true_anomalies": n_true,
        "true_positives": tp,
        "recall": tp / n_true if n_true else None,
        "precision": tp / n_flag if n_flag else None,
    }


def _within(x: np.ndarray, rec: np.ndarray, threshold: float = 0.05) -> float:
    """Percentage of rows whose reconstruction is within ``threshold`` mag in every band."""
    return 100.0 * float((np.abs(unscale(x) - unscale(rec)).max(axis=1) <= threshold).mean())


def compare_models(
    df: pd.DataFrame,
    model_dir: str | Path,
    names: list[str],
    *,
    epochs: int = 20,
    baseline_model: str | Path | None = None,
    progress: bool = False,
) -> tuple[pd.DataFrame, dict[str, list[dict]], dict[str, Any]]:
    """Test loss and "all bands within 0.05 mag" of the LSTM-AE's chosen run and of baselines on its split.

    Returns the comparison table, loss curves per model label (for Figure 2) and notes on how it
    was done. Baselines named in ``names`` are trained here for at most ``epochs`` epochs with the
    card's other settings; ``baseline_model`` (a model directory) is evaluated instead of retraining
    its model type.
    """
    from core.scoring import TrainedModel

    model_dir = Path(model_dir)
    card = read_card(model_dir)
    bands = card.bandset
    check_bands(df, bands)
    chosen = card.chosen
    same = catalog_fingerprint(df, bands).sha256 == card.catalog.sha256
    notes: dict[str, Any] = {"split_seed": chosen.split_seed, "same_catalog_as_training": same}
    if not same:
        notes["warning"] = (
            "the scored catalog is not the model's training catalog (fingerprints differ); the split is "
            "recomputed on it, so the LSTM-AE's 'test' stars may include stars it was trained on"
        )
    x = scale(df[list(bands.names)].to_numpy(np.float64))
    tr, va, te = split_indices(len(x), chosen.split_seed)
    lstm = TrainedModel.load(model_dir)
    rows = [{"model": card.model.name, "source": f"{model_dir} run {lstm.run}", "epochs": chosen.epochs,
             "test_loss": lstm.model.evaluate(x[te]), "all_within_0.05": _within(x[te], lstm.model.reconstruct(x[te]))}]
    curves: dict[str, list[dict]] = {card.model.name: _histories(model_dir, card)}
    base_cfg = {k: card.config[k] for k in ("patience", "batch_size", "learning_rate") if k in card.config}
    baseline_name = None
    if baseline_model is not None:
        bcard = read_card(baseline_model)
        baseline_name = bcard.model.name
        pick = next((r for r in bcard.runs if r.split_seed == chosen.split_seed), None)
        bm = TrainedModel.load(baseline_model, run=pick.run if pick else None)
        if pick is None:
            notes[f"{baseline_name}_warning"] = "baseline model has no run on the same split; used its chosen run"
        rows.append({"model": baseline_name, "source": f"{baseline_model} run {bm.run}",
                     "epochs": bcard.run(bm.run).epochs,
                     "test_loss": bm.model.evaluate(x[te]), "all_within_0.05": _within(x[te], bm.model.reconstruct(x[te]))})
        curves[baseline_name] = _histories(Path(baseline_model), bcard)
    for name in names:
        if name == baseline_name or name == card.model.name:
            continue
        cfg = TrainConfig(max_epochs=epochs, seed=chosen.model_seed, **base_cfg)
        ae = build_model(name, len(bands), seed=chosen.model_seed)
        log.info("training %s baseline (%d epochs max) on the chosen run's split", name, epochs)
        hist = ae.fit(x[tr], x[va], cfg, progress=progress)
        rows.append({"model": name, "source": f"trained in report on this split (max {epochs} epochs)", "epochs": hist.epochs,
                     "test_loss": ae.evaluate(x[te]), "all_within_0.05": _within(x[te], ae.reconstruct(x[te]))})
        if hist.epochs > 1:  # closed-form fits (PCA) have no curve
            curves[name] = [hist.to_dict()]
    return pd.DataFrame(rows), curves, notes


def is_model_dir(entry: str | Path) -> bool:
    """Whether a ``compare`` entry names a trained model directory rather than a model to train here."""
    return (Path(entry) / CARD_NAME).is_file()


def compare_variants(df: pd.DataFrame, model_dirs: list[str | Path]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Side-by-side protocol figures of trained model directories (the first is the report's own model).

    Per model: Table 2 at 0.05 mag on ``df``'s stars reconstructed by its chosen run (per band and all
    bands), the chosen run's and the mean test loss, run-to-run 10-NN latent agreement, anomaly-list
    Jaccard overlap between runs, and mean latent-smoothness R^2 per truth parameter (from the cards); on
    a mock sky also the recall and precision of the chosen run's anomaly list against ``true_anomaly``.
    Notes say whether all models were trained on this catalog with the same split seeds.
    """
    from core.scoring import TrainedModel

    rows, cards = [], []
    for d in model_dirs:
        card = read_card(d)
        cards.append(card)
        bands = card.bandset
        check_bands(df, bands)
        mags = df[list(bands.names)].to_numpy(np.float64)
        tm = TrainedModel.load(d)
        res = mags - tm.reconstruct(df)
        t2 = _table2(res, bands, (0.05,)).set_index("band")["<= 0.05"]
        ag, ov, sm = card.agreement, card.anomaly_overlap, card.latent_smoothness
        row: dict[str, Any] = {"model": card.model.name, "directory": str(d), "runs": len(card.runs),
                               "test_loss_chosen": card.chosen.test_loss,
                               "test_loss_mean": float(np.mean([r.test_loss for r in card.runs]))}
        row |= {f"{b}_within_0.05": float(t2[b]) for b in bands.names}
        row["all_within_0.05"] = float(t2["all"])
        row |= {"agreement_mean": ag.mean, "agreement_min": ag.min,
                "anomaly_jaccard_mean": ov.mean, "anomaly_jaccard_min": ov.min,
                "anomalies_percent_mean": (100.0 * float(np.mean(ov.counts)) / ov.n_stars) if ov.counts else None}
        row |= {f"smoothness_r2_{p}": v for p, v in sm.mean.items()}
        if "true_anomaly" in df:  # mock sky: how the chosen run's anomaly list fares against the truth
            from core.scoring import DEFAULT_THRESHOLD, anomaly_mask

            truth = _recall_precision(anomaly_mask(res, DEFAULT_THRESHOLD), df["true_anomaly"].to_numpy(bool))
            row |= {"truth_recall": truth["recall"], "truth_precision": truth["precision"]}
        rows.append(row)
    fingerprint = catalog_fingerprint(df, cards[0].bandset).sha256
    notes = {
        "same_catalog_as_training": [c.catalog.sha256 == fingerprint for c in cards],
        "same_split_seeds": all([r.split_seed for r in c.runs] == [r.split_seed for r in cards[0].runs]
                                for c in cards),
    }
    if not all(notes["same_catalog_as_training"]):
        notes["warning"] = ("not every model was trained on this catalog (fingerprints differ), so test losses "
                            "and Table 2 compare different stars")
    elif not notes["same_split_seeds"]:
        notes["warning"] = "the models' runs used different split seeds, so their test sets differ"
    return pd.DataFrame(rows), notes


def _shown_model(models: list[ScoredModel], model_dir: Path, key: str | None) -> ScoredModel | None:
    """The model a report shows: ``key`` if given, else the one scored from ``model_dir``, else the default."""
    if key is not None:
        found = next((m for m in models if m.key == key), None)
        if found is None:
            raise ConfigError(f"no model {key!r} in the scored catalog; models: {', '.join(m.key for m in models)}")
        return found
    from core.card import card_sha256

    sha = card_sha256(model_dir) if (model_dir / CARD_NAME).exists() else None
    for m in models:
        if sha and (m.fingerprint or "").startswith(sha):
            return m
    return models[0] if models else None


def _histories(model_dir: Path, card: ModelCard) -> list[dict]:
    out = []
    for r in card.runs:
        path = model_dir / r.directory / "history.json"
        if path.exists():
            out.append(json.loads(path.read_text()))
    return out


def _markdown_table(df: pd.DataFrame, floatfmt: str = ".3f") -> str:
    def cell(v: Any) -> str:
        if v is None or (isinstance(v, (float, np.floating)) and np.isnan(v)):
            return "–"
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else ""
        if isinstance(v, (float, np.floating)):
            if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e6):
                return f"{v:.3e}"
            return format(v, floatfmt)
        return str(v)

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def write_report(
    scored: pd.DataFrame,
    model_dir: str | Path,
    out_dir: str | Path,
    *,
    compare: list[str] | tuple[str, ...] = (),
    baseline_model: str | Path | None = None,
    compare_epochs: int = 20,
    overwrite: bool = False,
    progress: bool = False,
    model_key: str | None = None,
    imputation: dict[str, Any] | None = None,
    classifier: dict[str, Any] | None = None,
) -> Path:
    """Write ``report.md``, ``report.json`` and figures for a scored catalog into ``out_dir``; return the .md path.

    In a catalog with several models (:mod:`core.scored_models`) the report shows the model ``model_key``,
    else the one scored from ``model_dir``, else the default; it names that model. ``imputation`` (from
    :func:`core.imputation.evaluate_imputation`) adds the imputation section; ``classifier`` (the card of a
    ``sedscape classify train`` directory) adds the frozen-head vs baselines comparison.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and any((out_dir / f).exists() for f in REPORT_FILES) and not overwrite:
        raise OutputExistsError(f"{out_dir} already holds a report; pass --overwrite to replace it")
    model_dir = Path(model_dir)
    all_models = scored_models(scored)
    shown = _shown_model(all_models, model_dir, model_key)
    if shown is not None:
        scored = model_view(scored, shown.key)
    card = read_card(model_dir)
    bands = card.bandset
    check_bands(scored, bands, what="scored catalog")
    missing = [c for c in (f"{b}_res" for b in bands.names) if c not in scored.columns]
    if missing:
        raise ConfigError(f"not a scored catalog (missing {missing}); run `sedscape score` first")
    scoring = scored.attrs.get("sedscape", {}).get("scoring", {})
    threshold = float(scoring.get("threshold", DEFAULT_THRESHOLD))
    out_dir.mkdir(parents=True, exist_ok=True)

    t1 = table1(card)
    t2 = table2(scored, bands)
    anomalies = anomaly_summary(scored, bands, threshold)
    truth = truth_metrics(scored)
    otypes = otype_table(scored)
    comparison = curves = notes = variants = variant_notes = None
    variant_dirs = [Path(c) for c in compare if is_model_dir(c)]
    names = [c for c in compare if not is_model_dir(c)]
    if names or baseline_model:
        comparison, curves, notes = compare_models(
            scored, model_dir, names, epochs=compare_epochs, baseline_model=baseline_model, progress=progress
        )
    else:
        curves = {card.model.name: _histories(model_dir, card)}
    if variant_dirs:
        variants, variant_notes = compare_variants(scored, [model_dir, *variant_dirs])
        for d in variant_dirs:
            curves[f"{read_card(d).model.name} ({d.name})"] = _histories(d, read_card(d))

    figs: dict[str, str] = {}
    if any(h.get("loss") for hs in curves.values() for h in hs):
        figs["loss_curves"] = figures.loss_curves(curves, out_dir / "loss_curves.png").name
    path, res_stats = figures.residual_vs_magnitude(scored, bands, out_dir / "residual_vs_magnitude.png")
    figs["residual_vs_magnitude"] = path.name
    figs["colour_histograms"] = figures.colour_histograms(scored, bands, out_dir / "colour_histograms.png").name
    by_colour = residual_by_colour(scored, bands)
    if len(by_colour):
        figs["residual_vs_colour"] = figures.residual_vs_colour(
            by_colour, bands, "-".join(residual_colour(bands)), out_dir / "residual_vs_colour.png",
            tolerance=MEDIAN_RESIDUAL_TOLERANCE, min_count=COLOUR_BIN_MIN_STARS,
        ).name
    if {"latent_x", "latent_y"} <= set(scored.columns):
        figs["latent_map"] = figures.latent_map(scored, out_dir / "latent_map.png").name

    summary = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model_dir": str(model_dir),
        "model_card": str(model_dir / CARD_NAME),
        "model": card.model.to_dict(),
        "model_key": shown.key if shown else card.model.name,
        "model_label": shown.label if shown else card.model.name,
        "models_in_catalog": [m.key for m in all_models],
        "imputation": imputation,
        "classifier": classifier,
        "scoring": scoring,
        "n_stars": int(len(scored)),
        "table1": t1.to_dict(orient="records"),
        "chosen_run": card.chosen_run,
        "agreement": card.agreement.to_dict(),
        "anomaly_overlap": card.anomaly_overlap.to_dict(),
        "latent_smoothness": card.latent_smoothness.to_dict(),
        "table2_percent_within": t2.to_dict(orient="records"),
        "anomalies": anomalies,
        "truth": truth,
        "simbad_otypes": otypes.to_dict(orient="records") if otypes is not None else None,
        "residual_std_by_magnitude": {b: s.to_dict(orient="records") for b, s in res_stats.items()},
        "residual_by_colour": {"colour": "-".join(residual_colour(bands)), "width": COLOUR_BIN_WIDTH,
                               "min_stars": COLOUR_BIN_MIN_STARS, "tolerance": MEDIAN_RESIDUAL_TOLERANCE,
                               "bins": by_colour.to_dict(orient="records")},
        "comparison": comparison.to_dict(orient="records") if comparison is not None else None,
        "comparison_notes": notes,
        "compare_epochs": compare_epochs if names else None,
        "variants": variants.to_dict(orient="records") if variants is not None else None,
        "variant_notes": variant_notes,
        "figures": figs,
    }
    (out_dir / "report.json").write_text(json.dumps(summary, indent=2, default=json_default) + "\n")
    md = _markdown(summary, t1, t2, comparison, bands, variants)
    (out_dir / "report.md").write_text(md)
    log.info("wrote report to %s", out_dir)
    return out_dir / "report.md"


def _markdown(s: dict[str, Any], t1: pd.DataFrame, t2: pd.DataFrame, comparison: pd.DataFrame | None,
              bands: BandSet, variants: pd.DataFrame | None = None) -> str:
    a = s["anomalies"]
    lines = [
        f"# sedscape evaluation: {s['model_label']} on {s['n_stars']:,} stars",
        "",
        f"Model `{s['model_key']}` ({s['model']['name']}), directory `{s['model_dir']}`; scored with run "
        f"{s['scoring'].get('run', '?')}, threshold {a['threshold']} mag. Created {s['created']}.",
        "",
    ]
    if len(s.get("models_in_catalog") or []) > 1:
        lines += [f"The catalog holds {len(s['models_in_catalog'])} models ({', '.join(s['models_in_catalog'])}); "
                  f"this report shows `{s['model_key']}`.", ""]
    lines += [
        "## Table 1: losses per run (MSE on magnitudes/10)",
        "",
        "Train loss at the epoch of lowest validation loss; chosen run = lowest validation loss.",
        "",
        _markdown_table(t1),
        "",
    ]
    ag = s.get("agreement") or {}
    if ag.get("mean") is not None:
        lines += [f"Run-to-run agreement: on average {100 * ag['mean']:.1f}% of each star's {ag['k']} nearest "
                  f"latent neighbours are shared between two runs (minimum pair {100 * ag['min']:.1f}%, "
                  f"{ag['n_stars']:,} stars).", ""]
    ov = s.get("anomaly_overlap") or {}
    if ov.get("mean") is not None:
        lines += [f"Anomaly lists of two runs (each run flags all {ov['n_stars']:,} training stars at > "
                  f"{ov['threshold']:g} mag; {', '.join(f'{c:,}' for c in ov['counts'])} per run) overlap with a "
                  f"Jaccard index of {ov['mean']:.3f} on average (minimum pair {ov['min']:.3f}).", ""]
    sm = s.get("latent_smoothness") or {}
    if sm.get("mean"):
        lines += [f"Latent smoothness: R^2 of a {sm['k']}-nearest-neighbour regression from latent position to each "
                  f"truth parameter, fitted on {sm['n_fit']:,} training-split and scored on {sm['n_eval']:,} "
                  "test-split stars, mean over runs: "
                  + ", ".join(f"{p} {v:.3f}" for p, v in sm["mean"].items()) + ".", ""]
    lines += [
        "## Table 2: percentage of stars reconstructed within each threshold",
        "",
        "|m - m'| <= threshold, per band and in all bands at once.",
        "",
        _markdown_table(t2),
        "",
        "## Anomalies",
        "",
        f"{a['n_anomalies']:,} of {a['n_stars']:,} stars ({a['percent']:.3f}%) have |m - m'| > {a['threshold']} "
        "mag in at least one band. Worst band: "
        + ", ".join(f"{b} {n:,}" for b, n in a["worst_band_counts"].items()) + ".",
        "",
    ]
    lines += _colour_section(s["residual_by_colour"], bands)
    truth = s.get("truth")
    if truth:
        lines += ["## Anomaly detection against the mock sky's truth", ""]
        o = truth.get("overall")
        if o:
            rec = "n/a" if o["recall"] is None else f"{100 * o['recall']:.1f}%"
            prec = "n/a" if o["precision"] is None else f"{100 * o['precision']:.1f}%"
            lines += [f"Overall: recall {rec}, precision {prec} ({o['true_positives']:,} of "
                      f"{o['true_anomalies']:,} injected anomalies flagged).", ""]
        if truth.get("per_class"):
            lines += [_markdown_table(pd.DataFrame(truth["per_class"])), ""]
    if s.get("simbad_otypes"):
        lines += ["## Anomalies per SIMBAD object type (paper Figure 17)", "",
                  _markdown_table(pd.DataFrame(s["simbad_otypes"])), ""]
    if comparison is not None:
        lines += ["## Model comparison on the same split", "",
                  f"Test set of the chosen run's split (random_state {s['comparison_notes']['split_seed']}); "
                  "'all_within_0.05' = % of test stars within 0.05 mag in every band.", "",
                  _markdown_table(comparison), ""]
        if s["comparison_notes"].get("warning"):
            lines += [f"**Note:** {s['comparison_notes']['warning']}.", ""]
    if variants is not None:
        lines += ["## Model variants: same catalog, same splits", "",
                  "Each model's chosen run reconstructs the stars of this catalog (Table 2 at 0.05 mag, %); test "
                  "losses, run-to-run agreement (share of 10 nearest latent neighbours), anomaly-list overlap "
                  "(Jaccard) and latent smoothness (R^2 of a k-NN regression to each truth parameter) come from "
                  "each model's card.", "",
                  _markdown_table(variants.drop(columns=["directory"]).T.reset_index()
                                  .rename(columns={"index": "figure"}).pipe(_variant_header, variants)), ""]
        if (s.get("variant_notes") or {}).get("warning"):
            lines += [f"**Note:** {s['variant_notes']['warning']}.", ""]
    if s.get("imputation"):
        lines += _imputation_markdown(s["imputation"])
    if s.get("classifier"):
        lines += _classifier_markdown(s["classifier"])
    lines += ["## Figures", ""]
    captions = {
        "loss_curves": "Training (solid) and validation (dashed) loss per epoch (paper Figure 2)",
        "residual_vs_magnitude": "Residual vs observed magnitude with std in 1-mag bins (paper Figure 4)",
        "colour_histograms": "Observed (grey) vs reconstructed (red dashed) colours (paper Figure 7)",
        "latent_map": "Canonical latent space (+x redder, +y brighter), anomalies in blue",
        "residual_vs_colour": "Median residual per band vs colour, with the +-0.01 mag band and stars per bin",
    }
    for key, name in s["figures"].items():
        lines += [f"![{captions[key]}]({name})", "", f"*{captions[key]}.*", ""]
    return "\n".join(lines)


def _variant_header(table: pd.DataFrame, variants: pd.DataFrame) -> pd.DataFrame:
    """Name the transposed table's model columns ``model (directory)`` and drop the model-name row."""
    table.columns = ["figure", *[f"{m} ({Path(d).name})" for m, d in zip(variants["model"], variants["directory"],
                                                                          strict=True)]]
    return table[table["figure"] != "model"]


def _colour_section(rc: dict[str, Any], bands: BandSet) -> list[str]:
    """Markdown: median residual per band per colour bin, and how many judged bins are within tolerance."""
    bins = pd.DataFrame(rc["bins"])
    if bins.empty:
        return []
    judged = bins[bins["n"] >= rc["min_stars"]]
    n_ok = int(judged["within"].astype(bool).sum())
    meds = [f"{b}_median" for b in bands.names]
    text = (f"{n_ok} of {len(judged)} {rc['colour']} bins with at least {rc['min_stars']} stars have every band's "
            f"median residual within +-{rc['tolerance']} mag")
    if len(judged):
        vals = judged[meds].to_numpy(float)
        j, k = np.unravel_index(np.argmax(np.abs(vals)), vals.shape)
        text += (f"; largest {vals[j, k]:+.4f} mag ({bands.names[k]} at {rc['colour']} "
                 f"{judged['lo'].iloc[j]:.2f}-{judged['hi'].iloc[j]:.2f})")
    shown = pd.DataFrame({rc["colour"]: [f"{lo:.2f} to {hi:.2f}" for lo, hi in zip(bins["lo"], bins["hi"], strict=True)],
                          "n": bins["n"]})
    for b, m in zip(bands.names, meds, strict=True):
        shown[b] = [f"{v:+.4f}" for v in bins[m]]
    shown["within"] = ["–" if w is None or w != w else ("yes" if w else "NO") for w in bins["within"]]
    return [f"## Median residual vs {rc['colour']}", "",
            f"Median of observed - reconstructed per band in {rc['width']}-mag bins; bins with fewer than "
            f"{rc['min_stars']} stars are listed but not judged. {text}.", "",
            _markdown_table(shown), ""]


def _imputation_markdown(imp: dict[str, Any]) -> list[str]:
    """The imputation section: each band hidden in turn, model vs KNN-on-colours vs stellar locus."""
    st = imp["settings"]
    table = pd.DataFrame(imp["rows"])
    cols = ["class", "band", "n", "model_median", "model_p95", "knn_median", "knn_p95", "locus_median",
            "locus_p95", "coverage_1sigma"]
    lines = [
        "## Imputation: each band hidden in turn",
        "",
        f"{st['n_stars']:,} complete stars (at most {st['per_class']:,} per class); error = {st['error']}. "
        f"Baselines: {st['knn']}; {st['locus']}. |error| in mag: median and 95th percentile; "
        "coverage_1sigma = share of |error| within the quoted (calibrated) uncertainty, ideally 0.68.",
        "",
        _markdown_table(table[[c for c in cols if c in table.columns]], floatfmt=".4f"),
        "",
    ]
    ms = table[table["class"] == "ms"]
    if len(ms):
        worst = float(ms["model_median"].max())
        beats = bool((ms["model_median"] < ms["knn_median"]).all() and
                     ((ms["model_median"] < ms["locus_median"]) | ms["locus_median"].isna()).all())
        lines += [f"Main-sequence stars: worst band median |error| {worst:.4f} mag (target <= 0.02: "
                  f"{'met' if worst <= 0.02 else 'missed'}); better than both baselines in every band: "
                  f"{'yes' if beats else 'no'}.", ""]
    return lines


def _classifier_markdown(card: dict[str, Any]) -> list[str]:
    """Per class: ROC-AUC, PR-AUC and precision at the top 1,000 of every method, and where the head loses."""
    rows = [{"method": m, **r} for m, rs in card["metrics"].items() for r in rs]
    t = pd.DataFrame(rows)
    lines = [
        "## Frozen-encoder classifier against baselines",
        "",
        f"Labels: {card.get('labels') or '?'}; encoder {card['encoder']['name']} ({card['encoder']['model_dir']}, "
        f"run {card['encoder']['run']}); split: {card['split']['n_train']:,} train, {card['split']['n_val']:,} "
        f"validation, {card['split']['n_test']:,} test stars ({card['split']['method']}). One-vs-rest per class on "
        "the test stars; precision_ceiling is the best possible precision at the top 1,000 (fewer positives).",
        "",
    ]
    for metric in ("roc_auc", "pr_auc", "precision_top1000"):
        piv = t.pivot(index="class", columns="method", values=metric).reset_index()
        if metric == "precision_top1000":
            ceil = t[t.method == t.method.iloc[0]].set_index("class")["precision_ceiling"]
            piv["precision_ceiling"] = piv["class"].map(ceil)
        lines += [f"**{metric}**", "", _markdown_table(piv, floatfmt=".4f"), ""]
    if "xgboost" in card["metrics"]:
        head = t[t.method == "frozen_head"].set_index("class")["roc_auc"]
        xgb = t[t.method == "xgboost"].set_index("class")["roc_auc"]
        wins = [f"{c} ({xgb[c]:.4f} vs {head[c]:.4f})" for c in head.index if xgb[c] > head[c]]
        lines += ["XGBoost has the higher ROC-AUC for: " + (", ".join(wins) if wins else "no class") + ".", ""]
    return lines

