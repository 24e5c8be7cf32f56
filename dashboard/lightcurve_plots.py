"""Pure plotting functions for light curves: epochs against time, the folded curve with the VAE's
reconstruction, and the dm-dt image. Data in, HoloViews elements out (tests inspect them unrendered).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import holoviews as hv
import numpy as np
import pandas as pd

from core import DM_EDGES, DT_EDGES
from dashboard.plots import ColourBy

# One colour per band, blue to red with wavelength (grizy; other band sets take them in order).
BAND_COLOURS = ("#1f77b4", "#2ca02c", "#d62728", "#8c564b", "#000000", "#9467bd", "#ff7f0e", "#7f7f7f")
PLOT_HEIGHT = 230


def colour_options(present: Iterable[str]) -> dict[str, ColourBy]:
    """Colour-by choices for variability: period and amplitude (from the epochs), the multi-modal anomaly score
    and flag, and the mock's truth (variability class and period)."""
    present = set(present)
    opts: dict[str, ColourBy] = {}
    if "lc_period" in present:
        opts["period (light curve, d)"] = ColourBy("period (d)", "lc_period", cmap="plasma", log=True)
    if "lc_amplitude" in present:
        opts["amplitude (light curve, mag)"] = ColourBy("amplitude (mag)", "lc_amplitude", cmap="viridis")
    if "mm_score" in present:
        opts["multi-modal anomaly score"] = ColourBy("multi-modal score", "mm_score", "max", cmap="inferno")
    if "mm_anomaly" in present:
        opts["multi-modal anomaly flag"] = ColourBy("multi-modal anomaly", "mm_anomaly", "category")
    if "true_var_class" in present:
        opts["variability class (mock truth)"] = ColourBy("variability class", "true_var_class", "category")
    if "true_period" in present:
        opts["period (mock truth, d)"] = ColourBy("true period (d)", "true_period", cmap="plasma", log=True)
    return opts


def band_colours(bands: Sequence[str]) -> dict[str, str]:
    return {b: BAND_COLOURS[k % len(BAND_COLOURS)] for k, b in enumerate(bands)}


def _band_points(rows: pd.DataFrame, x: str, bands: Sequence[str], xlabel: str) -> list:
    """Error bars and points of each band (a band without epochs still gets its empty layers, so the
    legend and the number of layers never change)."""
    colours = band_colours(bands)
    kx, ky = hv.Dimension(x, label=xlabel), hv.Dimension("mag", label="mag")
    layers = []
    band = rows["band"].astype(str).to_numpy() if len(rows) else np.zeros(0, dtype=str)
    for b in bands:
        sel = rows[band == b] if len(rows) else rows
        data = pd.DataFrame({x: sel[x].to_numpy(float) if len(sel) else np.zeros(0),
                             "mag": sel["mag"].to_numpy(float) if len(sel) else np.zeros(0),
                             "mag_err": sel["mag_err"].to_numpy(float) if len(sel) else np.zeros(0)})  # fmt: skip
        layers.append(hv.ErrorBars(data, kx, [ky, "mag_err"]).opts(color=colours[b], alpha=0.5))
        layers.append(hv.Scatter(data, kx, [ky], label=b).opts(color=colours[b], size=5))
    return layers


def epochs_plot(epochs: pd.DataFrame, bands: Sequence[str], title: str) -> hv.Overlay:
    """A star's detections per band against time (MJD), magnitudes increasing downwards."""
    return hv.Overlay(_band_points(epochs, "mjd", bands, "MJD (d)")).opts(
        hv.opts.Scatter(invert_yaxis=True, responsive=True, height=PLOT_HEIGHT, tools=["hover"]),
        hv.opts.Overlay(title=title, legend_position="right", show_legend=True),
    )


def folded_plot(
    folded: pd.DataFrame | None,
    reconstruction: pd.DataFrame | None,
    bands: Sequence[str],
    title: str,
) -> hv.Overlay:
    """The epochs folded at the best period (``phase`` column) and, where the model has one, the VAE's
    reconstruction of the folded curve per band (lines on the model's phase grid). Without a period
    (the star does not vary detectably) the overlay is empty and the title says so."""
    colours = band_colours(bands)
    rows = folded if folded is not None else pd.DataFrame(columns=["band", "phase", "mag", "mag_err"])
    layers = _band_points(rows, "phase", bands, "phase")
    kx, ky = hv.Dimension("phase", label="phase"), hv.Dimension("mag", label="mag")
    for b in bands:
        rec = np.zeros((0, 2))
        if reconstruction is not None:
            one = reconstruction[reconstruction["band"].astype(str).to_numpy() == b]
            rec = one[["phase", "mag_rec"]].to_numpy(float)
            rec = rec[np.isfinite(rec).all(axis=1)]
        layers.append(hv.Curve(rec, kx, ky).opts(color=colours[b], line_width=2, line_dash="dashed"))
    return hv.Overlay(layers).opts(
        hv.opts.Scatter(invert_yaxis=True, responsive=True, height=PLOT_HEIGHT, tools=["hover"]),
        hv.opts.Overlay(title=title, show_legend=False),
    )


def dmdt_edges() -> tuple[np.ndarray, np.ndarray]:
    """log10 dt (days) and |dm| bin edges for drawing (the open last |dm| bin drawn as wide as the others)."""
    dm = np.asarray(DM_EDGES, float).copy()
    if not np.isfinite(dm[-1]):
        dm[-1] = dm[-2] + (dm[-2] - dm[-3])
    return np.log10(np.asarray(DT_EDGES, float)), dm


def dmdt_plot(prob: np.ndarray, band_mask: np.ndarray, title: str) -> hv.QuadMesh:
    """p(|dm| | dt) of one star averaged over its usable bands: ``prob`` (bands, dm bins, dt bins) and
    ``band_mask`` (bands,), as :func:`core.dmdt_image` gives them for one star."""
    prob, band_mask = np.asarray(prob, float), np.asarray(band_mask, bool)
    image = prob[band_mask].mean(axis=0) if band_mask.any() else np.full(prob.shape[1:], np.nan)
    x, y = dmdt_edges()
    return hv.QuadMesh((x, y, image), [hv.Dimension("log_dt", label="log10 dt (d)"),
                                       hv.Dimension("dm", label="|dm| (standardised)")],
                       hv.Dimension("p", label="p(|dm| | dt)")).opts(  # fmt: skip
        cmap="viridis", colorbar=True, responsive=True, height=PLOT_HEIGHT, title=title, tools=["hover"],
    )


def star_row(star: dict, bands: Sequence[str]) -> list:
    """The three plots of one star (see :func:`dashboard.lightcurves.star_curves` for ``star``)."""
    name = star["label"]
    period = star.get("period")
    if period is not None and np.isfinite(period):
        fold_title = f"folded at 2 x {period:.5g} d" + (" with the VAE's reconstruction" if star.get("reconstruction")
                                                       is not None else "")  # fmt: skip
    else:
        fold_title = "no period (does not vary detectably)"
    return [
        epochs_plot(star["epochs"], bands, f"{name}: {len(star['epochs'])} epochs"),
        folded_plot(star.get("folded"), star.get("reconstruction"), bands, fold_title),
        dmdt_plot(star["dmdt_prob"], star["dmdt_band_mask"], "dm-dt"),
    ]


def lightcurve_grid(stars: Sequence[dict], bands: Sequence[str]) -> hv.Layout:
    """One row per star: epochs against time, the folded curve, the dm-dt image."""
    plots = [p for star in stars for p in star_row(star, bands)]
    return hv.Layout(plots).cols(3).opts(hv.opts.Layout(shared_axes=False, merge_tools=False))
