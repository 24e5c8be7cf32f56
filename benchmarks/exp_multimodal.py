"""Issue 14's experiment on the mock sky: does the multi-modal latent separate the kinds of variability?

    .venv/bin/python benchmarks/exp_multimodal.py --out /tmp/mm_exp [--stars 3100000] [--cap 2000]

1. A mock sky (default: the full 3.1M-star default, seed 1) and epochs for every RR Lyrae, SX Phe,
   semi-regular and long-period giant and quasar, up to ``--cap`` each of the eclipsing binaries and
   flaring M dwarfs, and ``--constant`` non-variables.
2. Light-curve features, one mm-vae run (``--runs``), scoring; the shipped LSTM-AE
   (data/models/default) scores the same stars.
3. kNN and random-forest classification of ``true_var_class`` (5-fold stratified cross-validation,
   macro-F1, confusion matrices) from the 15-D latent, from the standard feature set (amplitude,
   log period, skew, Stetson J and K, four colours), and from the latent plus log period and log
   amplitude (what the seed's 2-D map sees); RR Lyrae period recovery; anomalies only the light
   curves reveal and their overlap with the LSTM-AE's.

Writes ``results.json`` and prints the tables. Timings are wall-clock on whatever machine runs it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd


def sample(sky: pd.DataFrame, cap: int, n_constant: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    vc = sky["true_var_class"].astype(str).to_numpy()
    keep = []
    for c in np.unique(vc):
        rows = np.flatnonzero(vc == c)
        limit = n_constant if c == "none" else (cap if c in ("ea", "ew", "flare") else len(rows))
        keep.append(rng.permutation(rows)[:limit])
    out = sky.iloc[np.sort(np.concatenate(keep))].reset_index(drop=True)
    out.attrs = sky.attrs
    return out


def classify(x: np.ndarray, y: np.ndarray, seed: int) -> dict:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import confusion_matrix, f1_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.where(np.isfinite(x), x, -9.0)
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    labels = sorted(set(y))
    out = {}
    for name, clf in (("knn", make_pipeline(StandardScaler(), KNeighborsClassifier(15, weights="distance"))),
                      ("rf", RandomForestClassifier(300, n_jobs=2, random_state=seed, class_weight="balanced"))):
        t = time.perf_counter()
        pred = cross_val_predict(clf, x, y, cv=cv)
        out[name] = {"macro_f1": float(f1_score(y, pred, average="macro")),
                     "per_class_f1": dict(zip(labels, f1_score(y, pred, average=None, labels=labels).round(3).tolist(), strict=True)),
                     "confusion": confusion_matrix(y, pred, labels=labels).tolist(), "labels": labels,
                     "seconds": time.perf_counter() - t}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--stars", type=int, default=3_100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cap", type=int, default=2000)
    ap.add_argument("--constant", type=int, default=6000)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--max-epochs", type=int, default=60)
    ap.add_argument("--map", default="umap", choices=("umap", "none"))
    ap.add_argument("--reuse", type=Path, default=None, metavar="DIR",
                    help="take catalog.parquet and det.parquet from an earlier run's DIR instead of a new mock")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from core.bands import PS1
    from core.catalog import write_parquet
    from core.epochs import write_epochs
    from core.mock import generate_mock_sky
    from core.mock.epochs import EpochConfig, make_epochs
    from core.models.mm_vae import VAEConfig
    from core.multimodal import MultiModalModel, latent_columns, score_multimodal, train_multimodal
    from core.scoring import TrainedModel, score_catalog

    res: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "seconds": {}}
    if args.reuse is not None:
        from core.catalog import read_parquet
        from core.epochs import read_epochs

        cat, det = read_parquet(args.reuse / "catalog.parquet"), read_epochs(args.reuse / "det.parquet")
    else:
        t = time.perf_counter()
        sky = generate_mock_sky(args.stars, args.seed)
        res["seconds"]["mock_sky"] = time.perf_counter() - t
        res["sky_var_counts"] = sky["true_var_class"].astype(str).value_counts().to_dict()
        cat = sample(sky, args.cap, args.constant, args.seed)
        del sky
        t = time.perf_counter()
        det = make_epochs(cat, args.seed, EpochConfig(n_constant=-1))
        res["seconds"]["epochs"] = time.perf_counter() - t
        write_parquet(cat, args.out / "catalog.parquet", overwrite=True)
        write_epochs(det, args.out / "det.parquet", overwrite=True)
    res["n_stars"], res["n_detections"] = len(cat), len(det)
    res["sample_counts"] = cat["true_var_class"].astype(str).value_counts().to_dict()
    print(f"{len(cat):,} stars, {len(det):,} detections", res["sample_counts"], flush=True)

    t = time.perf_counter()
    result = train_multimodal(cat, det, args.out / "model", PS1, runs=args.runs, seed=41,
                              config=VAEConfig(max_epochs=args.max_epochs), map_kind=args.map, overwrite=True,
                              source="mock sample", detections_source=str(args.out / "det.parquet"))
    res["seconds"]["train_total"] = time.perf_counter() - t
    res["seconds"]["train_features"] = result.seconds["features"]
    res["seconds"]["train_map"] = result.seconds.get("map", 0.0)
    res["seconds"]["train_runs"] = [r.seconds for r in result.runs]
    res["feature_seconds"] = result.features.seconds
    print(result.format_summary(), flush=True)

    model = MultiModalModel.load(args.out / "model")
    t = time.perf_counter()
    scored = score_multimodal(cat, det, model, features=result.features)
    res["seconds"]["score_total"] = time.perf_counter() - t
    res["seconds"]["score_model_and_map"] = scored.attrs["sedscape"]["multimodal"]["seconds"]["model"]
    lstm = TrainedModel.load(Path(__file__).resolve().parents[1] / "data" / "models" / "default")
    t = time.perf_counter()
    lstm_scored = score_catalog(cat, lstm, progress=False)
    res["seconds"]["lstm_score"] = time.perf_counter() - t
    scored["lstm_anomaly"] = lstm_scored["anomaly"].to_numpy()
    scored["lstm_max_abs_res"] = lstm_scored["max_abs_res"].to_numpy()
    write_parquet(scored, args.out / "scored.parquet", overwrite=True)

    # -- classification ------------------------------------------------------------------------------
    y = scored["true_var_class"].astype(str).replace({"lpv": "sr"}).to_numpy()  # too few LPVs: one giant class
    z = scored[latent_columns()].to_numpy(float)
    colours = np.stack([scored[a] - scored[b] for a, b in zip("griz", "rizy", strict=True)], axis=1)
    std = np.column_stack([np.log10(scored["lc_amplitude"]), np.log10(scored["lc_period"]), scored["lc_skew"],
                           scored["lc_stetson_j"], scored["lc_stetson_k"], colours])
    extra = np.column_stack([z, np.log10(scored["lc_period"]), np.log10(scored["lc_amplitude"])])
    res["classification"] = {"latent15": classify(z, y, args.seed), "standard": classify(std, y, args.seed),
                             "latent15_plus_logP_logA": classify(extra, y, args.seed),
                             "latent15_plus_standard": classify(np.column_stack([z, std]), y, args.seed)}
    for k, v in res["classification"].items():
        print(f"{k:28s} kNN macro-F1 {v['knn']['macro_f1']:.3f}   RF macro-F1 {v['rf']['macro_f1']:.3f}", flush=True)

    # -- RR Lyrae periods ----------------------------------------------------------------------------
    rr = scored["true_var_class"].astype(str).isin(["rrab", "rrc"]).to_numpy()
    rel = np.abs(scored["lc_period"].to_numpy()[rr] / scored["true_period"].to_numpy()[rr] - 1)
    res["rrlyrae_periods"] = {"n": int(rr.sum()), "within_1pct": float(np.mean(rel < 0.01)),
                              "with_period": float(np.mean(np.isfinite(rel)))}
    per_class = {}
    for c in ("rrab", "rrc", "sxphe", "ew", "ea", "sr"):
        m = scored["true_var_class"].astype(str).to_numpy() == c
        p, tp = scored["lc_period"].to_numpy()[m], scored["true_period"].to_numpy()[m]
        per_class[c] = {"n": int(m.sum()), "P_within_1pct": float(np.mean(np.abs(p / tp - 1) < 0.01)),
                        "2P_within_1pct": float(np.mean(np.abs(2 * p / tp - 1) < 0.01))}
    res["period_recovery"] = per_class

    # -- anomalies -----------------------------------------------------------------------------------
    mm, ls = scored["mm_anomaly"].to_numpy(), scored["lstm_anomaly"].to_numpy()
    sed_ok = ~(scored["mm_rec_sed"].to_numpy() > np.nanquantile(scored["mm_rec_sed"], 0.99)) & ~ls
    only_lc = mm & sed_ok
    vc = scored["true_var_class"].astype(str)
    res["anomalies"] = {
        "n_mm": int(mm.sum()), "n_lstm": int(ls.sum()), "n_both": int((mm & ls).sum()),
        "jaccard": float((mm & ls).sum() / max((mm | ls).sum(), 1)),
        "mm_by_var_class": vc[mm].value_counts().to_dict(), "lstm_by_var_class": vc[ls].value_counts().to_dict(),
        "mm_by_true_class": scored["true_class"].astype(str)[mm].value_counts().to_dict(),
        "lstm_by_true_class": scored["true_class"].astype(str)[ls].value_counts().to_dict(),
        "light_curve_only": {"n": int(only_lc.sum()), "by_var_class": vc[only_lc].value_counts().to_dict()},
        "rate_by_var_class": {c: float(mm[vc.to_numpy() == c].mean()) for c in sorted(set(vc))},
    }
    (args.out / "results.json").write_text(json.dumps(res, indent=1, default=float))
    print(json.dumps({k: res[k] for k in ("rrlyrae_periods", "anomalies", "seconds")}, indent=1, default=float))


if __name__ == "__main__":
    main()
