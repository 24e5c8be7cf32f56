"""Figures of the stellar-model report, after the seed's: de-noised CMDs coloured by Teff and [Fe/H] (Figs 8-9),
R against SF11, residuals against training density (Fig. 13), inferred against true parameters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.figures import _plt
from core.stellar.model import StellarModel


def _scatter(ax, x, y, c, cmap, vmin, vmax, label):
    order = np.argsort(np.abs(c - np.nanmedian(c)))  # extreme values on top
    sc = ax.scatter(x[order], y[order], c=c[order], s=1.5, cmap=cmap, vmin=vmin, vmax=vmax, rasterized=True, lw=0)
    cb = ax.figure.colorbar(sc, ax=ax, pad=0.01)
    cb.set_label(label)


def predicted_cmds(test: dict[str, np.ndarray], model: StellarModel, path: Path) -> Path:
    """Observed (parallax, dereddened with the fitted E) vs predicted dust-free CMDs of the test stars, coloured
    by the spectroscopic Teff and [Fe/H]: the model's de-noised stellar locus (the seed's Figs 8 and 9)."""
    plt = _plt()
    bands = list(model.bands)
    gi_idx = (bands.index("g"), bands.index("i")) if {"g", "i"} <= set(bands) else (0, len(bands) - 1)
    ref = model.config.ref_band
    pred = model.to_magnitudes(test["y_free"])
    has_plx = test["mu_var"] < 1e5
    r_obs = model.to_magnitudes(test["y_obs"])  # ref entry is m - mu where a parallax exists
    _, r_vec = model.predict(test["theta"], 0.0)
    obs0 = r_obs - test["ebv"][:, None] * r_vec
    colour_obs = obs0[:, gi_idx[0]] - obs0[:, gi_idx[1]]
    colour_pred = pred[:, gi_idx[0]] - pred[:, gi_idx[1]]
    m_obs, m_pred = obs0[:, bands.index(ref)], pred[:, bands.index(ref)]
    fig, axes = plt.subplots(2, 2, figsize=(11, 9), sharex=True, sharey=True)
    teff, feh = test["theta"][:, 0], test["theta"][:, 2]
    for row, (c, cmap, lims, label) in enumerate(
        ((teff, "RdYlBu", np.percentile(teff, [2, 98]), "spectroscopic Teff [K]"),
         (feh, "viridis", (-1.8, 0.3), "spectroscopic [Fe/H]"))
    ):
        _scatter(axes[row, 0], colour_obs[has_plx], m_obs[has_plx], c[has_plx], cmap, *lims, label)
        _scatter(axes[row, 1], colour_pred, m_pred, c, cmap, *lims, label)
        axes[row, 0].set_ylabel(f"M_{ref}")
    axes[0, 0].set_title("observed (parallax, dereddened with fitted E)")
    axes[0, 1].set_title("predicted from the spectroscopic labels (dust-free)")
    for ax in axes[1]:
        ax.set_xlabel(f"({bands[gi_idx[0]]} - {bands[gi_idx[1]]})_0")
    lo = np.nanpercentile(m_pred, 0.5) - 0.5
    hi = np.nanpercentile(m_pred, 99.5) + 0.5
    axes[0, 0].set_ylim(hi, lo)
    axes[0, 0].set_xlim(np.nanpercentile(colour_pred, 0.2) - 0.1, np.nanpercentile(colour_pred, 99.8) + 0.1)
    fig.suptitle(f"Test stars: {len(teff):,} (observed panel: {int(has_plx.sum()):,} with parallax S/N >= 5)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def r_vs_sf11(table: pd.DataFrame, path: Path) -> Path:
    """Learned extinction vector against the Schlafly & Finkbeiner (2011) coefficients, with the ratio."""
    plt = _plt()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    x = np.arange(len(table))
    ax.plot(x, table["R_SF11"], "ko-", label="SF11 (R_V = 3.1), the mock's truth")
    ax.plot(x, table["R_learned"], "rs--", label="learned (median features)")
    ax.set_xticks(x, table["band"])
    ax.set_ylabel("A_band / E(B-V)")
    ax.legend()
    ax2.axhspan(-2, 2, color="0.9", label="+-2 %")
    ax2.plot(x, table["percent_diff"], "rs-")
    ax2.axhline(0, color="k", lw=0.8)
    ax2.set_xticks(x, table["band"])
    ax2.set_ylabel("learned / SF11 - 1 [%]")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def residuals_vs_density(z: np.ndarray, density: np.ndarray, names: list[str], path: Path) -> Path:
    """Colour residuals (in units of their sigma) of test stars against the training-star density at their
    features, normalised to the peak (the seed's Fig. 13): median and 16-84 % band per density bin."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    dens = np.clip(density / max(np.nanmax(density), 1e-12), 1e-5, 1)
    edges = np.logspace(-5, 0, 16)
    mid = np.sqrt(edges[1:] * edges[:-1])
    for k, name in enumerate(names):
        med, lo, hi = [], [], []
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            m = (dens >= a) & (dens < b) & np.isfinite(z[:, k])
            if m.sum() < 20:
                med.append(np.nan), lo.append(np.nan), hi.append(np.nan)
                continue
            q = np.percentile(z[m, k], [16, 50, 84])
            lo.append(q[0]), med.append(q[1]), hi.append(q[2])
        line = ax.plot(mid, med, "-", label=name)[0]
        ax.fill_between(mid, lo, hi, color=line.get_color(), alpha=0.15)
    ax.set_xscale("log")
    ax.axhline(0, color="k", lw=0.7)
    ax.set_xlabel("training-star density at the star's features (peak = 1)")
    ax.set_ylabel("colour residual / sigma")
    ax.set_ylim(-4, 4)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def inferred_vs_true(df: pd.DataFrame, path: Path, r_max: float = 18.0) -> Path:
    """Density plots of photometric against true Teff, log g, [Fe/H], E(B-V) for mock stars with r < r_max."""
    plt = _plt()
    r = df["r_obs" if "r_obs" in df.columns else "r"].to_numpy(np.float64)
    sel = (r < r_max) & np.isfinite(df["true_teff"].to_numpy(np.float64))
    pairs = (("teff", "true_teff", "Teff [K]"), ("logg", "true_logg", "log g"), ("feh", "true_feh", "[Fe/H]"),
             ("ebv", "true_ebv", "E(B-V)"))
    fig, axes = plt.subplots(1, 4, figsize=(16, 4))
    for ax, (p, t, label) in zip(axes, pairs, strict=True):
        x = df.loc[sel, t].to_numpy(np.float64)
        y = df.loc[sel, f"stellar_{p}"].to_numpy(np.float64)
        ok = np.isfinite(x) & np.isfinite(y)
        lims = np.percentile(np.concatenate([x[ok], y[ok]]), [0.5, 99.5])
        ax.hexbin(x[ok], y[ok], gridsize=70, extent=(*lims, *lims), bins="log", cmap="Greys", mincnt=1)
        ax.plot(lims, lims, "r-", lw=0.8)
        ax.set_xlabel(f"true {label}")
        ax.set_ylabel(f"inferred {label}")
    fig.suptitle(f"Photometric parameters of {int(sel.sum()):,} mock stars with r < {r_max:g}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
