"""Benchmark: CPU and wall time per Adam step of the compiled engine, hand-derived gradient vs autodiff.

Both engines run the same epochs (same weights, same shuffles) interleaved in one process, so background load
hits them alike; CPU time is the process's (all threads), which load distorts less than wall time. The
reference is the batch-major graph differentiated by TensorFlow (the engine before ``core/models/lstm_cells.py``).

    .venv/bin/python benchmarks/bench_train_step.py                  # lstm-ae, 160k training stars
    .venv/bin/python benchmarks/bench_train_step.py --model lstm-ae-2d
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="lstm-ae", choices=["lstm-ae", "lstm-ae-2d"])
    ap.add_argument("--steps", type=int, default=312, help="Adam steps per epoch (training stars = steps x batch)")
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--epochs", type=int, default=6, help="timed epochs per engine, after one warm-up")
    ap.add_argument("--sky", type=Path, default=None, help="catalog to draw stars from (default: synthetic)")
    args = ap.parse_args(argv)

    import tensorflow as tf

    from benchmarks.bench_training import load_stars
    from core.models import build_model
    from core.models.fast import EpochEngine

    n = args.steps * args.batch_size
    x, source = load_stars(n + n // 5, args.sky, 41)
    xt, xv = tf.constant(x[:n]), tf.constant(x[n:])
    model = build_model(args.model, x.shape[1])
    engines = {
        "autodiff": EpochEngine(type(model).forward_graph, model.weight_shapes(), args.batch_size),
        "hand-derived": EpochEngine(type(model).forward_graph, model.weight_shapes(), args.batch_size,
                                    graph=model.cell_graph()),
    }
    rng = np.random.default_rng(0)
    states = {k: e.epoch(e.start(model.get_weights(), 1e-4), xt, rng.permutation(n).astype(np.int32), xv)[0]
              for k, e in engines.items()}
    wall: dict[str, list[float]] = {k: [] for k in engines}
    cpu: dict[str, list[float]] = {k: [] for k in engines}
    for _ in range(args.epochs):
        perm = rng.permutation(n).astype(np.int32)
        for k, e in engines.items():
            t0, c0 = time.perf_counter(), cpu_seconds()
            states[k], _, _ = e.epoch(states[k], xt, perm, xv)
            wall[k].append(time.perf_counter() - t0)
            cpu[k].append(cpu_seconds() - c0)
    print(f"data: {source}; {args.model}, {args.steps} steps of {args.batch_size} per epoch (+ validation)")
    for k in engines:
        print(f"{k:>13}: CPU {1e6 * np.median(cpu[k]) / args.steps:6.0f} us/step, wall "
              f"{1e6 * np.median(wall[k]) / args.steps:6.0f} us/step (medians of {args.epochs})")
    print(f"CPU per step, autodiff / hand-derived: {np.median(cpu['autodiff']) / np.median(cpu['hand-derived']):.2f}x; "
          f"wall: {np.median(wall['autodiff']) / np.median(wall['hand-derived']):.2f}x; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
