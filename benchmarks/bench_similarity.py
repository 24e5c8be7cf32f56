"""Find more like these at catalog scale: the head on frozen features, and nearest-neighbour search.

On a scored catalog (default: the default sky; an embedding is used when the catalog has one, else the
residual fingerprint) this measures

* building the standardised feature space of every star;
* :func:`core.similarity.find_more` with up to 10,000 labelled stars (positives from the mock's truth
  class, negatives a random sample), training plus scoring every star (target: under 5 s at 3.1M stars),
  and how well the probability recovers the unlabelled members of the class (ROC-AUC against the truth);
* "stars like this one": :class:`core.similarity.NeighbourIndex` (exact brute force, float32) against
  scikit-learn's ``NearestNeighbors`` (brute, k-d tree, ball tree): build once, then the median query
  time for one star (target: under 0.2 s).

Timings are printed with their ratio to a reference measured in the same run (one float32 pass of
matrix-vector products over the feature matrix), since the machine may be shared.

    .venv/bin/python benchmarks/bench_similarity.py [--catalog SCORED.parquet] [--embedding KEY]
        [--positive-class wd_da,bhb] [--c 0.1] [--trees] [--hidden 32]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pyarrow.parquet as pq

from core import PS1, default_scored_path, read_parquet
from core.similarity import (
    FINGERPRINT,
    FindMoreConfig,
    NeighbourIndex,
    embedding_sets,
    feature_space,
    find_more,
)


def timed(fn, repeat: int = 1):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default=None, help="scored catalog (default: the default sky)")
    parser.add_argument("--embedding", default=None, help=f"model key of the embedding, or {FINGERPRINT!r}")
    parser.add_argument("--positive-class", default="wd_da,bhb,sdb,binary_wd_m,qso",
                        help="mock truth classes of the labelled positives, comma-separated (timed: each)")
    parser.add_argument("--c", type=float, default=FindMoreConfig().c, help="the head's inverse L2 strength")
    parser.add_argument("--labelled", type=int, default=10_000, help="labelled stars (positives + negatives)")
    parser.add_argument("--trees", action="store_true", help="also time scikit-learn's k-d and ball trees")
    parser.add_argument("--hidden", type=int, default=0, help="hidden units of the head (0: logistic regression)")
    args = parser.parse_args()
    path = args.catalog or default_scored_path()
    names = pq.read_schema(path).names
    sets = embedding_sets(names)
    key = args.embedding if args.embedding is not None else (next(iter(sets)) if sets else FINGERPRINT)
    cols = ["obj_id", "true_class", *PS1.names, *PS1.err_columns, *(f"{b}_res" for b in PS1.names)]
    cols += sets.get(key, [])
    (df, load_s) = timed(lambda: read_parquet(path, columns=[c for c in cols if c in names]))
    print(f"{path}: {len(df):,} stars, feature space: {key or 'embedding'} (read in {load_s:.1f} s)")

    space, space_s = timed(lambda: feature_space(df, PS1, key))
    x = space.values
    q = x[:64].T.copy()
    _, ref_s = timed(lambda: x @ q, repeat=3)
    ref_s /= 64  # one star's matrix-vector product over every star, the reference unit
    print(f"reference: one float32 matrix-vector pass over {x.shape[0]:,} x {x.shape[1]} features = {ref_s * 1e3:.1f} ms")

    def line(what: str, seconds: float) -> None:
        print(f"  {what:<58s} {seconds:8.3f} s   {seconds / ref_s:10.0f} x reference")

    line(f"feature space ({space.name}, {x.shape[1]} features)", space_s)

    truth = df["true_class"].astype(str).to_numpy() if "true_class" in df else None
    config = FindMoreConfig(hidden=args.hidden, c=args.c)
    head = f"{args.hidden} hidden units" if args.hidden else f"logistic regression, C={args.c:g}"
    for k, cls in enumerate(args.positive_class.split(",")):
        if truth is None or (truth == cls).sum() < 10:
            print(f"find more: no mock truth class {cls!r} with 10 stars or more in this catalog")
            continue
        rng = np.random.default_rng(0)
        members = np.flatnonzero(truth == cls)
        n_pos = min(len(members) // 2, args.labelled // 6)
        labelled = rng.choice(members, n_pos, replace=False)
        if k == 0:
            find_more(space, labelled[:50], config=config)  # imports scikit-learn: once per process, not counted
        result, _ = timed(lambda labelled=labelled: find_more(space, labelled, config=config))
        print(f"find more like {n_pos:,} '{cls}' stars against {result.n_negative:,} random others "
              f"({n_pos + result.n_negative:,} labelled; head: {head}):")  # fmt: skip
        line("head training (incl. 5-fold cross-validation)", result.train_s)
        line(f"scoring every star ({space.n:,})", result.score_s)
        line("training + scoring", result.train_s + result.score_s)
        from sklearn.metrics import roc_auc_score

        rest = np.setdiff1d(np.arange(space.n), labelled)
        auc = roc_auc_score(truth[rest] == cls, result.probability[rest])
        top = result.top(1000, exclude=labelled)
        ceiling = min(1.0, (len(members) - n_pos) / 1000)
        print(f"  CV ROC-AUC {result.cv_roc_auc:.3f}; ROC-AUC against the truth on the {len(rest):,} unlabelled "
              f"stars {auc:.3f}; {np.mean(truth[top] == cls):.0%} of the next 1,000 shown are '{cls}' (at most "
              f"{ceiling:.0%}: {len(members) - n_pos:,} unlabelled; they are {np.mean(truth[rest] == cls):.2%} of "
              "the rest)")  # fmt: skip

    rows = np.random.default_rng(1).integers(0, space.n, 20)
    index, build_s = timed(lambda: NeighbourIndex(space))
    _, query_s = timed(lambda: [index.query(int(r), 20) for r in rows])
    print("nearest 20 neighbours of one star (median of 20 stars; build once per model):")
    line("NeighbourIndex (exact, fused numba brute force): build", build_s)
    line("NeighbourIndex: query", query_s / len(rows))
    from sklearn.neighbors import NearestNeighbors

    algorithms = ["brute", "kd_tree", "ball_tree"] if args.trees else ["brute"]
    for algorithm in algorithms:
        nn, b_s = timed(lambda a=algorithm: NearestNeighbors(n_neighbors=21, algorithm=a, n_jobs=1).fit(x))
        _, q_s = timed(lambda nn=nn, few=rows[:5]: [nn.kneighbors(x[int(r):int(r) + 1]) for r in few])
        line(f"scikit-learn NearestNeighbors({algorithm}): build", b_s)
        line(f"scikit-learn NearestNeighbors({algorithm}): query", q_s / 5)


if __name__ == "__main__":
    main()
