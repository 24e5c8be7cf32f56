"""Benchmark: training and inference of the stellar model, per million stars, against an in-run reference.

Measures in one run (a) training: seconds per epoch of the compiled engine on the labelled stars, turned
into seconds per million star-epochs and into the seed's full schedule (20 iterations, 25 epochs + a
100-epoch first iteration) per million labelled stars; (b) inference: seconds per million stars of
``infer_parameters`` on a sample (after a warm-up that pays XLA compilation); (c) the reference: the
LSTM-AE's scoring (``score_catalog`` with the shipped default model) on the same stars, timed between
the inference repetitions so both see the same background load. Prints ratios to the reference.

    .venv/bin/python benchmarks/bench_stellar.py --sky data/generated/mock_sky.parquet --model data/models/stellar
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def load_sky(path: Path | None, n_mock: int):
    import core

    if path is not None and path.exists():
        return core.read_parquet(path), str(path)
    return core.generate_mock_sky(n_mock, seed=1), f"generate_mock_sky({n_mock}, seed=1)"


def bench_training(field, epochs: int) -> dict:
    """Seconds per epoch of the stellar engine on ``field``'s labelled training split (after warm-up)."""
    from core.stellar import StellarModel
    from core.stellar.data import prepare
    from core.stellar.engine import StellarEngine, tensors
    from core.stellar.model import FEATURES
    from core.stellar.training import StellarTrainConfig, refresh, split_rows

    theta = field[list(FEATURES)].to_numpy(np.float64)
    model = StellarModel(("g", "r", "i", "z", "y"), theta_median=np.median(theta, 0), theta_scale=theta.std(0))
    data = prepare(field, model, training=True)
    cfg = StellarTrainConfig()
    tr = np.flatnonzero(split_rows(len(data), cfg.split, cfg.seed) == 0)
    ref = refresh(model, data, cfg, first=True)
    engine = StellarEngine(model, cfg.batch_size, jit=True)
    state = engine.start(model.weights, cfg.learning_rate)
    arrays = tensors(model.standardise(data.theta[tr]), ref.ebv[tr], ref.lt[tr], data.y_obs[tr], np.ones(len(tr)))
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    state, _ = engine.epoch(state, arrays, rng.permutation(len(tr)).astype(np.int32))
    warm = time.perf_counter() - t0
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        state, _ = engine.epoch(state, arrays, rng.permutation(len(tr)).astype(np.int32))
        times.append(time.perf_counter() - t0)
    per_epoch = float(np.median(times))
    schedule_epochs = cfg.first_epochs + (cfg.iterations - 1) * cfg.epochs
    return {
        "n_train": int(len(tr)),
        "first_epoch_s": warm,
        "epoch_s_median": per_epoch,
        "s_per_million_star_epochs": per_epoch / len(tr) * 1e6,
        "schedule_epochs": schedule_epochs,
        "schedule_s_per_million_labelled": per_epoch / len(tr) * 1e6 * schedule_epochs / cfg.split[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sky", type=Path, default=ROOT / "data" / "generated" / "mock_sky.parquet")
    parser.add_argument("--model", type=Path, default=ROOT / "data" / "models" / "stellar")
    parser.add_argument("--ae-model", type=Path, default=ROOT / "data" / "models" / "default")
    parser.add_argument("--n-mock", type=int, default=300_000, help="mock size when --sky is missing")
    parser.add_argument("--stars", type=int, default=100_000, help="stars per inference repetition")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--train-epochs", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    from core.mock.spectro import labelled, lamost_field
    from core.scoring import TrainedModel, score_catalog
    from core.stellar.inference import configs_from_card, infer_parameters, load_stellar_model

    load0 = os.getloadavg()
    sky, source = load_sky(args.sky, args.n_mock)
    print(f"catalog: {source}; {len(sky):,} stars; load average {load0[0]:.1f} on {os.cpu_count()} CPUs")
    field = lamost_field(sky) if "ebv_err" not in sky.columns else labelled(sky)
    train = bench_training(field, args.train_epochs)
    print(f"training: {train['n_train']:,} stars, {train['epoch_s_median']:.3f} s/epoch "
          f"(first, with XLA compile: {train['first_epoch_s']:.1f} s) = {train['s_per_million_star_epochs']:.1f} s "
          f"per million star-epochs; the default schedule ({train['schedule_epochs']} epochs) would take "
          f"{train['schedule_s_per_million_labelled'] / 60:.1f} min per million labelled stars (epochs only)")

    model, grid, card = load_stellar_model(args.model)
    data_config, grid_config = configs_from_card(card)
    ae = TrainedModel.load(args.ae_model)
    rng = np.random.default_rng(0)
    sample = sky.iloc[np.sort(rng.choice(len(sky), min(args.stars, len(sky)), replace=False))].reset_index(drop=True)
    sample.attrs = sky.attrs
    infer_parameters(sample.iloc[:25_000], model, grid, data_config=data_config, grid_config=grid_config,
                     progress=False)  # warm-up: XLA compiles the posterior for its block shapes
    score_catalog(sample.iloc[:25_000], ae, progress=False)
    inf_t, ae_t = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        infer_parameters(sample, model, grid, data_config=data_config, grid_config=grid_config, progress=False)
        inf_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        score_catalog(sample, ae, progress=False)
        ae_t.append(time.perf_counter() - t0)
    n = len(sample)
    inf_per_m = float(np.median(inf_t)) / n * 1e6
    ae_per_m = float(np.median(ae_t)) / n * 1e6
    load1 = os.getloadavg()
    print(f"inference: {inf_per_m:.0f} s per million stars ({n:,} stars x {args.repeats}); "
          f"3.1M stars: {inf_per_m * 3.1 / 60:.1f} min")
    print(f"reference, LSTM-AE scoring of the same stars: {ae_per_m:.1f} s per million stars")
    print(f"ratio inference / AE scoring: {inf_per_m / ae_per_m:.0f}x; "
          f"load average {load0[0]:.1f} before, {load1[0]:.1f} after (measured on a shared machine)")
    if args.json:
        args.json.write_text(json.dumps({
            "catalog": source, "training": train, "inference_s_per_million": inf_per_m,
            "ae_scoring_s_per_million": ae_per_m, "ratio": inf_per_m / ae_per_m, "load": [load0, load1],
            "platform": platform.platform(), "cpus": os.cpu_count(),
        }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
