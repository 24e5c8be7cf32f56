"""Several models in one scored catalog, in the dashboard: the model switch and a second latent space.

A scored catalog may hold several models' outputs (:mod:`core.scored_models`): the default model under
the bare column names, the others behind ``<key>__``. The dashboard shows one model at a time. Switching
gives the session a :class:`ModelSky`: the same catalog, rows and shared columns, with the chosen model's
columns under the bare names, so every view, the table, SEDs, colour-by, threshold, presets and probe
work unchanged on it. Geometries and exports record the catalog's real column names
(``masked_ae__latent_x``), so ``sedscape export --selection`` reproduces them.

A second latent space (another model's map, or the multi-modal VAE's ``mm_map_x/y``, NaN for stars
without epochs) can be shown beside the first: one more :class:`~dashboard.views.ScatterView`
(:class:`CompareView`) on the same selection and colour-by.

The model views and the latent maps are built once per process (shared by every session) on first use.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import panel as pn

from core import CatalogError, ModelCard, ScoredModel, read_parquet, scored_models
from dashboard import plots
from dashboard.sky import SkyData, robust_range

if TYPE_CHECKING:
    from dashboard.state import AppState

log = logging.getLogger(__name__)

NO_COMPARE = "none"
MULTIMODAL = "multimodal"  # the multi-modal VAE's map among the latent maps
MULTIMODAL_COLUMNS = ("mm_map_x", "mm_map_y")
COMPARE_PREFIX = "latent:"  # view key of the second latent space: "latent:<map key>"

# Per loaded catalog (shared by every session): its models, the model views built, the latent maps read.
_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_VIEWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MAPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.RLock()


# ----- which models and maps a catalog holds ---------------------------------------------------------
def catalog_models(sky: SkyData) -> list[ScoredModel]:
    """The models of the catalog behind ``sky`` (default first); empty for an unscored catalog."""
    base = base_sky(sky)
    with _LOCK:
        if base not in _MODELS:
            probe = pd.DataFrame(columns=list(base.column_order or base.df.columns))
            probe.attrs = {"sedscape": base.meta}
            _MODELS[base] = scored_models(probe)
        return list(_MODELS[base])


def model_labels(sky: SkyData) -> dict[str, str]:
    """Widget label -> model key, for the model switch."""
    return {m.label + (" [default]" if m.default else ""): m.key for m in catalog_models(sky)}


def has_multimodal_map(sky: SkyData) -> bool:
    base = base_sky(sky)
    return all(c in (base.column_order or base.df.columns) for c in MULTIMODAL_COLUMNS)


def compare_options(sky: SkyData) -> dict[str, str]:
    """Widget label -> map key for the second latent space: none, or any map when there are two or more."""
    maps = map_labels(sky)
    return {"none": NO_COMPARE, **(maps if len(maps) > 1 else {})}


def map_labels(sky: SkyData) -> dict[str, str]:
    """Widget label -> map key of every latent map: each model's, and the multi-modal one if scored."""
    labels = {f"{m.key} latent space": m.key for m in catalog_models(sky)}
    if has_multimodal_map(sky):
        labels["multi-modal VAE map (stars with epochs)"] = MULTIMODAL
    return labels


def map_columns(sky: SkyData, key: str) -> tuple[str, str]:
    """The catalog columns of map ``key``."""
    if key == MULTIMODAL:
        return MULTIMODAL_COLUMNS
    for m in catalog_models(sky):
        if m.key == key:
            return m.latent_columns
    raise ValueError(f"no latent map {key!r}; maps: {', '.join(map_labels(sky).values())}")


def base_sky(sky: SkyData) -> SkyData:
    """The catalog as loaded (the default model's view)."""
    return sky.base if isinstance(sky, ModelSky) else sky


def shown_model(sky: SkyData) -> ScoredModel | None:
    """The model whose columns ``sky`` shows under the bare names."""
    if isinstance(sky, ModelSky):
        return sky.shown
    models = catalog_models(sky)
    return next((m for m in models if m.default), None)


def real_column(sky: SkyData, name: str) -> str:
    """The catalog column (or view coordinate, see ``core.view_coordinate``) behind ``sky``'s column ``name``:
    the model's prefixed column for its own outputs and reconstructed coordinates, else ``name``."""
    if not isinstance(sky, ModelSky):
        return name
    own = sky.shown.column_map()
    if name in own:
        return own[name]
    if name.endswith("_rec"):  # derived reconstructed coordinates: colours, abs_g_rec
        return sky.shown.prefix + name
    return name


# ----- one model's view of the catalog ----------------------------------------------------------------
@dataclass(eq=False)
class ModelSky(SkyData):
    """The shared catalog seen through a non-default model: its columns under the bare names.

    Shares the catalog's rows and every other column with ``base`` (no copies); exports still read the
    catalog file's columns under their real names (:meth:`column_source`).
    """

    base: SkyData | None = None
    shown: ScoredModel | None = None

    def start_export_load(self) -> None:
        self.base.start_export_load()

    def column_source(self) -> dict[str, pd.Series]:
        return self.base.column_source()

    @property
    def category_codes(self) -> tuple[str | None, np.ndarray, list[str]]:
        return self.base.category_codes

    @cached_property
    def model_card(self) -> ModelCard | None:
        try:
            return self.shown.card
        except Exception as exc:  # a damaged card only costs the export its card
            log.warning("cannot read the card of model %s: %s", self.shown.key, exc)
            return None

    @cached_property
    def coordinates(self) -> pd.DataFrame:
        """The plotting frame under the catalog's real column names (for geometries)."""
        return pd.DataFrame({real_column(self, c): self.frame[c] for c in self.frame.columns}, copy=False)

    def provenance(self) -> dict[str, Any]:
        out = super().provenance()
        out["model_shown"] = self.shown.provenance()
        return out


def _model_columns(model: ScoredModel) -> list[str]:
    """The bare names of a model's columns the views read (not its embedding)."""
    return [c for c in model.column_map() if not c.startswith("emb_")]


def _resolve_model_dir(recorded: str | None, catalog: Path) -> Path | None:
    """The model directory recorded at scoring, as given or relative to the catalog's folder."""
    if not recorded:
        return None
    path = Path(recorded).expanduser()
    for candidate in (path, catalog.parent / path):
        if candidate.exists():
            return candidate
    return path  # the probe then says it does not exist




def model_sky(sky: SkyData, key: str) -> SkyData:
    """The catalog behind ``sky`` as model ``key`` shows it (built once per process; the default model's
    view is the catalog itself)."""
    base = base_sky(sky)
    model = next((m for m in catalog_models(base) if m.key == key), None)
    if model is None:
        raise ValueError(f"no model {key!r} in {base.catalog_path}; models: {', '.join(model_labels(base).values())}")
    if model.default:
        return base
    with _LOCK:
        views = _VIEWS.setdefault(base, {})
        if key not in views:
            views[key] = _build_model_sky(base, model)
        return views[key]


def _build_model_sky(base: SkyData, model: ScoredModel) -> ModelSky:
    t0 = time.perf_counter()
    bare = _model_columns(model)
    real = [model.column(c) for c in bare]
    missing = [c for c in real if c not in (base.column_order or ())]
    if missing:
        raise CatalogError(f"{base.catalog_path}: model {model.key!r} lacks column(s) {', '.join(missing[:5])}")
    values = read_parquet(base.catalog_path, columns=real).reset_index(drop=True)
    if len(values) != base.n:
        raise CatalogError(f"{base.catalog_path} changed while the dashboard was running; restart the dashboard")
    columns = {c: base.df[c] for c in base.df.columns if c not in bare}
    columns.update({b: values[r] for b, r in zip(bare, real, strict=True)})
    df = pd.DataFrame(columns, copy=False)
    meta = dict(base.meta)
    if model.meta.get("scoring"):
        meta["scoring"] = dict(model.meta["scoring"])
    if model.meta.get("model"):
        meta["model"] = dict(model.meta["model"])
    sky = ModelSky(df=df, bands=base.bands, catalog_path=base.catalog_path,
                   model_dir=_resolve_model_dir(model.model_dir, base.catalog_path), meta=meta,
                   column_order=base.column_order, base=base, shown=model)  # fmt: skip
    _ = sky.hover_order
    log.info("model %s: read %d columns and built its views in %.1f s", model.key, len(real), time.perf_counter() - t0)
    return sky


# ----- the latent maps (for the second latent space) ----------------------------------------------------
class LatentMaps:
    """Every latent map of a catalog as float32 columns under their real names, read on first use."""

    def __init__(self, base: SkyData) -> None:
        self.base = base
        self._frame: dict[str, np.ndarray] = {}
        self._limits: dict[str, tuple[float, float] | None] = {}
        self._lock = threading.Lock()

    def frame(self, key: str) -> pd.DataFrame:
        """The two columns of map ``key`` (read from the catalog file the first time)."""
        cols = map_columns(self.base, key)
        with self._lock:
            todo = [c for c in cols if c not in self._frame]
            if todo:
                if all(c in self.base.frame for c in todo):  # the default model's map is already loaded
                    got = {c: self.base.frame[c].to_numpy() for c in todo}
                else:
                    read = read_parquet(self.base.catalog_path, columns=todo)
                    got = {c: read[c].to_numpy(np.float32) for c in todo}
                self._frame.update(got)
        return pd.DataFrame({c: self._frame[c] for c in cols}, index=pd.RangeIndex(self.base.n), copy=False)

    def loaded(self) -> dict[str, np.ndarray]:
        with self._lock:
            return dict(self._frame)

    def limits(self, column: str) -> tuple[float, float] | None:
        if column not in self._limits:
            values = self._frame[column] if column in self._frame else np.zeros(0, np.float32)
            self._limits[column] = robust_range(values)
        return self._limits[column]


def latent_maps(sky: SkyData) -> LatentMaps:
    base = base_sky(sky)
    with _LOCK:
        if base not in _MAPS:
            _MAPS[base] = LatentMaps(base)
        return _MAPS[base]


def compare_spec(state: AppState, key: str | None = None) -> plots.ViewSpec | None:
    """The view spec of the second latent space showing map ``key`` (default: the state's choice)."""
    key = state.compare if key is None else key
    if key in (None, NO_COMPARE):
        return None
    x, y = map_columns(state.sky, key)
    label = "multi-modal map" if key == MULTIMODAL else f"{key} latent"
    title = "Multi-modal VAE map" if key == MULTIMODAL else f"Latent space of {key}"
    return plots.ViewSpec(f"{COMPARE_PREFIX}{key}", title, x, y, f"{label} x", f"{label} y", subset=x)


def view_axes(state: AppState, view: str) -> tuple[str, str]:
    """The catalog columns a lasso or box on ``view`` is drawn in (real names: exports reproduce them)."""
    if view.startswith(COMPARE_PREFIX):
        key = view.removeprefix(COMPARE_PREFIX)
        if key not in map_labels(state.sky).values():
            raise ValueError(f"unknown view {view!r}; latent maps: {', '.join(map_labels(state.sky).values())}")
        latent_maps(state.sky).frame(key)  # read, so that the selection finds its coordinates
        return map_columns(state.sky, key)
    spec = state.specs.get(view)
    if spec is None:
        raise ValueError(f"unknown view {view!r}; views: {', '.join(state.specs)}")
    x, y = spec.columns(state.show)
    return real_column(state.sky, x), real_column(state.sky, y)


def coordinates(state: AppState) -> pd.DataFrame:
    """View coordinates under real column names: the shown model's plotting frame plus the maps loaded."""
    sky = state.sky
    frame = sky.coordinates if isinstance(sky, ModelSky) else sky.frame
    maps = {c: v for c, v in latent_maps(sky).loaded().items() if c not in frame}
    if not maps:
        return frame
    return pd.DataFrame({**{c: frame[c] for c in frame.columns}, **maps}, copy=False)


def anomaly_column(sky: SkyData) -> str:
    """The catalog column of the shown model's max |residual| (for the anomalies preset's geometry)."""
    return real_column(sky, "max_abs_res")


def shown_provenance(sky: SkyData) -> dict[str, Any] | None:
    """What an export records about the model shown (``ScoredModel.provenance``), or None."""
    model = shown_model(sky)
    return model.provenance() if model is not None else None


# ----- the widgets --------------------------------------------------------------------------------------
def model_controls(state: AppState) -> list[pn.viewable.Viewable]:
    """The model switch and the second-latent-space choice (nothing for a one-model catalog without maps)."""
    widgets = []
    if len(state.param.model.objects) > 1:
        widgets.append(pn.widgets.Select.from_param(state.param.model, name="Model shown", css_classes=["model-switch"]))
    if len(state.param.compare.objects) > 1:
        widgets.append(pn.widgets.Select.from_param(state.param.compare, name="Second latent space",
                                                    css_classes=["compare-switch"]))  # fmt: skip
    return widgets
