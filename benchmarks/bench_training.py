"""Benchmark: the paper-layout Keras LSTM-AE versus sedscape's compiled fast path, on the same data.

Measures in one run (a) Keras ``fit`` seconds per epoch (the appendix's model and compile: Adam 1e-4,
MSE, batch 512), (b) the compiled engine's seconds per epoch on the same stars, both after a warm-up
epoch and both including the validation pass, and (c) scoring throughput (latent + reconstruction) of
the fast path and of Keras ``predict``. Keras and fast-path epochs are interleaved so both see the
same background load on a shared machine. Prints the speedups and optionally writes JSON.

    .venv/bin/python benchmarks/bench_training.py --json bench.json
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


def load_stars(n: int, sky: Path | None, seed: int) -> tuple[np.ndarray, str]:
    """Scaled grizy magnitudes of ``n`` stars: from a catalog Parquet if given, else synthetic."""
    from core.bands import PS1
    from core.models import scale

    if sky is not None:
        from core.catalog import read_parquet

        df = read_parquet(sky)
        mags = df[list(PS1.names)].dropna().to_numpy()
        rng = np.random.default_rng(seed)
        mags = mags[rng.choice(len(mags), size=min(n, len(mags)), replace=False)]
        return scale(mags), f"{sky} ({len(mags)} stars)"
    from tests._catalogs import make_catalog

    df = make_catalog(n, seed=seed, with_optional=False)
    return scale(df[list(PS1.names)].to_numpy()), f"tests._catalogs.make_catalog({n}, seed={seed})"


class FastRunner:
    """The compiled engine on the benchmark data; :meth:`timed_epoch` trains one epoch and returns seconds."""

    def __init__(self, model, x_train, x_val, batch_size: int, lr: float) -> None:
        import tensorflow as tf

        self.engine = model.engine(batch_size)
        self.state = self.engine.start(model.get_weights(), lr)
        self.x, self.xv = tf.constant(x_train), tf.constant(x_val)
        self.rng = np.random.default_rng(0)
        self.first = self.timed_epoch()  # warm-up: includes XLA compilation

    def timed_epoch(self) -> float:
        perm = self.rng.permutation(len(self.x)).astype(np.int32)
        t0 = time.perf_counter()
        self.state, _, _ = self.engine.epoch(self.state, self.x, perm, self.xv)
        return time.perf_counter() - t0


def bench_training(
    model, fast: FastRunner, x_train, x_val, keras_epochs: int, fast_per_keras: int, batch_size: int
):
    """Seconds per epoch of the appendix model's Keras ``fit`` and of the fast path, interleaved.

    The machine is shared, so after each Keras epoch (timed by a callback) the fast path runs
    ``fast_per_keras`` epochs; both then see the same background load. Keras' first epoch is warm-up.
    """
    import keras

    km = model.to_keras(compile=True)  # Adam(1e-4), MSE, Keras' default jit_compile="auto"
    keras_times: list[float] = []
    fast_times: list[float] = []

    class Interleave(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            keras_times.append(time.perf_counter() - self.t0)
            if epoch > 0:
                fast_times.extend(fast.timed_epoch() for _ in range(fast_per_keras))

    xt, xv = x_train[:, None, :], x_val[:, None, :]
    km.fit(
        xt,
        xt,
        batch_size=batch_size,
        epochs=keras_epochs + 1,
        validation_data=(xv, xv),
        verbose=0,
        callbacks=[Interleave()],
    )
    return keras_times[1:], fast_times


def bench_scoring(model, x: np.ndarray, n_score: int, keras_n: int) -> dict:
    """Stars per second: fast ``score`` (latent + reconstruction) and Keras ``predict`` on the appendix model."""
    big = np.resize(x, (n_score, x.shape[1]))
    model.score(big)  # warm-up: compiles the chunk sizes used below
    t0 = time.perf_counter()
    model.score(big)
    fast_s = time.perf_counter() - t0
    km = model.to_keras(compile=False)
    small = big[:keras_n, None, :]
    km.predict(small[:8192], batch_size=8192, verbose=0)
    t0 = time.perf_counter()
    km.predict(small, batch_size=8192, verbose=0)
    keras_s = time.perf_counter() - t0
    return {
        "fast_stars": n_score,
        "fast_seconds": fast_s,
        "fast_stars_per_s": n_score / fast_s,
        "keras_predict_stars": keras_n,
        "keras_predict_batch_size": 8192,
        "keras_seconds": keras_s,
        "keras_stars_per_s": keras_n / keras_s,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-stars", type=int, default=200_000, help="stars loaded; 80%% train, 20%% validation")
    ap.add_argument(
        "--sky", type=Path, default=None, help="catalog Parquet to sample stars from (default: synthetic)"
    )
    ap.add_argument("--keras-epochs", type=int, default=3, help="timed Keras epochs after one warm-up")
    ap.add_argument(
        "--fast-per-keras", type=int, default=3, help="fast-path epochs timed after each Keras epoch"
    )
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--learning-rate", type=float, default=1e-4)
    ap.add_argument("--score-stars", type=int, default=2_000_000, help="stars scored by the fast path")
    ap.add_argument("--keras-score-stars", type=int, default=200_000, help="stars scored by Keras predict")
    ap.add_argument("--seed", type=int, default=41)
    ap.add_argument("--json", type=Path, default=None, help="write results here")
    args = ap.parse_args(argv)

    import tensorflow as tf

    from core.models import LSTMAutoencoder

    x, source = load_stars(args.n_stars, args.sky, args.seed)
    n_train = int(0.8 * len(x))
    x_train, x_val = x[:n_train], x[n_train:]
    model = LSTMAutoencoder(x.shape[1], seed=args.seed)
    load_before = os.getloadavg()

    fast = FastRunner(model, x_train, x_val, args.batch_size, args.learning_rate)
    keras_times, fast_times = bench_training(
        model, fast, x_train, x_val, args.keras_epochs, args.fast_per_keras, args.batch_size
    )
    fast_first = fast.first
    scoring = bench_scoring(model, x, args.score_stars, args.keras_score_stars)
    keras_epoch, fast_epoch = float(np.median(keras_times)), float(np.median(fast_times))
    result = {
        "data": source,
        "n_train": n_train,
        "n_val": len(x_val),
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "keras_seconds_per_epoch": keras_times,
        "fast_seconds_per_epoch": fast_times,
        "fast_first_epoch_seconds_incl_compile": fast_first,
        "train_speedup_median": keras_epoch / fast_epoch,
        "train_speedup_min": min(keras_times) / min(fast_times),
        "scoring": scoring,
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
            "platform": platform.platform(),
            "tensorflow": tf.__version__,
            "xla_flags": os.environ.get("XLA_FLAGS", ""),
        },
    }
    print(f"data: {source}; train {n_train}, val {len(x_val)}, batch {args.batch_size}")
    print(f"Keras fit:  {keras_epoch:.3f} s/epoch (median of {len(keras_times)})")
    print(
        f"fast path:  {fast_epoch:.3f} s/epoch (median of {len(fast_times)}; first epoch incl. compile {fast_first:.1f} s)"
    )
    print(
        f"train speedup: {result['train_speedup_median']:.1f}x (medians), "
        f"{result['train_speedup_min']:.1f}x (fastest epochs)"
    )
    print(
        f"scoring: fast {scoring['fast_stars_per_s']:,.0f} stars/s; Keras predict {scoring['keras_stars_per_s']:,.0f} stars/s"
    )
    print(f"load average before/after: {load_before} / {result['machine']['loadavg_after']}")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
