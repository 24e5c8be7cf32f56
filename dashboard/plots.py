"""Pure plotting functions: data in, HoloViews elements out; no state, no widgets, no callbacks.

Every function here can be called in a test and its result inspected (kdims, vdims, data, options)
without rendering. The views module wires them to the session's state.
"""

from __future__ import annotations

from dataclasses import dataclass

import datashader as ds
import holoviews as hv
import numpy as np
import pandas as pd
from holoviews.operation.datashader import datashade, dynspread, rasterize

from core import BandSet

SELECTION_COLOUR = "#ff3d00"
PROBE_COLOUR = "#7b1fa2"
STELLAR_COLOUR = "#1565c0"  # the stellar model's best-fit SED
CATEGORY_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a",
)  # fmt: skip


@dataclass(frozen=True)
class ViewSpec:
    """One 2-D view of the catalog: its axis columns (observed and reconstructed) and labels."""

    key: str
    title: str
    x: str
    y: str
    xlabel: str
    ylabel: str
    invert_y: bool = False
    x_rec: str | None = None
    y_rec: str | None = None
    subset: str | None = None  # a frame column that must be finite for a star to appear (Gaia H-R)

    def columns(self, show: str = "observed") -> tuple[str, str]:
        if show == "reconstructed" and self.x_rec and self.y_rec:
            return self.x_rec, self.y_rec
        return self.x, self.y


@dataclass(frozen=True)
class ColourBy:
    """What the latent plot is coloured by: a column and how pixels aggregate it."""

    label: str
    column: str | None  # None: star density
    how: str = "mean"  # "count", "mean", "max" or "category"
    cmap: str = "viridis"
    symmetric: bool = False
    log: bool = False  # a logarithmic colour scale (periods)


def view_specs(bands: BandSet, has_gaia: bool) -> list[ViewSpec]:
    """The latent space and the linked views: CMD, two colour-colour diagrams and (with Gaia) the H-R diagram."""
    b = bands.names
    c = lambda i, j: f"{b[i]}_{b[j]}"  # noqa: E731
    lab = lambda i, j: f"{b[i]} - {b[j]}"  # noqa: E731
    specs = [ViewSpec("latent", "Latent space", "latent_x", "latent_y", "latent x", "latent y")]
    if len(b) >= 3:
        specs.append(
            ViewSpec("cmd", "Colour-magnitude", c(0, 2), b[0], lab(0, 2), b[0], True, c(0, 2) + "_rec", b[0] + "_rec")
        )
        specs.append(
            ViewSpec("cc1", "Colour-colour", c(0, 1), c(1, 2), lab(0, 1), lab(1, 2), False,
                     c(0, 1) + "_rec", c(1, 2) + "_rec")
        )  # fmt: skip
    if len(b) >= 4:
        specs.append(
            ViewSpec("cc2", "Colour-colour", c(1, 2), c(2, 3), lab(1, 2), lab(2, 3), False,
                     c(1, 2) + "_rec", c(2, 3) + "_rec")
        )  # fmt: skip
    if has_gaia and len(b) >= 3:
        specs.append(
            ViewSpec("hr", "Gaia H-R diagram", c(0, 2), "abs_g", lab(0, 2), f"M_{b[0]} (Gaia parallax)", True,
                     c(0, 2) + "_rec", "abs_g_rec", subset="abs_g")
        )  # fmt: skip
    return specs


# Colour-by choices for the stellar model's parameters (``sedscape stellar-model infer``), when a catalog has them.
# Hot stars blue and cool ones red; distance and chi^2 span decades, so they colour on a log scale; a pixel
# shows its worst-fit star's chi^2, as "max |residual|" shows its worst reconstruction.
STELLAR_COLOURS: dict[str, ColourBy] = {
    "Teff (stellar model)": ColourBy("Teff (K)", "stellar_teff", cmap="RdYlBu"),
    "log g (stellar model)": ColourBy("log g (dex, cgs)", "stellar_logg", cmap="viridis"),
    "[Fe/H] (stellar model)": ColourBy("[Fe/H] (dex)", "stellar_feh", cmap="plasma"),
    "E(B-V) (stellar model)": ColourBy("E(B-V) (mag)", "stellar_ebv", cmap="YlOrBr"),
    "distance (stellar model)": ColourBy("distance (pc)", "stellar_dist_pc", cmap="viridis", log=True),
    "stellar_chi2 (stellar model)": ColourBy("stellar_chi2", "stellar_chi2", "max", cmap="inferno", log=True),
}


def colour_options(df: pd.DataFrame, bands: BandSet, extra=()) -> dict[str, ColourBy]:
    """The colour-by choices this catalog supports, default ``first - third`` band colour first.

    ``extra`` names derived plotting columns (e.g. ``abs_g`` computed from parallaxes) that count as present.
    """
    present = set(df.columns) | set(extra)
    b = bands.names
    opts: dict[str, ColourBy] = {}
    if len(b) >= 3:
        opts[f"colour {b[0]} - {b[2]}"] = ColourBy(f"{b[0]} - {b[2]}", f"{b[0]}_{b[2]}", cmap="RdYlBu_r")
    opts["density"] = ColourBy("stars per pixel", None, "count", cmap="fire")
    for i in range(len(b) - 1):
        key = f"colour {b[i]} - {b[i + 1]}"
        opts.setdefault(key, ColourBy(f"{b[i]} - {b[i + 1]}", f"{b[i]}_{b[i + 1]}", cmap="RdYlBu_r"))
    for band in b:
        opts[f"magnitude {band}"] = ColourBy(band, band, cmap="viridis_r")
    opts["max |residual|"] = ColourBy("max |obs - rec| (mag)", "max_abs_res", "max", cmap="inferno")
    for band in b:
        opts[f"residual {band}"] = ColourBy(f"{band} obs - rec (mag)", f"{band}_res", cmap="RdBu_r", symmetric=True)
    opts["anomaly flag"] = ColourBy("anomaly", "anomaly", "category")
    if "simbad_category" in present:
        opts["SIMBAD category"] = ColourBy("SIMBAD category", "simbad_category", "category")
    elif "simbad_otype" in present:
        opts["SIMBAD otype"] = ColourBy("SIMBAD otype", "simbad_otype", "category")
    if "true_class" in df:
        opts["true class (mock)"] = ColourBy("true class", "true_class", "category")
    if "abs_g" in present:
        opts[f"Gaia M_{b[0]}"] = ColourBy(f"M_{b[0]}", "abs_g", cmap="viridis_r")
    if "dist_kpc" in present:
        opts["distance (kpc)"] = ColourBy("distance (kpc)", "dist_kpc", cmap="viridis")
    opts.update({key: c for key, c in STELLAR_COLOURS.items() if c.column in present})
    return opts


def points(
    frame: pd.DataFrame,
    spec: ViewSpec,
    show: str = "observed",
    values=None,
    label: str | None = None,
    ranges: tuple[tuple[float, float] | None, tuple[float, float] | None] = (None, None),
) -> hv.Points:
    """The stars of ``frame`` as points on ``spec``'s axes, with the colour-by ``values`` as vdim ``c``.

    Axis dimensions are named by the view's columns and labelled for people; rows outside the
    view's subset (e.g. stars without Gaia parallaxes on the H-R diagram) are left out. Known axis
    ``ranges`` spare HoloViews a scan of millions of rows each time the element is drawn.
    """
    x, y = spec.columns(show)
    data = pd.DataFrame({x: frame[x].to_numpy(), y: frame[y].to_numpy()}, copy=False)
    vdims = []
    if values is not None:
        data["c"] = values
        vdims = [hv.Dimension("c", label=label or "value")]
    if spec.subset is not None:
        data = data[np.isfinite(frame[spec.subset].to_numpy())]
    return hv.Points(
        data,
        kdims=[
            hv.Dimension(x, label=spec.xlabel, range=ranges[0] or (None, None)),
            hv.Dimension(y, label=spec.ylabel, range=ranges[1] or (None, None)),
        ],
        vdims=vdims,
    )


def category_key(categories) -> dict[str, str]:
    """A fixed colour per category name, stable across sessions and selections."""
    return {str(c): CATEGORY_PALETTE[i % len(CATEGORY_PALETTE)] for i, c in enumerate(categories)}


def reduction(colour: ColourBy):
    """The datashader reduction that aggregates ``colour`` per pixel."""
    if colour.how == "count" or colour.column is None:
        return ds.count()
    if colour.how == "category":
        return ds.count_cat("c")
    if colour.how == "max":
        return ds.max("c")
    return ds.mean("c")


def shade(pts, colour: ColourBy, spec: ViewSpec, *, dynamic: bool = True, categories=None, clim=None,
          tools: tuple[str, ...] = ("lasso_select", "box_select"), streams=None):
    """Aggregate ``pts`` per pixel: an ``Image`` with colour bar for numbers, an ``RGB`` for categories.

    ``tools`` are the Bokeh tools of the plot (selection streams read their geometry from them).
    ``streams`` (a ``RangeXY`` and a ``PlotSize``) may be shared with the plot's other layers, so a
    pan or zoom redraws the plot once rather than once per layer. The initial view is the range of
    ``pts``' dimensions (see :func:`points`).
    """
    # lod timeout: Bokeh tells the server the new range (to re-aggregate) only this long after a pan or
    # zoom ends (500 ms by default); images have no level of detail to wait for.
    common = dict(responsive=True, min_height=300, invert_yaxis=spec.invert_y, tools=list(tools),
                  xlabel=spec.xlabel, ylabel=spec.ylabel, lod={"timeout": 50})  # fmt: skip
    shared = {"streams": list(streams)} if streams else {}
    if colour.how == "category":
        key = category_key(categories if categories is not None else [])
        out = dynspread(
            datashade(pts, aggregator=reduction(colour), color_key=key, dynamic=dynamic, min_alpha=60, **shared),
            threshold=0.6,
            max_px=2,
        )
        return out.opts(**common)
    out = rasterize(pts, aggregator=reduction(colour), dynamic=dynamic, **shared)
    # datashader aggregates in float64; float32 halves what every pan and zoom sends to the browser.
    out = out.apply(as_float32) if dynamic else as_float32(out)
    opts = dict(common, cmap=colour.cmap, colorbar=True, clabel=colour.label, tools=list(tools))
    if colour.how == "count" or colour.column is None or colour.log:
        opts["cnorm"] = "log"
    if clim is not None:
        opts["clim"] = clim
    return out.opts(**opts)


def as_float32(image: hv.Image) -> hv.Image:
    """``image`` with float32 values (exact for counts below 2**24, ample for colours and magnitudes)."""
    values = image.data
    if hasattr(values, "data_vars"):  # xarray Dataset: what rasterize returns
        return image.clone(values.astype(np.float32))
    return image.clone(np.asarray(values, dtype=np.float32))


def symmetric_clim(values: np.ndarray, quantile: float = 0.995) -> tuple[float, float]:
    """A colour range centred on zero covering ``quantile`` of ``|values|`` (for signed residuals)."""
    finite = np.abs(values[np.isfinite(values)])
    lim = float(np.quantile(finite, quantile)) if finite.size else 1.0
    lim = lim if lim > 0 else 1.0
    return -lim, lim


# A selection dims the unselected catalog with this translucent white and paints its own stars opaque.
VEIL_COLOUR = "#ffffff99"
SELECTION_GROUP = "SedscapeSelection"
_STYLES: dict[str, bool] = {}


def _register_styles() -> None:
    # Set once in the options tree: ``.opts()`` on every redrawn frame would rebuild option trees per lasso.
    backend = hv.Store.current_backend
    if _STYLES.get(backend):
        return
    _STYLES[backend] = True
    hv.opts.defaults(
        hv.opts.Image(SELECTION_GROUP, cmap=[VEIL_COLOUR, SELECTION_COLOUR], clim=(0, 1), colorbar=False,
                      clipping_colors={"min": "transparent"}, alpha=1.0, tools=[]),  # fmt: skip
    )


def selection_image(
    x: np.ndarray,
    y: np.ndarray,
    kdims: tuple[str, str],
    *,
    active: bool,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    width: int = 400,
    height: int = 300,
) -> hv.Image:
    """A view's whole selection layer in one image: 1 where selected stars fall (grown by a pixel or two
    when the selection is sparse, so single stars stay visible), 0 elsewhere, which the style draws as a
    translucent white veil over the catalog; -1 everywhere (below the colour range: transparent) when
    nothing is selected.

    One aggregation of the selected stars per view and redraw, so a selection never re-aggregates
    the catalog underneath.
    """
    _register_styles()
    (x0, x1), (y0, y1) = sorted(map(float, x_range)), sorted(map(float, y_range))
    w, h = max(int(width), 1), max(int(height), 1)
    xs = np.linspace(x0, x1, w, endpoint=False) + (x1 - x0) / (2 * w)
    ys = np.linspace(y0, y1, h, endpoint=False) + (y1 - y0) / (2 * h)
    if not active:
        values = np.full((h, w), -1, dtype=np.int8)  # one byte a pixel: a quarter of float32 to send
    else:
        canvas = ds.Canvas(plot_width=w, plot_height=h, x_range=(x0, x1), y_range=(y0, y1))
        points = pd.DataFrame({"x": np.asarray(x, dtype=np.float32), "y": np.asarray(y, dtype=np.float32)})
        lit = canvas.points(points, "x", "y", ds.count()).to_numpy() > 0
        lit = _grow(lit, _spread(lit))
        values = lit.astype(np.int8)
    return hv.Image((xs, ys, values), kdims=list(kdims), vdims=["selected"], group=SELECTION_GROUP)


def _spread(lit: np.ndarray) -> int:
    """Pixels to grow a selection by: none when it already covers much of the view, more the sparser it is."""
    fraction = lit.mean() if lit.size else 0.0
    return 0 if fraction > 0.05 else 1 if fraction > 0.002 else 2


def _grow(mask: np.ndarray, px: int) -> np.ndarray:
    """``mask`` dilated by ``px`` pixels in every direction (a square footprint)."""
    out = mask.copy()
    h, w = mask.shape
    for dy in range(-px, px + 1):
        for dx in range(-px, px + 1):
            if dx or dy:
                out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] |= (
                    mask[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
                )  # fmt: skip
    return out


def legend(key: dict[str, str]) -> hv.NdOverlay:
    """Empty points that give a datashaded categorical image its legend."""
    items = {name: hv.Points([(np.nan, np.nan)], label=name).opts(color=c, size=8) for name, c in key.items()}
    return hv.NdOverlay(items).opts(show_legend=True, legend_position="right")


def inspect_layer(rows: pd.DataFrame, spec: ViewSpec, show: str, hover_cols: list[str]) -> hv.Points:
    """Invisible points carrying per-star hover tooltips (obj_id, photometry, residuals, labels)."""
    x, y = spec.columns(show)
    cols = [c for c in hover_cols if c in rows and c not in (x, y)]
    return hv.Points(rows, kdims=[x, y], vdims=cols).opts(
        alpha=0, hover_alpha=1, hover_color="white", hover_line_color="black", size=7,
        tools=["hover"], nonselection_alpha=0, selection_alpha=0,
    )  # fmt: skip


def _star_paths(rows: pd.DataFrame, wl: np.ndarray, columns: list[str], offset: np.ndarray, ydim: str) -> list[dict]:
    """One path per star (wavelength against ``columns`` minus ``offset``), carrying its obj_id for hover."""
    values = rows[columns].to_numpy(dtype=float) - offset[:, None]
    return [{"wavelength": wl, ydim: v, "star": str(i)} for i, v in zip(rows["obj_id"], values, strict=True)]


def sed_overlay(
    rows: pd.DataFrame, bands: BandSet, *, normalise: bool = True, stellar: np.ndarray | None = None
) -> hv.Overlay:
    """Observed (with error bars, black) and reconstructed (red, dashed) SEDs of ``rows`` against wavelength,
    and with ``stellar`` (magnitudes, one row per star in ``bands`` order: ``core.stellar_sed``) the stellar
    model's best-fit SEDs (blue, dotted).

    Normalised to the first band as in the paper's Figures 1 and 16: each curve is ``m - m_g``, so
    brighter-than-g bands lie above zero on the inverted axis (each best-fit SED is normalised to its own
    first band, so a curve compares shapes whether or not the star has a distance). Whatever the number of
    stars (none included) the overlay has the same layers, so a live plot updates them rather than being rebuilt.
    """
    wl = np.asarray(bands.wavelengths_nm, dtype=float)
    names = bands.names
    ref = rows[names[0]].to_numpy(dtype=float) if normalise else np.zeros(len(rows))
    obs = _star_paths(rows, wl, list(names), ref, "m")
    rec = _star_paths(rows, wl, [f"{b}_rec" for b in names], ref, "m")
    err_cols = [f"{b}_err" for b in names]
    errs = rows[err_cols].to_numpy(dtype=float) if set(err_cols) <= set(rows.columns) else np.zeros((len(rows), len(wl)))
    bars = (np.tile(wl, len(rows)), np.concatenate([p["m"] for p in obs]) if obs else np.zeros(0), errs.ravel())
    ylabel = f"m - m_{names[0]} (mag)" if normalise else "m (mag)"
    kdims, vdims = [hv.Dimension("wavelength", label="wavelength (nm)"), hv.Dimension("m", label=ylabel)], ["star"]
    layers = [
        hv.ErrorBars(bars, kdims[0], [kdims[1], "err"]).opts(color="black"),
        hv.Path(obs, kdims, vdims, label="observed").opts(color="black", line_width=2),
        hv.Path(rec, kdims, vdims, label="reconstructed").opts(color="red", line_dash="dashed", line_width=2),
    ]
    if stellar is not None:
        fit = np.asarray(stellar, dtype=float).reshape(len(rows), len(names))
        cols = [f"_stellar_{b}" for b in names]
        fit_rows = pd.DataFrame(fit, columns=cols, index=rows.index).assign(obj_id=rows["obj_id"].to_numpy())
        shift = fit[:, 0] if normalise else np.zeros(len(rows))
        paths = _star_paths(fit_rows, wl, cols, shift, "m")
        layers.append(hv.Path(paths, kdims, vdims, label="stellar model").opts(
            color=STELLAR_COLOUR, line_dash="dotted", line_width=3))  # fmt: skip
    return hv.Overlay(layers).opts(
        hv.opts.Path(invert_yaxis=True, responsive=True, height=270, show_legend=True, tools=["hover"]),
        hv.opts.Overlay(legend_position="top_right"),
    )  # fmt: skip


def residual_overlay(rows: pd.DataFrame, bands: BandSet, threshold: float) -> hv.Overlay:
    """Observed minus reconstructed magnitude per band for ``rows``, with the anomaly threshold band
    (two layers whatever the number of stars)."""
    wl = np.asarray(bands.wavelengths_nm, dtype=float)
    res = _star_paths(rows, wl, [f"{b}_res" for b in bands.names], np.zeros(len(rows)), "residual")
    span = hv.HSpan(-threshold, threshold).opts(color="grey", alpha=0.2)
    kdims = [hv.Dimension("wavelength", label="wavelength (nm)"), hv.Dimension("residual", label="obs - rec (mag)")]
    return hv.Overlay([hv.Path(res, kdims, ["star"]), span]).opts(
        hv.opts.Path(responsive=True, height=190, tools=["hover"], line_width=2),
    )


def probe_sed(mags: np.ndarray, bands: BandSet, xy: tuple[float, float]) -> hv.Curve:
    """The SED the decoder produces at latent point ``xy``, normalised to the first band."""
    mags = np.asarray(mags, dtype=float).ravel()
    wl = np.asarray(bands.wavelengths_nm, dtype=float)
    label = f"decoder at ({xy[0]:.3g}, {xy[1]:.3g})"
    return hv.Curve((wl, mags - mags[0]), "wavelength", "m", label=label).opts(
        color=PROBE_COLOUR, line_width=3, invert_yaxis=True, xlabel="wavelength (nm)",
        ylabel=f"m - m_{bands.names[0]} (mag)", responsive=True, min_height=220, tools=["hover"],
        title=label,
    )  # fmt: skip


def probe_marker(xy: tuple[float, float] | None) -> hv.Points:
    """A cross at the probed latent point (empty when nothing has been probed)."""
    data = [xy] if xy is not None else []
    return hv.Points(data, ["latent_x", "latent_y"]).opts(
        marker="x", size=16, color=PROBE_COLOUR, line_width=3
    )


def category_bars(table: pd.DataFrame) -> hv.Bars:
    """Fraction of each SIMBAD category in the selection and in the whole catalog, side by side."""
    long = table.melt(id_vars="category", value_vars=["selection", "catalog"], var_name="set", value_name="fraction")
    return hv.Bars(long, ["category", "set"], "fraction").opts(
        responsive=True, min_height=220, xrotation=45, tools=["hover"], ylabel="fraction of stars"
    )


def warm_up() -> None:
    """Run every aggregation the views use on a tiny float32 catalog so numba compiles them once per
    process (at server start) rather than while the first visitor waits."""
    rng = np.random.default_rng(0)
    tiny = pd.DataFrame({"latent_x": rng.random(64, dtype=np.float32), "latent_y": rng.random(64, dtype=np.float32)})
    spec = ViewSpec("latent", "", "latent_x", "latent_y", "x", "y")
    numbers = rng.random(64, dtype=np.float32)
    cats = pd.Categorical.from_codes(rng.integers(0, 2, 64), categories=["a", "b"])
    for colour, values in (
        (ColourBy("n", None, "count"), None),
        (ColourBy("m", "c", "mean"), numbers),
        (ColourBy("x", "c", "max"), numbers),
        (ColourBy("k", "c", "category"), cats),
    ):
        pts = points(tiny, spec, values=values)
        shade(pts, colour, spec, dynamic=False, categories=["a", "b"])
        op = datashade if colour.how == "category" else rasterize
        op(pts, aggregator=reduction(colour), dynamic=False, x_range=(0.1, 0.9), y_range=(0.1, 0.9), width=50, height=40)
    selection_image(tiny["latent_x"], tiny["latent_y"], ("latent_x", "latent_y"), active=True,
                    x_range=(0.1, 0.9), y_range=(0.1, 0.9), width=50, height=40)
    rasterize(points(tiny, spec), dynamic=False, x_range=(0.1, 0.9), y_range=(0.1, 0.9), width=50, height=40)
