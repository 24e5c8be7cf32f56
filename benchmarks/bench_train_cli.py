"""Benchmark: `sedscape train` end to end against the paper's Keras `fit`, per epoch, measured in one run.

The CLI's per-epoch cost includes everything an epoch costs a user (validation pass, early-stopping
bookkeeping, history, shuffling, progress and logging): it is ``(T(61 epochs) - T(1 epoch)) / 60`` where
``T`` is the wall time of a whole ``sedscape train --runs 1 --max-epochs E --patience E`` process, so
start-up, compilation and the work after training (rotation, agreement, saving) cancel. The reference
is the paper's appendix model (Keras, Adam 1e-4, MSE) timed per epoch by a callback in its own process,
on the same training and validation stars (the CLI's split of the same catalog), batch 512. Keras runs
before and after each pair of CLI runs, so the two see the same background load; the ratio of each
repeat uses the mean of the Keras timings around it.

    .venv/bin/python benchmarks/bench_train_cli.py                      # 400k stars of the default mock sky
    .venv/bin/python benchmarks/bench_train_cli.py --repeats 3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CLI = "import sys; from core.cli import main; sys.exit(main())"


def make_catalog(sky: Path, n: int, seed: int, out: Path) -> Path:
    """A seeded ``n``-star subsample of ``sky`` (rows kept in catalog order), written as a sedscape Parquet."""
    from core.catalog import read_parquet, write_parquet

    df = read_parquet(sky)
    rows = np.sort(np.random.default_rng(seed).choice(len(df), size=min(n, len(df)), replace=False))
    sub = df.iloc[rows].reset_index(drop=True)
    sub.attrs = df.attrs
    return write_parquet(sub, out, overwrite=True)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def time_cli(catalog: Path, out: Path, epochs: int, model: str) -> float:
    """Wall seconds of one ``sedscape train`` process running exactly ``epochs`` epochs."""
    cmd = [sys.executable, "-c", CLI, "train", str(catalog), "--out", str(out), "--model", model, "--runs", "1",
           "--max-epochs", str(epochs), "--patience", str(epochs), "--overwrite"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"sedscape train failed ({done.returncode}):\n{done.stderr[-3000:]}")
    card = json.loads((out / "model_card.json").read_text())
    if card["runs"][0]["epochs"] != epochs:
        raise SystemExit(f"expected {epochs} epochs, the card says {card['runs'][0]['epochs']}")
    return seconds


def time_keras(catalog: Path, epochs: int, batch_size: int) -> list[float]:
    """Per-epoch seconds of the paper's Keras model (first epoch = warm-up, dropped), in a fresh process."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--keras-worker", str(catalog), "--keras-epochs",
           str(epochs), "--batch-size", str(batch_size)]
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"Keras worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def keras_worker(catalog: Path, epochs: int, batch_size: int) -> None:
    """Run Keras ``fit`` on the CLI's run-1 split of ``catalog`` and print the per-epoch seconds as JSON."""
    import keras

    from core.bands import PS1
    from core.catalog import read_parquet
    from core.models import LSTMAutoencoder, scale
    from core.training import split_indices

    x = scale(read_parquet(catalog, columns=list(PS1.names)).to_numpy())
    tr, va, _ = split_indices(len(x), 41)
    model = LSTMAutoencoder(5, seed=41).to_keras(compile=True)  # the appendix: Adam(1e-4), MSE
    times: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    xt, xv = x[tr][:, None, :], x[va][:, None, :]
    model.fit(xt, xt, batch_size=batch_size, epochs=epochs + 1, validation_data=(xv, xv), verbose=0,
              callbacks=[Clock()])
    print(json.dumps(times[1:]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sky", type=Path, default=ROOT / "data" / "generated" / "mock_sky.parquet",
                    help="catalog to subsample (default: the default mock sky from `sedscape prepare-default`)")
    ap.add_argument("--n-stars", type=int, default=400_000)
    ap.add_argument("--seed", type=int, default=2025, help="subsample seed")
    ap.add_argument("--epochs", type=int, default=61, help="long CLI run; the short one runs 1 epoch")
    ap.add_argument("--repeats", type=int, default=2, help="(Keras, CLI 1, CLI long) rounds; Keras once more at the end")
    ap.add_argument("--keras-epochs", type=int, default=3, help="timed Keras epochs per Keras run (after a warm-up)")
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--model", default="lstm-ae", help="model the CLI trains (the reference is always the paper's)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--keras-worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.keras_worker is not None:
        keras_worker(args.keras_worker, args.keras_epochs, args.batch_size)
        return 0
    if args.batch_size != 512:
        print("note: the CLI trains at --batch-size 512 unless told; passing it through", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="bench_train_cli_") as tmp:
        tmp = Path(tmp)
        catalog = make_catalog(args.sky, args.n_stars, args.seed, tmp / "catalog.parquet")
        load_before = os.getloadavg()
        keras_runs = [time_keras(catalog, args.keras_epochs, args.batch_size)]
        rounds = []
        for k in range(args.repeats):
            t1 = time_cli(catalog, tmp / "m1", 1, args.model)
            tn = time_cli(catalog, tmp / "mn", args.epochs, args.model)
            keras_runs.append(time_keras(catalog, args.keras_epochs, args.batch_size))
            keras_epoch = float(np.mean([np.median(keras_runs[k]), np.median(keras_runs[k + 1])]))
            cli_epoch = (tn - t1) / (args.epochs - 1)
            rounds.append({"cli_1_epoch_s": t1, f"cli_{args.epochs}_epochs_s": tn, "cli_s_per_epoch": cli_epoch,
                           "keras_s_per_epoch": keras_epoch, "ratio": keras_epoch / cli_epoch,
                           "loadavg": os.getloadavg()})
            print(f"round {k + 1}: sedscape train {cli_epoch:.3f} s/epoch (1 epoch {t1:.1f} s, {args.epochs} epochs "
                  f"{tn:.1f} s); Keras fit {keras_epoch:.3f} s/epoch; ratio {keras_epoch / cli_epoch:.1f}x; "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    ratios = [r["ratio"] for r in rounds]
    print(f"end-to-end training speed-up over Keras fit: min {min(ratios):.1f}x, median {np.median(ratios):.1f}x "
          f"({args.n_stars:,} stars, batch {args.batch_size}, model {args.model}); load average before "
          f"{load_before[0]:.1f}, after {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.json is not None:
        args.json.write_text(json.dumps({"rounds": rounds, "keras_epoch_seconds": keras_runs, "args": {
            k: str(v) for k, v in vars(args).items()}}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
