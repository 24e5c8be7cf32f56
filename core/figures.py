"""Matplotlib figures of the evaluation report (Agg backend, written as PNG): the paper's Figures 2, 4, 7.

Each function takes arrays or DataFrames and a path, draws one figure and returns the path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.bands import BandSet


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def loss_curves(curves: dict[str, list[dict]], path: Path, title: str = "Loss vs epoch") -> Path:
    """Training (solid) and validation (dashed) loss per epoch for each model's runs (Figure 2).

    ``curves`` maps a model label to a list of history dicts with ``loss`` and ``val_loss``; the first
    label is drawn in colour, the others in greys.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = plt.get_cmap("tab10")
    for m, (label, histories) in enumerate(curves.items()):
        for r, h in enumerate(histories):
            if not h.get("loss"):
                continue
            epochs = np.arange(1, len(h["loss"]) + 1)
            c = colours(r % 10) if m == 0 else str(0.15 + 0.2 * (m - 1))
            ax.plot(epochs, h["loss"], color=c, lw=1.2, label=f"{label} run {r + 1}")
            ax.plot(epochs, h["val_loss"], color=c, lw=1.0, ls="--")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE (scaled magnitudes); dashed: validation")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def binned_std(x: np.ndarray, y: np.ndarray, width: float = 1.0, min_count: int = 10) -> pd.DataFrame:
    """Standard deviation of ``y`` in bins of ``x`` of the given width (bin edges at multiples of width)."""
    lo = np.floor(np.nanmin(x) / width) * width
    hi = np.ceil(np.nanmax(x) / width) * width + width
    edges = np.arange(lo, hi + width / 2, width)
    which = np.digitize(x, edges) - 1
    rows = []
    for k in range(len(edges) - 1):
        sel = which == k
        if sel.sum() >= min_count:
            rows.append({"centre": edges[k] + width / 2, "n": int(sel.sum()), "std": float(np.std(y[sel]))})
    return pd.DataFrame(rows, columns=["centre", "n", "std"])


def residual_vs_magnitude(
    df: pd.DataFrame, bands: BandSet, path: Path, max_points: int = 100_000, seed: int = 0
) -> tuple[Path, dict[str, pd.DataFrame]]:
    """Observed minus reconstructed magnitude vs observed magnitude per band, offset by 0.5 each (Figure 4).

    The scatter shows a seeded subsample; the binned standard deviations use every star.
    """
    plt = _plt()
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(df))[: min(max_points, len(df))]
    fig, ax = plt.subplots(figsize=(7, 1.4 + 1.1 * len(bands)))
    stats: dict[str, pd.DataFrame] = {}
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(bands)))
    for k, b in enumerate(bands.names):
        mag = df[b].to_numpy(float)
        res = df[f"{b}_res"].to_numpy(float)
        shift = 0.5 * (len(bands) - 1 - k)
        ax.scatter(mag[pick], res[pick] + shift, s=0.3, alpha=0.3, color=colours[k], rasterized=True)
        st = binned_std(mag, res)
        stats[b] = st
        for _, row in st.iterrows():
            ax.text(row["centre"], shift + 0.2, f"{row['std']:.3f}", fontsize=6, ha="center")
        ax.text(np.nanmin(mag), shift + 0.05, b, fontsize=9, weight="bold")
    ax.set_xlabel("observed magnitude")
    ax.set_ylabel("m - m' (offset 0.5 per band)")
    ax.set_ylim(-0.3, 0.5 * len(bands) - 0.2)
    ax.set_title("Residual vs magnitude; numbers: std in 1-mag bins")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path, stats


def residual_vs_colour(
    table: pd.DataFrame, bands: BandSet, colour: str, path: Path, *, tolerance: float = 0.01, min_count: int = 20
) -> Path:
    """Median residual per band vs colour bin (from :func:`core.report.residual_by_colour`), the
    +-``tolerance`` band shaded, and the stars per bin below; bins under ``min_count`` stars are hollow."""
    plt = _plt()
    fig, (ax, axn) = plt.subplots(2, 1, figsize=(7, 5.2), sharex=True, height_ratios=(3, 1))
    centre = 0.5 * (table["lo"].to_numpy(float) + table["hi"].to_numpy(float))
    n = table["n"].to_numpy(int)
    thick = n >= min_count
    ax.axhspan(-tolerance, tolerance, color="0.88", zorder=0, label=f"±{tolerance:g} mag")
    ax.axhline(0.0, color="0.5", lw=0.8)
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(bands)))
    for k, b in enumerate(bands.names):
        med = table[f"{b}_median"].to_numpy(float)
        ax.plot(centre, med, color=colours[k], lw=1.0, alpha=0.6)
        ax.scatter(centre[thick], med[thick], color=colours[k], s=22, label=b, zorder=3)
        ax.scatter(centre[~thick], med[~thick], facecolors="none", edgecolors=colours[k], s=22, zorder=3)
    lim = min(0.1, max(0.03, 1.15 * float(np.nanmax(np.abs(table[[f"{b}_median" for b in bands.names]].to_numpy(float))))))
    ax.set_ylim(-lim, lim)
    ax.set_ylabel("median m - m' (mag)")
    ax.set_title(f"Median residual vs {colour} (hollow: fewer than {min_count} stars)")
    ax.legend(fontsize=7, ncol=len(bands) + 1, loc="upper left")
    width = float((table["hi"] - table["lo"]).iloc[0]) if len(table) else 0.25
    axn.bar(centre, n, width=0.9 * width, color=np.where(thick, "0.45", "0.8"))
    for x, v in zip(centre, n, strict=True):
        axn.text(x, v, f"{v:,}", ha="center", va="bottom", fontsize=6)
    axn.set_yscale("log")
    axn.set_ylabel("stars")
    axn.set_xlabel(colour)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def colour_pairs(bands: BandSet) -> list[tuple[str, str]]:
    """Adjacent-band colours plus band 0 - band 2 (``g-r, r-i, i-z, z-y, g-i`` for PS1)."""
    names = bands.names
    pairs = [(names[k], names[k + 1]) for k in range(len(names) - 1)]
    if len(names) > 2:
        pairs.append((names[0], names[2]))
    return pairs


def colour_histograms(df: pd.DataFrame, bands: BandSet, path: Path, bins: int = 80) -> Path:
    """Observed (grey, solid) vs reconstructed (red, dashed) colour distributions (Figure 7)."""
    plt = _plt()
    pairs = colour_pairs(bands)
    ncol = min(3, len(pairs))
    nrow = int(np.ceil(len(pairs) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.3 * ncol, 2.6 * nrow), squeeze=False)
    for ax, (a, b) in zip(axes.flat, pairs, strict=False):
        obs = df[a].to_numpy(float) - df[b].to_numpy(float)
        rec = df[f"{a}_rec"].to_numpy(float) - df[f"{b}_rec"].to_numpy(float)
        lo, hi = np.nanpercentile(obs, [0.1, 99.9])
        edges = np.linspace(lo, hi, bins + 1)
        ax.hist(obs, bins=edges, histtype="stepfilled", color="0.75", label="observed")
        ax.hist(rec, bins=edges, histtype="step", color="red", ls="--", lw=1.2, label="reconstructed")
        ax.set_xlabel(f"{a} - {b}")
        ax.set_yscale("log")
    for ax in list(axes.flat)[len(pairs):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def latent_map(df: pd.DataFrame, path: Path, colour: str | None = None) -> Path:
    """The canonical latent space as a hexbin of all stars, anomalies overplotted in blue."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 5))
    x, y = df["latent_x"].to_numpy(float), df["latent_y"].to_numpy(float)
    ax.hexbin(x, y, gridsize=150, bins="log", cmap="Greys", mincnt=1)
    if "anomaly" in df:
        a = df["anomaly"].to_numpy(bool)
        ax.scatter(x[a], y[a], s=0.5, color="tab:blue", alpha=0.5, label="anomalies", rasterized=True)
        ax.legend(fontsize=7, markerscale=8)
    ax.set_xlabel("latent x (redder →)")
    ax.set_ylabel("latent y (brighter ↑)")
    ax.set_title("Canonical latent space")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
