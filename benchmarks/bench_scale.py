"""Scaling of the partitioned (HATS) pipeline: mock generation, scoring and dashboard aggregation vs catalog size.

    python benchmarks/bench_scale.py --sizes 1e6 3e6 10e6 30e6 --work /tmp/scale
    python benchmarks/bench_scale.py --sizes 100e6 --work /data/scale --keep   # the integrator's 100M run

Each step runs as its own process (``sedscape mock --format hats``, ``sedscape score`` on a local Dask
cluster, a datashader aggregation of the scored catalog); wall time and the peak resident memory of
the step's whole process tree (Dask workers included, sampled every 0.2 s) are recorded. Scoring is
also timed with 1 and 2 workers at the smallest size (stars/s per worker). Results are printed as
seconds per million stars and as ratios to the smallest size measured in the same run (1.0 = linear
scaling), appended to ``--json``, and plotted (``--plot``) with a straight-line extrapolation to
10^9 stars, labelled as such. The model is an LSTM-AE trained briefly on a sample of the smallest
catalog (throughput does not depend on how well it is trained).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT_AGG = """
import sys, time
from core.scored_partitions import PartitionedScored
ps = PartitionedScored(sys.argv[1])
t0 = time.perf_counter()
agg = ps.aggregate("latent_x", "latent_y", width=800, height=800)
t1 = time.perf_counter()
agg2 = ps.aggregate("latent_x", "latent_y", width=800, height=800, agg="mean", column="max_abs_res")
print(f"{int(agg.sum())} {t1 - t0:.3f} {time.perf_counter() - t1:.3f}")
"""


def run_step(cmd: list[str], label: str) -> dict:
    """Run ``cmd``; wall time and the peak RSS summed over its process tree."""
    import psutil

    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(proc.pid)
        while not stop.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.2)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    stop.set()
    t.join()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{label} failed ({proc.returncode}):\n{err[-3000:]}")
    print(f"  {label}: {wall:.1f} s, peak {peak / 1e9:.2f} GB", flush=True)
    return {"wall_s": wall, "peak_gb": peak / 1e9, "stdout": out[-2000:]}


def sedscape(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from core.cli import main; sys.exit(main())", "-q", *args]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=float, nargs="+", default=[1e6, 3e6, 10e6, 30e6])
    p.add_argument("--work", type=Path, default=Path("/tmp/sedscape-scale"))
    p.add_argument("--workers", type=int, default=2, help="Dask workers for the scoring runs")
    p.add_argument("--json", type=Path, default=REPO / "docs" / "bench_scale.json")
    p.add_argument("--plot", type=Path, default=REPO / "docs" / "bench_scale.png")
    p.add_argument("--keep", action="store_true", help="keep the catalogs (default: delete each after use)")
    p.add_argument("--model", type=Path, default=None, help="a trained model directory (default: train one)")
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    sizes = sorted(int(s) for s in args.sizes)
    results: dict = {"machine": f"{os.cpu_count()} cores", "runs": []}
    model = args.model
    for n in sizes:
        print(f"{n:,} stars", flush=True)
        mock, scored = args.work / f"mock_{n}", args.work / f"scored_{n}"
        row = {
            "n_stars": n,
            "mock": run_step(
                sedscape("mock", "--stars", str(n), "--out", str(mock), "--format", "hats", "--overwrite"),
                "mock",
            ),
        }
        if model is None:
            model = args.work / "model"
            run_step(
                sedscape(
                    "train",
                    str(mock),
                    "--sample",
                    "50000",
                    "--model",
                    "lstm-ae",
                    "--runs",
                    "1",
                    "--max-epochs",
                    "3",
                    "--out",
                    str(model),
                    "--overwrite",
                ),
                "train (once)",
            )
        if n == sizes[0]:
            for w in (1, 2):
                step = run_step(
                    sedscape(
                        "score",
                        str(mock),
                        "--model",
                        str(model),
                        "--out",
                        str(scored),
                        "--workers",
                        str(w),
                        "--overwrite",
                    ),
                    f"score, {w} worker(s)",
                )
                row[f"score_{w}w"] = step
        row["score"] = run_step(
            sedscape(
                "score",
                str(mock),
                "--model",
                str(model),
                "--out",
                str(scored),
                "--workers",
                str(args.workers),
                "--overwrite",
            ),
            f"score, {args.workers} workers",
        )
        agg = run_step([sys.executable, "-c", SCRIPT_AGG, str(scored)], "datashader aggregation")
        total, count_s, mean_s = agg["stdout"].split()[-3:]
        agg.update({"rows": int(total), "count_s": float(count_s), "mean_s": float(mean_s)})
        row["aggregate"] = agg
        for s in ("mock", "score", "aggregate"):
            row[s].pop("stdout", None)
        results["runs"].append(row)
        if not args.keep:
            import shutil

            shutil.rmtree(mock, ignore_errors=True)
            shutil.rmtree(scored, ignore_errors=True)
    report(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    history = json.loads(args.json.read_text()) if args.json.exists() else []
    history.append({"measured_at": time.strftime("%Y-%m-%d %H:%M"), **results})
    args.json.write_text(json.dumps(history, indent=1) + "\n")
    plot(history, args.plot)


def report(results: dict) -> None:
    runs = results["runs"]
    ref = runs[0]
    print("\nstep       stars        wall s   s per 1M   ratio to smallest (1.0 = linear)   peak GB")
    for r in runs:
        for step in ("mock", "score", "aggregate"):
            w = r[step]["wall_s"]
            per_m = w / (r["n_stars"] / 1e6)
            ratio = per_m / (ref[step]["wall_s"] / (ref["n_stars"] / 1e6))
            print(
                f"{step:10s} {r['n_stars']:>11,}  {w:8.1f}  {per_m:9.2f}   {ratio:5.2f}"
                f"                              {r[step]['peak_gb']:6.2f}"
            )
    for w in (1, 2):
        step = ref.get(f"score_{w}w")
        if step:
            rate = ref["n_stars"] / step["wall_s"]
            print(
                f"scoring {ref['n_stars']:,} stars with {w} worker(s): {rate:,.0f} stars/s end to end, "
                f"{rate / w:,.0f} per worker"
            )
    if ref.get("score_1w") and ref.get("score_2w"):
        print(f"speed-up 1 -> 2 workers: {ref['score_1w']['wall_s'] / ref['score_2w']['wall_s']:.2f}x")


def plot(history: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    points: dict[str, dict[int, tuple[float, float]]] = {"mock": {}, "score": {}, "aggregate": {}}
    for run in history:
        for r in run["runs"]:
            for step in points:
                points[step][r["n_stars"]] = (r[step]["wall_s"], r[step]["peak_gb"])
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.2))
    big = np.array([1e6, 1e9])
    for step, pts in points.items():
        if not pts:
            continue
        n = np.array(sorted(pts))
        t = np.array([pts[k][0] for k in n])
        m = np.array([pts[k][1] for k in n])
        (line,) = ax_t.loglog(n, t, "o-", label=step)
        per_star = t[-1] / n[-1]
        ax_t.loglog(big, per_star * big, "--", color=line.get_color(), alpha=0.5)
        ax_m.semilogx(n, m, "o-", color=line.get_color(), label=step)
    ax_t.set_xlabel("stars")
    ax_t.set_ylabel("wall time (s)")
    ax_t.set_title("time (dashed: linear extrapolation to 10^9)")
    ax_t.legend()
    ax_m.set_xlabel("stars")
    ax_m.set_ylabel("peak memory of the step (GB)")
    ax_m.set_title("memory (bounded by block / partition size)")
    ax_m.axhline(6, color="grey", lw=0.8, ls=":")
    fig.suptitle("sedscape on HATS: measured on a shared 2-core machine", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
