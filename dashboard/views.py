"""Panel viewers: each takes the session's :class:`AppState`, lays out widgets made from its params,
and turns plot functions into live plots. Views never talk to each other, only to the state.
"""

from __future__ import annotations

import base64
import logging

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.document import Document
from panel.viewable import Viewer

from core import PRESET_FIELDS
from dashboard import lightcurves, models_view, plots
from dashboard.export_view import ExportPanel
from dashboard.findmore import FindMorePanel
from dashboard.labelling import LabelPanel
from dashboard.review import ReviewPanel
from dashboard.sky import NO_CATEGORY, SkyData, first_page_columns
from dashboard.state import AppState

log = logging.getLogger(__name__)

INSPECT_MAX = 2500
HOVER_CHUNK = 65_536  # stars tested at a time when looking for the hover layer's stars in view
N_SED = 5
N_CUTOUTS = 4
TABLE_MAX = 10_000  # rows sent to the browser table; an export always has the whole selection
PAGE_ROWS = 12
DENSITY = plots.ColourBy("stars per pixel", None, "count", cmap="Blues")
PRESET_NONE = "choose a preset..."
PRESET_ANOMALIES = "anomalies above the threshold"
PRESET_POORLY_FIT = "poorly fit by any star"


def hover_columns(sky: SkyData) -> list[str]:
    """The catalog columns a view's tooltips show."""
    return [c for c in ("obj_id", *sky.bands.names, "max_abs_res", "res_band", "simbad_otype", "simbad_category",
                        "true_class", "stellar_teff", "stellar_logg", "stellar_chi2") if c in sky.df]  # fmt: skip


class ScatterView(Viewer):
    """One datashaded view (latent space or a linked diagram) with lasso/box selection and highlight."""

    state = param.ClassSelector(class_=AppState)
    view = param.String(doc="key of the view spec in the state")

    def __init__(self, **params) -> None:
        super().__init__(**params)
        sky = self.state.sky
        self._hover_cols = hover_columns(sky)
        self._pane = pn.pane.HoloViews(self._plot(), sizing_mode="stretch_both", min_height=320, linked_axes=False)
        # A model switch changes every view's data (latent, reconstructions, hover residuals).
        deps = ["colour_by" if self.is_latent else "show", "model"]
        self.state.param.watch(lambda *_: setattr(self._pane, "object", self._plot()), deps)

    @property
    def is_latent(self) -> bool:
        """A latent space (coloured by the colour-by choice), not a linked diagram (coloured by density)."""
        return self.view == "latent"

    @property
    def spec(self) -> plots.ViewSpec:
        return self.state.specs[self.view]

    def _frame(self) -> pd.DataFrame:
        """The float32 coordinates this view plots (the shown model's plotting frame)."""
        return self.state.sky.frame

    def _limits(self, column: str):
        return self.state.sky.limits(column, self.spec.subset)

    def _colour(self) -> plots.ColourBy:
        return self.state.colour if self.is_latent else DENSITY

    def _show(self) -> str:
        return "observed" if self.is_latent else self.state.show

    def _base(self, **_):
        colour = self._colour()
        values, _, _ = self.state.colour_values() if colour is not DENSITY else (None, None, None)
        return plots.points(self._frame(), self.spec, self._show(), values, colour.label, self._ranges())

    def _ranges(self):
        x, y = self.spec.columns(self._show())
        return self._limits(x), self._limits(y)

    def _selection(self, x_range=None, y_range=None, width=None, height=None, **_):
        """The selection layer for the current viewport (see :func:`plots.selection_image`)."""
        sel = self.state.selection
        x, y = self.spec.columns(self._show())
        frame = self._frame()
        xs = frame[x].to_numpy()[sel] if sel is not None else None
        ys = frame[y].to_numpy()[sel] if sel is not None else None
        full_x, full_y = self._ranges()
        return plots.selection_image(
            xs, ys, (x, y), active=sel is not None,
            x_range=_finite_range(x_range) or full_x or (0.0, 1.0), y_range=_finite_range(y_range) or full_y or (0.0, 1.0),
            width=width or 400, height=height or 300,
        )  # fmt: skip

    def _inspect(self, x_range=None, y_range=None, **_):
        sky, (x, y) = self.state.sky, self.spec.columns(self._show())
        frame = self._frame()
        xs, ys = frame[x].to_numpy(), frame[y].to_numpy()
        bounds = None
        if x_range is not None and y_range is not None:
            (x0, x1), (y0, y1) = sorted(x_range), sorted(y_range)
            bounds = x0, x1, y0, y1
        # Walk the hover order a chunk at a time until enough stars in view: a pan or zoom should not
        # test every star of the catalog for the few thousand that get tooltips.
        order, found, n_found = sky.hover_order, [np.zeros(0, dtype=np.int64)], 0
        for start in range(0, len(order), HOVER_CHUNK):
            cand = order[start:start + HOVER_CHUNK]
            cx, cy = xs[cand], ys[cand]
            keep = np.isfinite(cx) & np.isfinite(cy)
            if bounds is not None:
                keep &= (cx >= bounds[0]) & (cx <= bounds[1]) & (cy >= bounds[2]) & (cy <= bounds[3])
            found.append(cand[keep])
            n_found += len(found[-1])
            if n_found >= INSPECT_MAX:
                break
        idx = np.concatenate(found)[:INSPECT_MAX]
        rows = sky.hover_rows(idx, self._hover_cols)
        rows[x], rows[y] = xs[idx], ys[idx]
        rows["obj_id"] = rows["obj_id"].astype(str)  # beyond 2**53: text keeps every digit in the browser
        if "res_band" in rows:
            rows["res_band"] = rows["res_band"].astype(str)
        return plots.inspect_layer(rows, self.spec, self._show(), self._hover_cols)

    def _plot(self):
        colour, spec = self._colour(), self.spec
        live = self.state.colour_streams() if self.view == "latent" else []
        streams = [hv.streams.Params(self.state, live)] if live else []
        base_pts = hv.DynamicMap(self._base, streams=streams)
        _, cats, clim = self.state.colour_values() if colour is not DENSITY else (None, None, None)
        tools = ("lasso_select", "box_select", "tap") if self.view == "latent" else ("lasso_select", "box_select")
        # The initial view is the robust range carried by the points' dimensions (see _ranges).
        # One range and one size stream for every layer: a pan or zoom (and the first draw) refreshes the
        # plot once, not once per layer.
        viewport = [hv.streams.RangeXY(), hv.streams.PlotSize()]
        base = plots.shade(base_pts, colour, spec, categories=cats, clim=clim, tools=tools, streams=viewport)
        # The selection (its stars, and a veil that dims the others) is one layer over the catalog, so a
        # selection never re-aggregates the catalog.
        selection = hv.DynamicMap(self._selection, streams=[hv.streams.Params(self.state, ["revision"]), *viewport])
        inspect = hv.DynamicMap(self._inspect, streams=viewport[:1])
        layers = base * selection * inspect
        lasso = hv.streams.Lasso(source=base)
        box = hv.streams.BoundsXY(source=base)
        lasso.add_subscriber(self._on_lasso)
        box.add_subscriber(self._on_box)
        if self.view == "latent":
            tap = hv.streams.SingleTap(source=base)
            tap.add_subscriber(self._on_tap)
            layers = layers * hv.DynamicMap(
                lambda probe=None, **_: plots.probe_marker(self.state.probe),
                streams=[hv.streams.Params(self.state, ["probe"])],
            )
        if cats:
            layers = layers * plots.legend(plots.category_key(cats))
        return layers.opts(
            hv.opts.Overlay(title=spec.title, active_tools=["wheel_zoom"], responsive=True, min_height=300)
        )

    def _on_lasso(self, geometry=None, **_):
        if geometry is not None and len(geometry) >= 3:
            self.state.select_polygon(self.view, np.asarray(geometry))

    def _on_box(self, bounds=None, **_):
        if bounds is not None:
            self.state.select_box(self.view, bounds)

    def _on_tap(self, x=None, y=None, **_):
        if x is not None and y is not None:
            self.state.probe = (float(x), float(y))

    def __panel__(self):
        return self._pane


class Controls(Viewer):
    """Colour-by, threshold with live anomaly count, observed/reconstructed, presets, clear, export and SAMP."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params) -> None:
        super().__init__(**params)
        st = self.state
        options = [PRESET_NONE, PRESET_ANOMALIES] + ([PRESET_POORLY_FIT] if st.sky.has_stellar else [])
        options += [f"SIMBAD: {c}" for c in st.categories()]
        options += [f"field: {n}" for n in PRESET_FIELDS] + ["field: all clusters"]
        self._fixed_presets = options
        self._preset = pn.widgets.Select(label="Select preset", options=[*options, *st.presets()], value=PRESET_NONE)
        self._preset.param.watch(self._apply_preset, "value")
        st.param.watch(lambda _: setattr(self._preset, "options", [*self._fixed_presets, *st.presets()]),
                       "presets_revision")  # fmt: skip
        self._clear = pn.widgets.Button(label="Clear selection")
        self._clear.on_click(lambda _: st.clear_selection())
        self._threshold_count = pn.pane.Markdown(self._count_text(), css_classes=["threshold-count"])
        st.param.watch(lambda _: setattr(self._threshold_count, "object", self._count_text()), ["threshold", "model"])
        self.export = ExportPanel(state=st)

    def _apply_preset(self, event) -> None:
        value = event.new
        if value == PRESET_NONE:
            return
        if value == PRESET_ANOMALIES:
            self.state.select_anomalies()
        elif value == PRESET_POORLY_FIT:
            self.state.select_poorly_fit()
        elif value.startswith("SIMBAD: "):
            self.state.select_category(value.removeprefix("SIMBAD: "))
        elif value.startswith("field: "):
            self.state.select_field(value.removeprefix("field: "))
        elif value in self.state.presets():
            self.state.apply_preset(value)
        self._preset.value = PRESET_NONE

    def _count_text(self) -> str:
        s = self.state.summary()
        return (f"**{s['n_anomalies']:,}** anomalies ({100 * s['anomaly_fraction']:.2f}% of {s['n_total']:,}) "
                f"with max |obs - rec| > {s['threshold']:.3f} mag")  # fmt: skip

    def __panel__(self):
        st = self.state
        return pn.Column(
            *models_view.model_controls(st),
            pn.widgets.Select.from_param(st.param.colour_by, label="Colour latent space by"),
            pn.widgets.FloatSlider.from_param(st.param.threshold, label="Anomaly threshold (mag)", start=0.005,
                                              end=0.5, step=0.005, format="0.000"),  # fmt: skip
            self._threshold_count,
            pn.widgets.RadioButtonGroup.from_param(st.param.show, label="Linked views show"),
            self._preset,
            self._clear,
            self.export,
            sizing_mode="stretch_width",
        )


class SelectionSummary(Viewer):
    """Count, anomaly fraction and SIMBAD categories of the selection; a paginated table of its stars.

    The panes live as long as the session and only their contents change: replacing panes would make
    the browser lay the whole page out again on every selection.
    """

    state = param.ClassSelector(class_=AppState)

    def __init__(self, **params) -> None:
        super().__init__(**params)
        # A fixed height: a summary that grows or shrinks a line would make the browser lay the page out again.
        self.text = pn.pane.Markdown(self._text_value(), css_classes=["selection-summary"], height=170)
        self.categories = pn.pane.Markdown(self._categories_value(), css_classes=["category-table"])
        # A partitioned catalog reads only the rows of the page on screen, so it pages here rather than
        # giving the table all TABLE_MAX rows to page in the browser.
        self._lazy = self.state.sky.lazy_rows
        self._order, self._page = self.state.table_order(TABLE_MAX) if self._lazy else None, 0
        self.table = pn.widgets.Tabulator(
            value=self._table_value(), pagination=None if self._lazy else "remote", page_size=PAGE_ROWS,
            disabled=True, show_index=False, sizing_mode="stretch_width", height=420,
        )  # fmt: skip
        self.table_panel = self.table
        if self._lazy:
            self._pages = pn.pane.Markdown(self._pages_text())
            back, forward = pn.widgets.Button(name="< previous", width=110), pn.widgets.Button(name="next >", width=110)
            back.on_click(lambda _: self._turn(-1))
            forward.on_click(lambda _: self._turn(1))
            self.table_panel = pn.Column(self.table, pn.Row(back, self._pages, forward), sizing_mode="stretch_width")
        self.state.param.watch(self._update, ["revision", "threshold"])
        self.table.param.watch(self._pick, "selection")

    def _update(self, *events) -> None:
        self.text.object = self._text_value()
        if any(e.name == "revision" for e in events):
            self.categories.object = self._categories_value()
            if self._lazy:
                self._order, self._page = self.state.table_order(TABLE_MAX), 0
        self._show_page()

    def _turn(self, step: int) -> None:
        last = max(0, (len(self._order) - 1) // PAGE_ROWS)
        page = min(max(self._page + step, 0), last)
        if page != self._page:
            self._page = page
            self._show_page()

    def _show_page(self) -> None:
        self.table.selection = []
        self.table.value = self._table_value()
        if self._lazy:
            self._pages.object = self._pages_text()

    def _pages_text(self) -> str:
        pages = max(1, -(-len(self._order) // PAGE_ROWS))
        return f"<span class='table-page'>page {self._page + 1:,} of {pages:,}</span>"

    def _pick(self, event) -> None:
        """Rows picked in the table become the state's picked stars (to label, or to find neighbours of)."""
        rows = self.table.value
        self.state.picked = [int(rows["obj_id"].iloc[i]) for i in event.new if 0 <= i < len(rows)]

    def _table_value(self) -> pd.DataFrame:
        if self._lazy:
            start = self._page * PAGE_ROWS
            table = self.state.selected_table(rows_idx=self._order[start : start + PAGE_ROWS])
        else:
            table = self.state.selected_table(TABLE_MAX)
        # PS1 objIDs exceed 2**53: send them as text so the browser shows every digit.
        table["obj_id"] = table["obj_id"].astype(str)
        return table

    def _text_value(self) -> str:
        s = self.state.summary()
        geom = self.state.geometry or {}
        how = geom.get("kind", "none")
        if how == "preset":
            how = f"preset {geom.get('preset')}"
        elif how in ("lasso", "box"):
            how = f"{how} on {geom.get('view')}"
        return (
            f"### Selection: <span class='n-selected'>{s['n_selected']:,}</span> stars ({how})\n"
            f"anomalies in selection: **{s['selected_anomalies']:,}** "
            f"({100 * s['selected_anomaly_fraction']:.2f}%); catalog: {s['n_anomalies']:,} of {s['n_total']:,} "
            f"({100 * s['anomaly_fraction']:.2f}%)"
            + (f"\n\nThe table lists the {TABLE_MAX:,} most anomalous; an export has all {s['n_selected']:,}."
               if s["n_selected"] > TABLE_MAX else "")
        )  # fmt: skip

    def _categories_value(self) -> str:
        table = self.state.category_table()
        table = table[table["category"] != NO_CATEGORY]
        if table.empty:
            return "No SIMBAD categories in this catalog."
        sel_total, cat_total = max(table["selection_count"].sum(), 1), max(table["catalog_count"].sum(), 1)
        lines = ["| SIMBAD category | selection | share | catalog | share |", "|---|---:|---:|---:|---:|"]
        for row in table.head(12).itertuples():
            lines.append(f"| {row.category} | {row.selection_count:,} | {100 * row.selection_count / sel_total:.1f}% "
                         f"| {row.catalog_count:,} | {100 * row.catalog_count / cat_total:.1f}% |")  # fmt: skip
        return "\n".join(lines) + "\n\nShares are of the stars with a SIMBAD category."

    def __panel__(self):
        return pn.Column(self.text, pn.Row(self.categories), self.table_panel, sizing_mode="stretch_width")


class SedPanel(Viewer):
    """SEDs (observed with errors, reconstructed and, with stellar parameters, the stellar model's best fit) of
    the stars picked in the table or else the most anomalous selected stars, and their residuals.

    Two live plots whose layers get new data on every selection (no new figures, no new layout). In a
    served page they follow a selection on the next tick, once the linked views, summary and table
    have gone to the browser: the plots everything else depends on come first.
    """

    state = param.ClassSelector(class_=AppState)
    shown = param.Integer(0, doc="the selection revision the plots show")

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self.shown = self.state.revision
        self.state.param.watch(self._follow, "revision")
        revision = hv.streams.Params(self, ["shown"])
        threshold = hv.streams.Params(self.state, ["threshold"])
        picked = hv.streams.Params(self.state, ["picked"])
        sed = hv.DynamicMap(self._sed, streams=[revision, picked]).opts(
            hv.opts.Path(framewise=True), hv.opts.ErrorBars(framewise=True),
            hv.opts.Overlay(title=f"SEDs of the {N_SED} most anomalous selected stars (or those picked in the "
                                  f"table), normalised to {self.state.sky.bands.names[0]}"),
        )  # fmt: skip
        res = hv.DynamicMap(self._residuals, streams=[revision, threshold, picked]).opts(
            hv.opts.Path(framewise=True), hv.opts.Overlay(title="Residuals (observed - reconstructed)")
        )
        self._stellar = None
        if self.state.sky.has_stellar:
            self._stellar = pn.pane.Markdown(self._stellar_text(), css_classes=["stellar-params"])
            self.param.watch(lambda _: setattr(self._stellar, "object", self._stellar_text()), "shown")
            self.state.param.watch(lambda _: setattr(self._stellar, "object", self._stellar_text()), "picked")
        self._layout = pn.Column(
            pn.pane.Markdown("Select stars (lasso or box on any plot, or a preset) to see their SEDs; hover a "
                             "curve for the star's obj_id."),  # fmt: skip
            pn.pane.HoloViews(sed, sizing_mode="stretch_width"),
            *([self._stellar] if self._stellar is not None else []),
            pn.pane.HoloViews(res, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def _follow(self, event) -> None:
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None:
            self.shown = event.new
        else:
            doc.add_next_tick_callback(lambda: setattr(self, "shown", self.state.revision))

    def _rows(self) -> pd.DataFrame:
        """The stars picked in the table (the first few), else the most anomalous selected stars."""
        sky = self.state.sky
        if self.state.picked:
            return sky.df.iloc[sky.rows_of(np.asarray(self.state.picked, dtype=np.int64))[:N_SED]]
        return self.state.most_anomalous(N_SED)

    def _sed(self, **_):
        rows = self._rows()
        return plots.sed_overlay(rows, self.state.sky.bands, stellar=self.state.stellar_seds(rows))

    def _stellar_text(self) -> str:
        """The stellar model's parameters of the stars whose SEDs are shown (a Markdown table)."""
        rows = self._rows()
        if rows.empty:
            return "Stellar model (dotted blue): select stars to see their best-fit parameters."
        lines = ["| obj_id | Teff (K) | log g | [Fe/H] | E(B-V) | distance (pc) | stellar_chi2 |",
                 "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for r in rows.itertuples():
            lines.append(f"| {r.obj_id} | {r.stellar_teff:,.0f} | {r.stellar_logg:.2f} | {r.stellar_feh:+.2f} | "
                         f"{r.stellar_ebv:.3f} | {r.stellar_dist_pc:,.0f} | {r.stellar_chi2:,.1f} |")  # fmt: skip
        note = "" if self.state.sky.stellar_model_dir is not None else (
            f"\n\nNo best-fit SEDs: {self.state.sky.stellar_problem}."
        )  # fmt: skip
        return "Stellar model (dotted blue: best-fit SED):\n\n" + "\n".join(lines) + note

    def _residuals(self, **_):
        return plots.residual_overlay(self._rows(), self.state.sky.bands, self.state.threshold)

    def __panel__(self):
        return self._layout


class LatentProbe(Viewer):
    """The SED the decoder produces where the user clicked in the latent space."""

    state = param.ClassSelector(class_=AppState)

    @param.depends("state.probe")
    def _plot(self):
        sky = self.state.sky
        # Building the page must not wait for TensorFlow: the decoder is needed only once there is a click.
        if (self.state.probe is not None or sky.model_known_missing()) and sky.model is None:
            return pn.pane.Markdown(f"Latent probe unavailable: {sky.model_problem}", css_classes=["probe-off"])
        if self.state.probe is None:
            return pn.pane.Markdown("Click anywhere in the latent space to see the SED the decoder produces there.")
        mags = self.state.probe_magnitudes()
        curve = plots.probe_sed(mags, sky.bands, self.state.probe)
        table = " | ".join(f"{b} {m:.3f}" for b, m in zip(sky.bands.names, mags, strict=True))
        return pn.Column(pn.pane.HoloViews(curve, height=280, sizing_mode="stretch_width"),
                         pn.pane.Markdown(f"Decoded magnitudes: {table}", css_classes=["probe-sed"]))  # fmt: skip

    def __panel__(self):
        return pn.Column(self._plot, sizing_mode="stretch_width")


class Cutouts(Viewer):
    """PS1 colour images of the most anomalous selected stars beside their SEDs, fetched when shown."""

    state = param.ClassSelector(class_=AppState)

    @param.depends("state.revision")
    def _cards(self):
        rows = self.state.most_anomalous(N_CUTOUTS)
        if rows.empty:
            return pn.pane.Markdown("Select stars to see their PS1 images.")
        try:
            from core import fetch_cutouts

            coords = list(zip(rows["ra"].to_numpy(float), rows["dec"].to_numpy(float), strict=True))
            cutouts = fetch_cutouts(coords, size=240, filters="gri", max_workers=N_CUTOUTS)
        except ImportError:
            cutouts = [None] * len(rows)
        bands = self.state.sky.bands
        cards = []
        for (_, star), cut in zip(rows.iterrows(), cutouts, strict=True):
            cards.append(pn.Row(_image(cut), pn.pane.HoloViews(
                plots.sed_overlay(star.to_frame().T, bands).opts(hv.opts.Path(responsive=False, width=360, height=240))
            )))  # fmt: skip
        return pn.Column(*cards)

    def __panel__(self):
        # lazy: nothing is fetched until the Cutouts tab has been opened.
        return pn.Column(pn.param.ParamMethod(self._cards, lazy=True), sizing_mode="stretch_width")


def _finite_range(r) -> tuple[float, float] | None:
    """A viewport range from a stream, or None before the plot has reported one."""
    if r is None or any(v is None or not np.isfinite(v) for v in r) or r[0] == r[1]:
        return None
    return float(r[0]), float(r[1])


def _image(cut) -> pn.viewable.Viewable:
    """The cutout JPEG; a placeholder (offline, outside PS1) keeps its generated image and says why."""
    if cut is None:
        return pn.pane.Markdown("**No image**: the PS1 cutout client is not installed.", width=240,
                                css_classes=["cutout-placeholder"])  # fmt: skip
    parts = []
    if cut.data:
        src = f"data:image/jpeg;base64,{base64.b64encode(cut.data).decode()}"
        alt = "PS1 cutout placeholder" if cut.placeholder else "PS1 cutout"
        parts.append(pn.pane.HTML(f"<img src='{src}' width='240' height='240' alt='{alt}'>", width=244))
    if cut.placeholder:
        parts.append(pn.pane.Markdown(f"**No image**: {cut.message}", width=240, css_classes=["cutout-placeholder"]))
    return pn.Column(*parts, width=250)


def error_page(problem: Exception) -> pn.viewable.Viewable:
    """A page that says what is wrong with the catalog or model, and what to run."""
    return pn.Column(
        pn.pane.Markdown("# sedscape dashboard: cannot open the catalog"),
        pn.pane.Alert(str(problem), alert_type="danger", css_classes=["sedscape-error"]),
        pn.pane.Markdown(
            "Open another catalog with `panel serve dashboard --args CATALOG.parquet [MODEL_DIR]` or set "
            "`SEDSCAPE_CATALOG` / `SEDSCAPE_MODEL`."
        ),
    )


def header_text(state: AppState) -> str:
    prov = state.sky.provenance()
    model = prov["model_dir"] or "no model"
    return f"{prov['catalog']} ({prov['catalog_rows']:,} stars) | model: {model}"


class Dashboard(Viewer):
    """The whole page for one session: controls, latent space, linked views and the tabs below."""

    state = param.ClassSelector(class_=AppState)
    labels_problem = param.String("", doc="why the label database could not be opened (labels are then off)")

    def __init__(self, **params) -> None:
        super().__init__(**params)
        st = self.state
        self.views = {key: ScatterView(state=st, view=key) for key in st.specs}
        linked = [self.views[k] for k in st.specs if k != "latent"]
        summary = SelectionSummary(state=st)
        controls = Controls(state=st)
        from dashboard.compare_view import CompareView  # a ScatterView subclass: imported once this module is

        self.compare = CompareView(state=st)  # the second latent space, hidden until a map is chosen
        self.lightcurves = lightcurves.LightCurvePanel(state=st)
        # Clicking a star in the table points SAMP sky viewers (Aladin) at it and draws its light curve.
        summary.table.on_click(controls.export.on_table_click(summary.table))
        summary.table.on_click(self.lightcurves.on_table_click(summary.table))
        # Only the tab on screen is rendered, so cutouts are fetched once their tab is opened. The summary
        # and table stay outside the tabs: they change with every selection, and a pane updated while its
        # tab is hidden comes back with stylesheets pointing at Panel's CDN (Panel 1.9).
        pages = [
            ("SEDs", SedPanel(state=st)),
            ("Latent probe", LatentProbe(state=st)),
            ("Cutouts", Cutouts(state=st)),
            ("Light curves", self.lightcurves),
            ("Anomaly review", ReviewPanel(state=st)),
            ("Find more like these", FindMorePanel(state=st)),
        ]
        lazy = st.sky.lazy_rows
        if lazy:  # the discovery loop and light curves read every star's rows: in-memory catalogs only, for now
            pages = pages[:3]
        tabs = pn.Tabs(*pages, dynamic=True)
        if not lazy:  # it reads epochs only while its tab is open
            self.lightcurves.follow_tab(tabs, [name for name, _ in pages].index("Light curves"))
        labels = [] if lazy else [LabelPanel(state=st, problem=self.labels_problem)]
        self._layout = pn.Column(
            pn.pane.Markdown(f"## sedscape: {header_text(st)}", css_classes=["sedscape-header"]),
            pn.Row(
                pn.Column(controls, summary.text, *labels, width=300),
                pn.Column(self.views["latent"], height=720, sizing_mode="stretch_width"),
                self.compare,
                pn.GridBox(*linked, ncols=2, sizing_mode="stretch_width", height=720),
            ),
            pn.Row(
                pn.Column(pn.pane.Markdown("### Selected stars"), summary.table_panel, sizing_mode="stretch_width"),
                pn.Column(pn.pane.Markdown("### SIMBAD categories"), summary.categories, width=460),
            ),
            tabs,
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return self._layout


def warm_up_page(sky: SkyData) -> None:
    """Render a page off-screen so numba compiles the aggregations it uses (per dtype and array layout)
    before the first visitor arrives; a catalog's first rows are enough, since the compiled kernels are
    what is being warmed. (The selection's kernels compile after the first page: ``plots.warm_up``.)"""
    # Bokeh's current document is process-wide while a session's script runs: without a document of its
    # own, this page would be built into (and would hold) the document of a visitor arriving meanwhile.
    pn.state.curdoc = Document()
    Dashboard(state=AppState(sky)).__panel__().get_root(pn.state.curdoc)


def warm_limits(sky: SkyData) -> None:
    """Compute the full catalog's axis ranges of every view and the default colour range, which each
    session starts from."""
    # A partitioned catalog reads the columns of the first page in one pass over its partitions, and the
    # reconstructed ones only if someone asks for them.
    sky.load_columns(first_page_columns(sky))
    shows = ("observed",) if sky.lazy_rows else ("observed", "reconstructed")
    state = AppState(sky)
    state.colour_values()
    for spec in state.specs.values():
        for show in shows:
            x, y = spec.columns(show)
            sky.limits(x, spec.subset), sky.limits(y, spec.subset)
