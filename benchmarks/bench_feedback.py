"""Anomaly ranking with feedback on the default sky: a simulated user against ranking by residual alone.

The oracle answers "interesting" for the mock's white dwarfs, hot subdwarfs, WD+M binaries and QSOs and
"not interesting" for everything else (artefacts included). Prints, for AADForest and PineForest, how many of
the next 100 stars shown are interesting after 0, 20, 50 and 100 answers, the ratio to the residual ranking's
top 100 (the reference, measured on the same candidates), and the median re-ranking time per answer.

    .venv/bin/python benchmarks/bench_feedback.py [--catalog SCORED.parquet] [--n-top 30000]
"""

from __future__ import annotations

import argparse
import time

from core import PS1, RankingConfig, ensure_default_scored, load_scored, mock_oracle, simulate_feedback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default=None, help="scored mock catalog (default: the default sky)")
    parser.add_argument("--n-top", type=int, default=30_000, help="candidates besides those above the threshold")
    parser.add_argument("--methods", default="aad,pine")
    args = parser.parse_args()
    path = args.catalog or ensure_default_scored()
    cols = ["obj_id", *PS1.names, *PS1.err_columns, *(f"{b}_res" for b in PS1.names), "max_abs_res", "true_class"]
    sky = load_scored(path, columns=[*cols, "latent_x", "latent_y", *(f"{b}_rec" for b in PS1.names),
                                     "max_abs_res_sigma", "res_band", "anomaly"])  # fmt: skip
    print(f"{path}: {len(sky):,} stars")
    for method in args.methods.split(","):
        t0 = time.perf_counter()
        curve = simulate_feedback(sky, PS1, 0.05, mock_oracle(sky), checkpoints=(0, 20, 50, 100),
                                  config=RankingConfig(n_top=args.n_top, method=method))  # fmt: skip
        print(f"\n{method}: {curve.n_candidates:,} candidates, {curve.n_interesting_candidates:,} of them interesting; "
              f"median re-rank {curve.median_refit_s:.2f} s per answer; {time.perf_counter() - t0:.0f} s in all")  # fmt: skip
        table = curve.table()
        ref = curve.residual_ranking
        table["ratio to residual ranking"] = [f"{v / ref:.1f}x" if ref else ("inf" if v else "-") for v in curve.interesting_in_top]
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
