"""Time the dashboard's server-side work at survey scale on synthetic scored catalogs.

    .venv/bin/python benchmarks/bench_dashboard.py                 # 3.1M and 10M stars
    .venv/bin/python benchmarks/bench_dashboard.py --sizes 3100000 --write /tmp/sky.parquet

Measures, per size: loading the shared data (plotting columns), a lasso polygon -> selection mask on
the full catalog, re-aggregating a view with datashader at 800x600 (what a pan/zoom costs), the
highlight aggregation of a selection in every linked view, and the summary / category table / table
frame a lasso refreshes. ``--write`` also saves the synthetic catalog for ``panel serve dashboard --args``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import datashader as ds
import holoviews as hv
import numpy as np
import pandas as pd
from holoviews.operation.datashader import rasterize

from core.bands import PS1
from core.catalog import bandset_to_meta, write_parquet
from dashboard import plots
from dashboard.sky import SkyData
from dashboard.state import AppState
from dashboard.views import TABLE_MAX


def synthetic_scored(n: int, seed: int = 0) -> pd.DataFrame:
    """A scored catalog in the contract with a stellar-locus-like latent space; numbers, not astrophysics."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(-0.3, 3.2, n).astype(np.float32)  # ~ g - i
    g = rng.uniform(14.5, 21.5, n).astype(np.float32)
    steps = np.stack([0.62 * t, 0.38 * t, 0.2 * t, 0.1 * t]).astype(np.float32)
    mags = np.empty((n, 5), np.float32)
    mags[:, 0] = g
    for k in range(1, 5):
        mags[:, k] = mags[:, k - 1] - steps[k - 1]
    res = rng.normal(0, 0.01, (n, 5)).astype(np.float32)
    odd = rng.random(n) < 0.005
    res[odd, rng.integers(0, 5, int(odd.sum()))] += rng.choice([-0.3, 0.3], int(odd.sum())).astype(np.float32)
    df = pd.DataFrame({"obj_id": np.arange(n, dtype=np.int64) + 10**17})
    df["ra"] = rng.uniform(160, 220, n)
    df["dec"] = rng.uniform(5, 50, n)
    df["l"] = rng.uniform(0, 360, n)
    df["b"] = rng.uniform(60, 80, n)
    for k, b in enumerate(PS1.names):
        df[b] = mags[:, k]
        df[f"{b}_err"] = np.float32(0.01)
    df["latent_x"] = (0.1 * t + rng.normal(0, 0.01, n)).astype(np.float32)
    df["latent_y"] = (-0.1 * (g - 18) + rng.normal(0, 0.01, n)).astype(np.float32)
    for k, b in enumerate(PS1.names):
        df[f"{b}_rec"] = mags[:, k] - res[:, k]
    for k, b in enumerate(PS1.names):
        df[f"{b}_res"] = res[:, k]
    abs_res = np.abs(res)
    df["max_abs_res"] = abs_res.max(axis=1)
    df["max_abs_res_sigma"] = df["max_abs_res"] / np.float32(0.01)
    df["res_band"] = pd.Categorical.from_codes(abs_res.argmax(axis=1), categories=list(PS1.names))
    df["anomaly"] = df["max_abs_res"] > 0.05
    cats = np.array(["MS", "RGB", "WD", "binary", "variable"], dtype=object)
    labelled = rng.random(n) < 0.05
    df["simbad_category"] = pd.array(np.where(labelled, cats[rng.integers(0, 5, n)], None), dtype="string")
    gaia = rng.random(n) < 0.2
    df["abs_g"] = np.where(gaia, g - 10 + 2 * t, np.nan).astype(np.float32)
    df.attrs["sedscape"] = bandset_to_meta(PS1)
    return df


def _time(fn, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench(n: int, write: Path | None = None) -> dict[str, float]:
    t0 = time.perf_counter()
    df = synthetic_scored(n)
    gen = time.perf_counter() - t0
    if write is not None:
        write_parquet(df, write, overwrite=True)
    out: dict[str, float] = {"generate (s)": gen}
    t0 = time.perf_counter()
    sky = SkyData(df=df, bands=PS1, catalog_path=Path("synthetic"))
    state = AppState(sky)
    specs = state.specs
    for spec in specs.values():  # what the first page computes once per process
        sky.limits(spec.x, spec.subset), sky.limits(spec.y, spec.subset)
    _ = sky.hover_order, sky.category_codes
    out["shared data prepared once (s)"] = time.perf_counter() - t0

    # A lasso covering ~the middle of the latent cloud.
    ang = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    x, y = sky.frame["latent_x"].to_numpy(), sky.frame["latent_y"].to_numpy()
    cx, cy, rx, ry = np.median(x), np.median(y), 0.6 * x.std(), 0.6 * y.std()
    poly = np.c_[cx + rx * np.cos(ang), cy + ry * np.sin(ang)]
    state.select_polygon("latent", poly)  # compile numba once
    out["lasso -> selection mask (s)"] = _time(lambda: state.select_polygon("latent", poly))
    out["stars selected"] = float(state.n_selected)

    canvas = ds.Canvas(plot_width=800, plot_height=600)
    out["datashader count 800x600 (s)"] = _time(lambda: canvas.points(sky.frame, "latent_x", "latent_y", ds.count()))
    colour = state.colour
    pts = plots.points(sky.frame, specs["latent"], values=state.colour_values()[0], label=colour.label)
    out["pan/zoom re-aggregation, hv rasterize mean (s)"] = _time(
        lambda: rasterize(pts, aggregator=ds.mean("c"), dynamic=False, width=800, height=600)
    )

    def highlight_all():
        sel = state.selection
        for spec in specs.values():
            x, y = spec.columns()
            plots.selection_image(sky.frame[x].to_numpy()[sel], sky.frame[y].to_numpy()[sel], (x, y), active=True,
                                  x_range=sky.limits(x, spec.subset), y_range=sky.limits(y, spec.subset),
                                  width=600, height=450)  # fmt: skip

    out["highlight in all 5 views (s)"] = _time(highlight_all)
    out["summary (s)"] = _time(state.summary)
    out["category table (s)"] = _time(state.category_table)
    out["table frame, 10,000 most anomalous (s)"] = _time(lambda: state.selected_table(TABLE_MAX))
    out["lasso total: mask + highlights + summary + table (s)"] = (
        out["lasso -> selection mask (s)"] + out["highlight in all 5 views (s)"] + out["summary (s)"]
        + out["category table (s)"] + out["table frame, 10,000 most anomalous (s)"]
    )  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[3_100_000, 10_000_000])
    parser.add_argument("--write", type=Path, help="also write the (first size's) synthetic catalog here")
    args = parser.parse_args()
    hv.extension("bokeh")
    results = {}
    for k, n in enumerate(args.sizes):
        results[f"{n:,} stars"] = bench(n, args.write if k == 0 else None)
    table = pd.DataFrame(results)
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 160):
        print(table.to_string())


if __name__ == "__main__":
    main()
