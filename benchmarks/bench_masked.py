"""Benchmark: the masked-band workflow against in-run references.

(a) Training throughput: masked-AE epochs (random band hiding, chi-square loss, batch 1024 as its
    default) against LSTM-AE epochs (paper settings, batch 512) on the same stars, both through the
    compiled engine, after a warm-up epoch, interleaved so both see the same background load.
(b) Imputation of ``--impute-stars`` stars (one random band missing each), against scoring the same
    stars with the LSTM-AE (the pipeline's existing per-star pass).
(c) Classifier training on ``--labelled`` labelled stars: the frozen-encoder head against XGBoost on
    magnitudes and colours (same split; XGBoost only if installed).
(d) What "find more like these" (issue 12) would cost on the loaded stars: a 2-class head on the
    embedding (200 positives, 20,000 random others; compiled once, then timed) and exact nearest neighbours
    of one star in the 16-D embedding by brute force, against computing the embedding (reference).

Stars come from a catalog Parquet (``--sky``, e.g. data/generated/mock_sky.parquet, with ``true_class``
labels) or are synthetic. Prints raw seconds (noisy on a shared machine) and the ratios.

    .venv/bin/python benchmarks/bench_masked.py --sky data/generated/mock_sky.parquet --model data/models/masked_ae
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def load(n: int, sky: Path | None, seed: int):
    """A catalog of ``n`` stars (complete photometry) with a ``true_class`` column when the source has one."""
    rng = np.random.default_rng(seed)
    if sky is not None:
        from core.catalog import read_parquet

        cols = ["obj_id", "ra", "dec", "l", "b", *"grizy", *(f"{b}_err" for b in "grizy"), "true_class"]
        df = read_parquet(sky, columns=cols)
        idx = np.sort(rng.choice(len(df), size=min(n, len(df)), replace=False))
        out = df.iloc[idx].reset_index(drop=True)
        out.attrs = df.attrs
        return out
    from tests._catalogs import make_catalog

    df = make_catalog(n, seed=seed, with_optional=False)
    gi = (df["g"] - df["i"]).to_numpy()
    df["true_class"] = np.where(gi < 0.8, "blue", np.where(gi < 2.0, "mid", "red"))
    return df


def epochs_per_second(n_train: int, epochs: int, df, model_dir: Path | None) -> dict:
    import tensorflow as tf

    from core.bands import PS1
    from core.models.base import build_model, model_class

    mags = df[list(PS1.names)].to_numpy()[: n_train + n_train // 5]
    errs = df[list(PS1.err_columns)].to_numpy()[: len(mags)]
    runners = {}
    for name in ("lstm-ae", "masked-ae"):
        cls = model_class(name)
        x = cls.features(mags, errs if cls.uses_errors else None)
        model = build_model(name, 5, seed=1)
        cfg = cls.default_config()
        engine = model.engine(cfg.batch_size)
        state = engine.start(model.get_weights(), cfg.learning_rate, 1)
        runners[name] = [engine, state, tf.constant(x[:n_train]), tf.constant(x[n_train:]), cfg.batch_size]
    rng = np.random.default_rng(0)
    times = {k: [] for k in runners}
    for epoch in range(epochs + 1):
        for name, r in runners.items():
            engine, state, x, xv, _ = r
            t0 = time.perf_counter()
            r[1], _, _ = engine.epoch(state, x, rng.permutation(n_train).astype(np.int32), xv)
            if epoch:  # the first epoch compiles
                times[name].append(time.perf_counter() - t0)
    out = {name: {"seconds_per_epoch": float(np.median(t)), "stars_per_second": n_train / float(np.median(t)),
                  "batch_size": runners[name][4]} for name, t in times.items()}
    out["masked_over_lstm_time"] = out["masked-ae"]["seconds_per_epoch"] / out["lstm-ae"]["seconds_per_epoch"]
    out["n_train"] = n_train
    return out


def imputation(n: int, df, model_dir: Path, lstm_dir: Path) -> dict:
    from core.bands import PS1
    from core.imputation import impute_catalog
    from core.scoring import TrainedModel, score_catalog

    rng = np.random.default_rng(1)
    big = df.iloc[rng.integers(0, len(df), n)].reset_index(drop=True)
    big["obj_id"] = np.arange(n)
    big.attrs = df.attrs
    gaps = big.copy()
    band = rng.integers(0, 5, n)
    for j, b in enumerate(PS1.names):
        gaps.loc[band == j, b] = np.nan
    masked, lstm = TrainedModel.load(model_dir), TrainedModel.load(lstm_dir)
    impute_catalog(gaps.iloc[:2000], masked)  # compile
    score_catalog(big.iloc[:2000], lstm, progress=False)
    t0 = time.perf_counter()
    impute_catalog(gaps, masked)
    t_imp = time.perf_counter() - t0
    t0 = time.perf_counter()
    score_catalog(big, lstm, progress=False)
    t_score = time.perf_counter() - t0
    return {"n_stars": n, "impute_seconds": t_imp, "lstm_score_seconds": t_score,
            "impute_over_lstm_score_time": t_imp / t_score, "impute_stars_per_second": n / t_imp}


def classifier(n: int, df, model_dir: Path) -> dict:
    from core.classify import (
        HeadConfig,
        embedding_features,
        load_labels,
        photometry_features,
        split_labels,
        train_head,
        train_xgboost,
    )
    from core.scoring import TrainedModel

    rows = np.sort(np.random.default_rng(2).permutation(len(df))[:n])  # the file is ordered by population
    sub = df.iloc[rows].reset_index(drop=True)
    sub.attrs = df.attrs
    enc = TrainedModel.load(model_dir)
    labels = load_labels(sub, "true_class")
    tr, va, _ = split_labels(labels, seed=0)
    classes = tuple(sorted(labels.dropna().unique()))
    y = labels.map({c: k for k, c in enumerate(classes)}).to_numpy()
    emb = embedding_features(sub, enc)
    t0 = time.perf_counter()
    head = train_head(emb[tr], y[tr].astype(int), emb[va], y[va].astype(int), classes, HeadConfig())
    t_head = time.perf_counter() - t0
    out = {"n_labelled": n, "n_train": len(tr), "classes": len(classes), "head_seconds": t_head,
           "head_epochs": len(head.history["loss"])}
    try:
        import xgboost  # noqa: F401
    except ImportError:
        out["xgboost"] = "not installed"
        return out
    phot = photometry_features(sub, enc.bands)
    t0 = time.perf_counter()
    train_xgboost(phot[tr], y[tr].astype(int), phot[va], y[va].astype(int), len(classes))
    out["xgboost_seconds"] = time.perf_counter() - t0
    out["head_over_xgboost_time"] = t_head / out["xgboost_seconds"]
    return out


def find_more(df, model_dir: Path) -> dict:
    from core.classify import HeadConfig, embedding_features, train_head
    from core.scoring import TrainedModel

    enc = TrainedModel.load(model_dir)
    t0 = time.perf_counter()
    emb = embedding_features(df, enc)
    t_embed = time.perf_counter() - t0
    rng = np.random.default_rng(3)
    seeds = rng.choice(len(emb), 200, replace=False)
    others = rng.choice(len(emb), 20_000, replace=False)
    x = np.concatenate([emb[seeds], emb[others]])
    y = np.concatenate([np.ones(200, int), np.zeros(20_000, int)])
    cfg = HeadConfig(hidden=32, max_epochs=20, patience=3)
    train_head(x[::2], y[::2], x[1::2], y[1::2], ["other", "like"], cfg)  # compiles for these shapes
    t0 = time.perf_counter()
    head = train_head(x[::2], y[::2], x[1::2], y[1::2], ["other", "like"], cfg)
    t_head = time.perf_counter() - t0
    t0 = time.perf_counter()
    head.predict_proba(emb)
    t_apply = time.perf_counter() - t0
    t0 = time.perf_counter()
    d = np.einsum("ij,ij->i", emb - emb[seeds[0]], emb - emb[seeds[0]])
    np.argpartition(d, 100)[:100]
    t_nn = time.perf_counter() - t0
    return {"n_stars": len(emb), "embed_seconds": t_embed, "head_train_seconds_warm": t_head,
            "head_epochs": len(head.history["loss"]), "head_apply_seconds": t_apply, "nn100_one_star_seconds": t_nn}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sky", type=Path, default=None, help="catalog Parquet to draw stars from (default: synthetic)")
    p.add_argument("--model", type=Path, default=ROOT / "data" / "models" / "masked_ae", help="masked-ae model dir")
    p.add_argument("--lstm", type=Path, default=ROOT / "data" / "models" / "default", help="LSTM-AE model dir")
    p.add_argument("--train-stars", type=int, default=200_000)
    p.add_argument("--epochs", type=int, default=3, help="timed epochs per model (after one warm-up)")
    p.add_argument("--impute-stars", type=int, default=1_000_000)
    p.add_argument("--labelled", type=int, default=100_000)
    p.add_argument("--only", choices=["train", "impute", "classify", "find"], action="append", default=None)
    p.add_argument("--find-stars", type=int, default=1_000_000, help="stars for part (d)")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    parts = args.only or ["train", "impute", "classify", "find"]
    n_load = max(args.train_stars * 6 // 5, args.labelled, 200_000, args.find_stars if "find" in parts else 0)
    df = load(n_load, args.sky, seed=0)
    result: dict = {"source": str(args.sky or "synthetic"), "note": "measured on a shared machine: compare ratios"}
    if "train" in parts:
        r = result["training"] = epochs_per_second(args.train_stars, args.epochs, df, args.model)
        print(f"training, {r['n_train']:,} stars: masked-ae {r['masked-ae']['seconds_per_epoch']:.2f} s/epoch "
              f"(batch {r['masked-ae']['batch_size']}), lstm-ae {r['lstm-ae']['seconds_per_epoch']:.2f} s/epoch "
              f"(batch {r['lstm-ae']['batch_size']}); ratio masked/lstm {r['masked_over_lstm_time']:.2f}", flush=True)
    if "impute" in parts:
        r = result["imputation"] = imputation(args.impute_stars, df, args.model, args.lstm)
        print(f"imputation of {r['n_stars']:,} stars (one band missing each): {r['impute_seconds']:.1f} s "
              f"({r['impute_stars_per_second']:,.0f} stars/s); LSTM-AE scoring of the same stars "
              f"{r['lstm_score_seconds']:.1f} s; ratio {r['impute_over_lstm_score_time']:.2f}", flush=True)
    if "classify" in parts:
        r = result["classifier"] = classifier(args.labelled, df, args.model)
        line = (f"classifier on {r['n_labelled']:,} labelled stars ({r['n_train']:,} train, {r['classes']} classes): "
                f"frozen head {r['head_seconds']:.1f} s ({r['head_epochs']} epochs)")
        if "xgboost_seconds" in r:
            line += f", XGBoost {r['xgboost_seconds']:.1f} s; ratio head/XGBoost {r['head_over_xgboost_time']:.2f}"
        print(line, flush=True)
    if "find" in parts:
        sub = df.iloc[: args.find_stars]
        r = result["find_more"] = find_more(sub, args.model)
        print(f"find more like these, {r['n_stars']:,} stars: embedding {r['embed_seconds']:.1f} s (reference); 2-class "
              f"head on 20,200 stars {r['head_train_seconds_warm']:.2f} s warm ({r['head_epochs']} epochs), applied to "
              f"all in {r['head_apply_seconds']:.2f} s; 100 nearest neighbours of one star {r['nn100_one_star_seconds']:.3f} s",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
