"""One session's state: colour-by, anomaly threshold, observed/reconstructed, selection and probe.

:class:`AppState` works without any UI (tests drive it directly); views read its params and call
its ``select_*`` methods. Derived data (masks, summary, table, SED rows) comes from
``@param.depends`` methods, never from values stored by callbacks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import param
from panel.io import hold

from core import (
    DEFAULT_THRESHOLD,
    PRESET_FIELDS,
    STELLAR_CHI2_THRESHOLD,
    ExportOptions,
    ExportTask,
    selection_export,
)
from dashboard import lightcurve_plots, models_view
from dashboard.models_view import NO_COMPARE
from dashboard.plots import ColourBy, ViewSpec, colour_options, symmetric_clim, view_specs
from dashboard.sky import NO_CATEGORY, SkyData

log = logging.getLogger(__name__)

# A selection of at most this many obj_ids keeps them in its provenance, so that it can be reproduced.
OBJ_IDS_KEPT = 10_000


class AppState(param.Parameterized):
    """Everything one browser session can change; the shared :class:`SkyData` is read-only."""

    sky = param.ClassSelector(
        class_=SkyData, doc="the shared scored catalog as the shown model sees it (dashboard.models_view)"
    )
    model = param.Selector(default=None, objects=[], doc="the model whose latent space, reconstructions, "
                           "residuals and anomaly flag every view shows")  # fmt: skip
    compare = param.Selector(default=NO_COMPARE, objects=[NO_COMPARE], doc="a second latent space beside the first")
    colour_by = param.Selector(objects=["density"], doc="what colours the latent space")
    threshold = param.Number(
        DEFAULT_THRESHOLD, bounds=(0.0, None), softbounds=(0.005, 0.5), step=0.005,
        doc="anomaly threshold on max |observed - reconstructed| (mag)",
    )  # fmt: skip
    show = param.Selector(
        default="observed", objects=["observed", "reconstructed"], doc="magnitudes of the linked views"
    )
    selection = param.Array(default=None, allow_None=True, doc="sorted row indices of the selected stars")
    geometry = param.Dict(default=None, allow_None=True, doc="how the selection was made (for provenance)")
    revision = param.Integer(0, doc="bumped on every selection change; plots listen to it")
    probe = param.Tuple(default=None, allow_None=True, length=2, doc="latent point given to the decoder")
    # Discovery (dashboard.labelling, .review, .findmore): the label database, stars picked in the table,
    # and colour-bys and presets that those modules add while the session runs.
    labels = param.Parameter(default=None, doc="the server's label database (core.LabelStore), or None")
    labels_revision = param.Integer(0, doc="bumped whenever the labels may have changed")
    picked = param.List(default=[], item_type=int, doc="obj_ids of the stars picked in the selection table")
    colour_revision = param.Integer(0, doc="bumped when the values of the live colour-by change")
    presets_revision = param.Integer(0, doc="bumped when presets are added or removed")

    def __init__(self, sky: SkyData, **params: Any) -> None:
        options = _colour_choices(sky)
        super().__init__(sky=sky, **params)
        self.param.colour_by.objects = list(options)
        if "colour_by" not in params:
            self.colour_by = next(iter(options))  # the first-minus-third band colour (g - i for PS1)
        self._category_col, self._category_codes, self._category_names = sky.category_codes
        self._derive()
        models = models_view.model_labels(sky)
        self.param.model.objects = models or [None]
        self.param.compare.objects = models_view.compare_options(sky)
        with param.discard_events(self):
            self.model = models_view.shown_model(sky).key if models else None

    def _derive(self) -> None:
        """What the state keeps of the shown model's columns (at start and after a model switch)."""
        sky = self.sky
        self._colours = _colour_choices(sky)
        self._specs = {s.key: s for s in view_specs(sky.bands, sky.has_gaia)}
        self._max_res = sky.frame["max_abs_res"].to_numpy()
        self._live_colours: dict[str, Callable[[], tuple]] = {}
        self._presets: dict[str, Callable[[], int]] = {}

    @param.depends("model", watch=True)
    def _switch_model(self) -> None:
        """Show another model: its columns everywhere, its threshold; the selection (same stars) stays and every
        view of it is redrawn (revision), since its anomalies, reconstructions and SEDs change."""
        t0 = time.perf_counter()
        sky = models_view.model_sky(self.sky, self.model)
        threshold = models_view.shown_model(sky).threshold
        same_threshold = threshold == self.threshold
        with hold(freeze=True):
            self.sky = sky
            self._derive()
            self.param.update(probe=None, threshold=threshold, revision=self.revision + 1)
            if same_threshold:  # the anomaly flags changed all the same
                self.param.trigger("threshold")
        log.info("model %s shown in %.3f s", self.model, time.perf_counter() - t0)

    # ----- what the views need to know -----------------------------------------------------------
    @property
    def specs(self) -> dict[str, ViewSpec]:
        return self._specs

    @property
    def colour(self) -> ColourBy:
        return self._colours[self.colour_by]

    @param.depends("threshold")
    def anomaly_mask(self) -> np.ndarray:
        """Stars whose reconstruction misses some band by more than the threshold (as ``core.scoring``)."""
        return self._max_res > self.threshold

    @param.depends("revision")
    def selection_mask(self) -> np.ndarray:
        mask = np.zeros(self.sky.n, dtype=bool)
        if self.selection is not None:
            mask[self.selection] = True
        return mask

    @property
    def n_selected(self) -> int:
        return 0 if self.selection is None else len(self.selection)

    @param.depends("colour_by", "threshold", "colour_revision")
    def colour_values(self) -> tuple[Any, list[str] | None, tuple[float, float] | None]:
        """Per-star values for the colour-by choice, the category names (or None) and a colour range."""
        colour = self.colour
        if self.colour_by in self._live_colours:
            return self._live_colours[self.colour_by]()
        if colour.column is None:
            return None, None, None
        if colour.column == "anomaly":
            cats = ["normal", "anomaly"]
            return pd.Categorical.from_codes(self.anomaly_mask().astype(np.int8), cats), cats, None
        if colour.how == "category":
            if colour.column == self._category_col:
                codes, cats = self._category_codes, self._category_names
            else:
                codes, cats = self.sky.labels(colour.column)
            return pd.Categorical.from_codes(codes, categories=cats), cats, None
        source = self.sky.frame if colour.column in self.sky.frame else self.sky.df
        values = source[colour.column].to_numpy(np.float32)
        clim = symmetric_clim(values) if colour.symmetric else self.sky.colour_range(colour.column)
        if colour.log and clim is not None and clim[0] <= 0:  # a log scale starts above zero
            positive = values[np.isfinite(values) & (values > 0)]
            clim = (float(positive.min()), clim[1]) if positive.size and positive.min() < clim[1] else None
        return values, None, clim

    def colour_streams(self) -> list[str]:
        """The params whose change redraws the latent colours without a new plot."""
        if self.colour_by in self._live_colours:
            return ["colour_revision"]
        return ["threshold"] if self.colour.column == "anomaly" else []

    # ----- colour-bys and presets added while the session runs (labels, rankings, probabilities) -----
    def add_colour(self, key: str, colour: ColourBy, values: Callable[[], tuple]) -> None:
        """Offer a colour-by whose ``values()`` gives ``(values, categories, clim)`` like :meth:`colour_values`;
        adding it again replaces it (and redraws it if shown)."""
        self._colours[key] = colour
        self._live_colours[key] = values
        if key not in self.param.colour_by.objects:
            self.param.colour_by.objects = [*self.param.colour_by.objects, key]
        self.refresh_colour(key)

    def remove_colour(self, key: str) -> None:
        if key not in self._live_colours:
            return
        if self.colour_by == key:
            self.colour_by = self.param.colour_by.objects[0]
        self.param.colour_by.objects = [k for k in self.param.colour_by.objects if k != key]
        del self._live_colours[key], self._colours[key]

    def refresh_colour(self, key: str) -> None:
        """Redraw the latent colours if ``key`` is the colour-by shown (its values changed)."""
        if self.colour_by == key:
            self.colour_revision += 1

    def add_preset(self, name: str, select: Callable[[], int]) -> None:
        """Offer a preset: ``select()`` makes the selection and returns its size."""
        new = name not in self._presets
        self._presets[name] = select
        if new:
            self.presets_revision += 1

    def remove_preset(self, name: str) -> None:
        if self._presets.pop(name, None) is not None:
            self.presets_revision += 1

    def presets(self) -> list[str]:
        """The presets added while the session runs, in the order they came."""
        return list(self._presets)

    def apply_preset(self, name: str) -> int:
        try:
            select = self._presets[name]
        except KeyError:
            raise ValueError(f"unknown preset {name!r}; presets: {', '.join(self._presets) or 'none'}") from None
        return select()

    # ----- making selections ----------------------------------------------------------------------
    def _view_axes(self, view: str) -> tuple[str, str]:
        return models_view.view_axes(self, view)

    def set_selection(self, mask_or_index: np.ndarray | None, geometry: dict[str, Any] | None) -> None:
        """Replace the selection (a boolean mask or row indices) and record how it was made."""
        if mask_or_index is None:
            index = None
        else:
            arr = np.asarray(mask_or_index)
            index = np.flatnonzero(arr) if arr.dtype == bool else np.unique(arr.astype(np.int64))
        t0 = time.perf_counter()
        # One batch for the browser and one recomputation of the document's model graph, not one per view.
        with hold(freeze=True):
            self.param.update(selection=index, geometry=geometry, revision=self.revision + 1)
        log.info(
            "selection of %s stars (%s): views updated in %.3f s",
            "no" if index is None else f"{index.size:,}", (geometry or {}).get("kind", "cleared"),
            time.perf_counter() - t0,
        )

    def select_geometry(self, geometry: dict[str, Any]) -> int:
        """Select the stars a geometry describes (``core.selection``, as ``sedscape export --selection`` does)."""
        mask = self.sky.mask(geometry, coordinates=models_view.coordinates(self))
        self.set_selection(mask, geometry)
        return int(mask.sum())

    def select_polygon(self, view: str, vertices: np.ndarray) -> int:
        """Select the stars inside a lasso polygon drawn on ``view`` (data coordinates); returns the count."""
        x, y = self._view_axes(view)
        poly = np.asarray(vertices, dtype=float).round(6)
        return self.select_geometry({"kind": "lasso", "view": view, "x": x, "y": y, "vertices": poly.tolist()})

    def select_box(self, view: str, bounds: tuple[float, float, float, float]) -> int:
        """Select the stars inside ``(left, bottom, right, top)`` on ``view``."""
        x, y = self._view_axes(view)
        return self.select_geometry({"kind": "box", "view": view, "x": x, "y": y, "bounds": [float(v) for v in bounds]})

    def select_anomalies(self) -> int:
        geometry = {"kind": "preset", "preset": "anomalies", "threshold": self.threshold}
        if (column := models_view.anomaly_column(self.sky)) != "max_abs_res":
            geometry["column"] = column
        return self.select_geometry(geometry)

    def select_poorly_fit(self) -> int:
        """Stars no normal star explains (``stellar_chi2`` above ``core.STELLAR_CHI2_THRESHOLD``) that the
        autoencoder also flags at the current threshold."""
        if not self.sky.has_stellar:
            raise ValueError("this catalog has no stellar parameters; run `sedscape stellar-model infer` on it")
        geometry = {"kind": "preset", "preset": "poorly_fit", "chi2_threshold": STELLAR_CHI2_THRESHOLD,
                    "threshold": self.threshold}  # fmt: skip
        if (column := models_view.anomaly_column(self.sky)) != "max_abs_res":
            geometry["column"] = column
        return self.select_geometry(geometry)

    def categories(self) -> list[str]:
        """SIMBAD categories present in the catalog (stars without one are not a category)."""
        return [c for c in self._category_names if c != NO_CATEGORY]

    def select_category(self, category: str) -> int:
        if self._category_col is None:
            raise ValueError("this catalog has no SIMBAD category column")
        if category not in self._category_names:
            raise ValueError(f"no star has SIMBAD category {category!r}; categories: {', '.join(self.categories())}")
        return self.select_geometry({"kind": "preset", "preset": "simbad", "column": self._category_col,
                                     "value": category})  # fmt: skip

    def select_field(self, name: str) -> int:
        """Stars within the paper's radius of a globular cluster or Leo II (``"all clusters"`` for all)."""
        names = list(PRESET_FIELDS) if name == "all clusters" else [name]
        unknown = [n for n in names if n not in PRESET_FIELDS]
        if unknown:
            raise ValueError(f"unknown field {unknown[0]!r}; known: {', '.join(PRESET_FIELDS)}")
        fields = {n: list(PRESET_FIELDS[n]) for n in names}
        return self.select_geometry({"kind": "preset", "preset": "field", "fields": fields})

    def select_obj_ids(self, obj_ids: np.ndarray, source: str, **details: Any) -> int:
        """Select the stars with these obj_ids (e.g. rows picked in TOPCAT and sent back over SAMP)."""
        ids = np.unique(np.asarray(obj_ids, dtype=np.int64))
        geometry: dict[str, Any] = {"kind": "obj_ids", "source": source, "n": int(ids.size), **details}
        if ids.size <= OBJ_IDS_KEPT:
            geometry["obj_ids"] = ids.tolist()
        mask = self.sky.isin("obj_id", ids)
        self.set_selection(mask, geometry)
        return int(mask.sum())

    def clear_selection(self) -> None:
        self.set_selection(None, None)

    # ----- derived data ---------------------------------------------------------------------------
    @param.depends("revision", "threshold")
    def summary(self) -> dict[str, Any]:
        """Counts and anomaly fractions of the selection and the whole catalog."""
        anomalies = self.anomaly_mask()
        n_total, n_anom = self.sky.n, int(anomalies.sum())
        n_sel = self.n_selected
        sel_anom = int(anomalies[self.selection].sum()) if n_sel else 0
        return {
            "n_total": n_total,
            "n_anomalies": n_anom,
            "anomaly_fraction": n_anom / n_total if n_total else 0.0,
            "n_selected": n_sel,
            "selected_anomalies": sel_anom,
            "selected_anomaly_fraction": sel_anom / n_sel if n_sel else 0.0,
            "threshold": self.threshold,
        }

    @param.depends("revision")
    def category_table(self) -> pd.DataFrame:
        """Counts and fractions per SIMBAD category in the selection and in the catalog."""
        cols = ["category", "selection_count", "catalog_count", "selection", "catalog"]
        if self._category_col is None:
            return pd.DataFrame(columns=cols)
        k = len(self._category_names)
        catalog = self.sky.category_counts
        selected = np.bincount(self._category_codes[self.selection], minlength=k) if self.n_selected else catalog * 0
        table = pd.DataFrame({"category": self._category_names, "selection_count": selected, "catalog_count": catalog})
        table["selection"] = table["selection_count"] / max(self.n_selected, 1)
        table["catalog"] = table["catalog_count"] / self.sky.n
        return table.sort_values("catalog_count", ascending=False, kind="stable")[cols].reset_index(drop=True)

    def table_columns(self) -> list[str]:
        b = self.sky.bands.names
        wanted = ["obj_id", "ra", "dec", *b, "latent_x", "latent_y", "max_abs_res", "res_band", "anomaly",
                  *(f"{x}_res" for x in b), "simbad_otype", "simbad_category", "true_class", "abs_g", "dist_kpc",
                  "stellar_teff", "stellar_logg", "stellar_feh", "stellar_ebv", "stellar_dist_pc", "stellar_chi2"]  # fmt: skip
        return [c for c in wanted if c in self.sky.df]

    @param.depends("revision")
    def table_order(self, limit: int | None = None) -> np.ndarray:
        """Row numbers of the selected stars, most anomalous first (the first ``limit`` only)."""
        selection = self.selection if self.selection is not None else np.zeros(0, dtype=np.int64)
        res = self._max_res[selection]
        if limit is not None and len(res) > limit:
            top = np.argpartition(-res, limit - 1)[:limit]
            order = top[np.argsort(-res[top], kind="stable")]
        else:
            order = np.argsort(-res, kind="stable")
        return selection[order]  # empty without a selection: same columns and dtypes either way

    @param.depends("revision", "threshold")
    def selected_table(self, limit: int | None = None, rows_idx: np.ndarray | None = None) -> pd.DataFrame:
        """The selected stars, most anomalous first, with the live anomaly flag (the first ``limit`` only;
        or the rows ``rows_idx``, e.g. one page of :meth:`table_order`)."""
        if rows_idx is None:
            rows_idx = self.table_order(limit)
        cols = [c for c in self.table_columns() if c != "anomaly"]
        rows = self.sky.take(rows_idx, cols)
        at = cols.index("max_abs_res") + 1 if "max_abs_res" in cols else len(cols)
        rows.insert(at, "anomaly", self.anomaly_mask()[rows_idx])
        return rows

    @param.depends("revision")
    def most_anomalous(self, n: int = 5) -> pd.DataFrame:
        """The ``n`` selected stars with the largest residual (for SEDs and cutouts)."""
        if not self.n_selected:
            return self.sky.rows_at(np.zeros(0, dtype=np.int64))
        res = self._max_res[self.selection]
        k = min(n, len(res))
        top = np.argpartition(-res, k - 1)[:k] if len(res) > k else np.arange(len(res))
        top = top[np.argsort(-res[top], kind="stable")]
        return self.sky.rows_at(self.selection[top])

    def stellar_seds(self, rows: pd.DataFrame) -> np.ndarray | None:
        """The stellar model's best-fit SEDs of ``rows`` (see :meth:`SkyData.stellar_seds`), or None."""
        return self.sky.stellar_seds(rows)

    @param.depends("probe")
    def probe_magnitudes(self) -> np.ndarray | None:
        """Magnitudes the decoder produces at the probed latent point, or None (no probe, no model)."""
        if self.probe is None or self.sky.model is None:
            return None
        xy = np.asarray([self.probe], dtype=np.float64)
        return np.asarray(self.sky.model.decode_latent(xy), dtype=float)[0]

    def prepare_export(self, options: ExportOptions) -> Callable[[], ExportTask]:
        """A function making the export of this moment's selection, geometry and threshold (captured now):
        call it on a worker thread, since it may wait for the export-only columns to load. The rows are
        the selected stars in catalog order, with the chosen columns, each star's labels (when there is a
        label database) and the provenance."""
        index = self.selection if self.selection is not None else np.zeros(0, dtype=np.int64)
        geometry, threshold, show, sky, labels = self.geometry, self.threshold, self.show, self.sky, self.labels

        def make() -> ExportTask:
            return selection_export(
                sky.column_source(), index, bands=sky.bands, meta=sky.meta, catalog=sky.catalog_path,
                geometry=geometry, threshold=threshold, options=options, model_dir=sky.model_dir,
                model_card=sky.model_card, made_by="sedscape dashboard", magnitudes_shown=show, labels=labels,
                model_shown=models_view.shown_provenance(sky),
            )  # fmt: skip

        return make


def _colour_choices(sky: SkyData) -> dict[str, ColourBy]:
    """The colour-by choices of a catalog: photometry, residuals and labels, then variability."""
    options = colour_options(sky.df, sky.bands, extra=sky.frame.columns)
    options.update(lightcurve_plots.colour_options(sky.df.columns))
    return options
