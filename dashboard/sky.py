"""The scored catalog every session shares: loaded once per server process, with float32 plotting columns.

Everything every session shares (the catalog, its float32 plotting columns, the decoder) lives in
one :class:`SkyData`; :func:`shared_sky` loads it once per process (``pn.cache``) and lets sessions
that arrive meanwhile wait for that load.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import panel as pn

from core import (
    CARD_NAME,
    DEFAULT_THRESHOLD,
    BandSet,
    CatalogError,
    ModelCard,
    ModelError,
    SedscapeError,
    TrainedModel,
    absolute_first_band,
    band_set_of,
    card_sha256,
    colour_name,
    column_names,
    default_stellar_model_dir,
    is_hats,
    load_scored,
    read_card,
    read_metadata,
    read_parquet,
    scored_columns,
    selection_mask,
    stellar_sed,
)
from dashboard.sources import BUILD_COMMAND, MissingSkyError, Sources

log = logging.getLogger(__name__)

NO_CATEGORY = "(none)"
# The stellar model's columns the page reads (colour-by, table, SED overlay, preset); errors go to exports only.
STELLAR_PAGE_COLUMNS = ("stellar_teff", "stellar_logg", "stellar_feh", "stellar_ebv", "stellar_dm", "stellar_dist_pc",
                        "stellar_chi2")  # fmt: skip
# Light-curve and multi-modal columns the variability colour-bys and the light-curve panel read.
VARIABILITY_COLUMNS = ("lc_period", "lc_amplitude", "mm_score", "mm_anomaly", "true_var_class", "true_period")


@dataclass(eq=False)
class SkyData:
    """A scored catalog ready for plotting: the full table plus float32 columns for the views.

    The decoder (for the latent probe) loads on a worker thread only when first asked for, or when
    :meth:`start_model_load` is called after the page is warm: importing TensorFlow takes seconds of
    CPU that the first page should not wait for.
    """

    df: pd.DataFrame
    bands: BandSet
    catalog_path: Path
    model_dir: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    export_columns: tuple[str, ...] = ()  # catalog columns not in ``df``: read when first exported
    column_order: tuple[str, ...] = ()  # the catalog file's column order, which exports keep
    frame: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        # pandas deep-copies ``attrs`` into every derived frame; keep provenance in ``meta`` instead.
        if self.df.attrs:
            self.meta = {**dict(self.df.attrs.get("sedscape", {})), **self.meta}
            self.df.attrs = {}
        self.frame = self._plotting_frame()
        self._limits: dict[tuple[str, str | None], tuple[float, float] | None] = {}
        self._colour_ranges: dict[str, tuple[float, float] | None] = {}
        self._model_future: Future | None = None
        self._load_lock = threading.Lock()
        self._export_future: Future | None = None
        self._stellar_future: Future | None = None

    def _plotting_frame(self) -> pd.DataFrame:
        return plotting_frame(self.df, self.bands)

    # ----- rows and selections (a partitioned catalog reads them from its partitions instead) --------
    @property
    def lazy_rows(self) -> bool:
        """True when rows are read from disk as they are shown (a partitioned catalog), not held in memory."""
        return False

    def take(self, index: np.ndarray, columns: Sequence[str]) -> pd.DataFrame:
        """Rows ``index`` (in that order) of ``columns``, with a fresh index."""
        # Column by column: taking rows of the whole frame first would copy every catalog column.
        return pd.DataFrame({c: self.df[c].array.take(index) for c in columns})

    def rows_at(self, index: np.ndarray) -> pd.DataFrame:
        """Rows ``index`` with every loaded column (SEDs, cutouts)."""
        return self.df.iloc[index]

    def hover_rows(self, index: np.ndarray, columns: Sequence[str]) -> pd.DataFrame:
        """Tooltip columns of rows ``index``, which come from :attr:`hover_order`."""
        return self.take(index, columns)

    def start_hover_load(self, columns: Sequence[str]) -> None:
        """Prepare the tooltips' rows (held in memory here: nothing to do)."""

    def load_columns(self, names: Sequence[str]) -> None:
        """Have these plotting columns ready (all are, in memory)."""

    def mask(self, geometry: dict[str, Any] | None, coordinates: pd.DataFrame | None = None) -> np.ndarray:
        """The stars a selection geometry selects (``core.selection_mask`` on ``coordinates``, by default
        the plotting columns)."""
        return selection_mask(self.df, geometry, self.bands, coordinates=self.frame if coordinates is None else coordinates)

    def isin(self, column: str, values: np.ndarray) -> np.ndarray:
        return self.df[column].isin(values).to_numpy()

    def labels(self, column: str) -> tuple[np.ndarray, list[str]]:
        """Per-star codes of a text column into its sorted values (:data:`NO_CATEGORY` for missing ones)."""
        labels = self.df[column].astype("string").fillna(NO_CATEGORY).to_numpy(dtype=object)
        codes, uniques = pd.factorize(labels, sort=True)
        return codes, [str(c) for c in uniques]

    def start_export_load(self) -> None:
        """Start reading the columns only exports need, in the background (idempotent)."""
        with self._load_lock:
            if self._export_future is None:
                self._export_future = _EXPORT_POOL.submit(self._read_export_columns)

    def _read_export_columns(self) -> pd.DataFrame:
        if not self.export_columns:
            return pd.DataFrame(index=self.df.index)
        t0 = time.perf_counter()
        rest = read_parquet(self.catalog_path, columns=list(self.export_columns)).reset_index(drop=True)
        if len(rest) != self.n:
            raise CatalogError(f"{self.catalog_path} changed while the dashboard was running ({len(rest)} rows, "
                               f"{self.n} loaded); restart the dashboard")  # fmt: skip
        log.info("read the %d export-only columns in %.1f s", len(self.export_columns), time.perf_counter() - t0)
        return rest

    def column_source(self) -> dict[str, pd.Series]:
        """Every column of the catalog file, full length and in the file's order, for exports to take
        rows from a chunk at a time (no rows are copied here; waits for the export-only columns)."""
        cols = {c: self.df[c] for c in self.df.columns}
        if self.export_columns:
            self.start_export_load()
            rest = self._export_future.result()
            cols.update({c: rest[c] for c in rest.columns})
        order = [c for c in self.column_order if c in cols]
        return {c: cols[c] for c in order + [c for c in cols if c not in order]}

    def start_model_load(self) -> None:
        """Start loading the decoder in the background (idempotent)."""
        with self._load_lock:
            if self._model_future is None:
                self._model_future = _MODEL_POOL.submit(_load_model, self.model_dir, self.bands)

    @property
    def model(self) -> Any:
        """The decoder (``core.scoring.TrainedModel``) or None; waits for the background load if needed."""
        if self.model_dir is None:
            return None
        self.start_model_load()
        return self._model_future.result()[0]

    @property
    def model_problem(self) -> str:
        """Why there is no model (empty when there is one)."""
        if self.model_dir is None:
            return "no model directory given; the latent probe is off"
        self.start_model_load()
        return self._model_future.result()[1]

    @property
    def has_stellar(self) -> bool:
        """Whether the catalog carries the stellar model's parameters (``sedscape stellar-model infer``)."""
        return all(c in self.df for c in STELLAR_PAGE_COLUMNS)

    @cached_property
    def stellar_model_dir(self) -> Path | None:
        """The stellar model that inferred the catalog's parameters (its metadata's ``stellar.model_dir``,
        else the shipped model if its card is the one recorded), or None."""
        info = self.meta.get("stellar", {})
        if not self.has_stellar or not info.get("model_dir"):
            return None
        recorded, sha = Path(info["model_dir"]), info.get("model_card_sha256")
        for candidate in (recorded, default_stellar_model_dir()):
            if (candidate / CARD_NAME).exists() and (sha is None or candidate == recorded or card_sha256(candidate) == sha):
                return candidate
        return None

    def start_stellar_load(self) -> None:
        """Start loading the stellar model in the background (idempotent; TensorFlow, like the decoder)."""
        with self._load_lock:
            if self._stellar_future is None:
                self._stellar_future = _MODEL_POOL.submit(_load_stellar, self.stellar_model_dir)

    @property
    def stellar_model(self) -> Any:
        """The stellar model (``core.load_stellar_model``) or None; waits for the background load if needed."""
        if not self.has_stellar:
            return None
        self.start_stellar_load()
        return self._stellar_future.result()[0]

    @property
    def stellar_problem(self) -> str:
        """Why there is no stellar model (empty when there is one)."""
        if not self.has_stellar:
            return "the catalog has no stellar parameters; run `sedscape stellar-model infer`"
        self.start_stellar_load()
        return self._stellar_future.result()[1]

    def stellar_seds(self, rows: pd.DataFrame) -> np.ndarray | None:
        """Best-fit SEDs of ``rows`` (N x bands, in the catalog's magnitude system: ``core.stellar_sed``), NaN
        without a usable stellar model; None for a catalog without stellar parameters."""
        if not self.has_stellar:
            return None
        out = np.full((len(rows), len(self.bands.names)), np.nan)
        model = self.stellar_model
        if model is None or rows.empty:
            return out
        observed = self.observed_magnitudes
        if len(observed.columns):  # the observed magnitudes that dereddening is undone with
            rows = rows.join(observed.loc[rows.index])
        sed = stellar_sed(rows, model, as_catalog=True)
        for k, band in enumerate(self.bands.names):
            if band in model.bands:
                out[:, k] = sed[:, list(model.bands).index(band)]
        return out

    @cached_property
    def observed_magnitudes(self) -> pd.DataFrame:
        """The catalog's ``<band>_obs`` columns that the page did not read (float32; read once, on first use:
        a dereddened catalog's best-fit SEDs need them, and only them of the export-only columns)."""
        obs = [f"{b}_obs" for b in self.bands.names if f"{b}_obs" in self.export_columns]
        if not obs:
            return pd.DataFrame(index=self.df.index)
        t0 = time.perf_counter()
        out = read_parquet(self.catalog_path, columns=obs).reset_index(drop=True).astype(np.float32)
        log.info("read %s in %.1f s", ", ".join(obs), time.perf_counter() - t0)
        return out

    def model_known_missing(self) -> bool:
        """True when it is already known, without waiting, that there is no usable decoder."""
        if self.model_dir is None:
            return True
        future = self._model_future
        return future is not None and future.done() and future.result()[0] is None

    @cached_property
    def model_card(self) -> ModelCard | None:
        """The model card (read directly: the header and exports need it before the decoder loads), or None."""
        if self.model_dir is None or not (self.model_dir / CARD_NAME).exists():
            return None
        try:
            return read_card(self.model_dir)
        except (SedscapeError, OSError) as exc:
            log.warning("cannot read the model card in %s: %s", self.model_dir, exc)
            return None

    @property
    def n(self) -> int:
        return len(self.df)

    @property
    def has_gaia(self) -> bool:
        return "abs_g" in self.frame and bool(np.isfinite(self.frame["abs_g"].to_numpy()).any())

    @cached_property
    def hover_order(self) -> np.ndarray:
        """Row order for hover layers: anomalous stars (at the default threshold) first, then a fixed random order."""
        order = np.random.default_rng(0).permutation(self.n)
        flagged = self.frame["max_abs_res"].to_numpy()[order] > DEFAULT_THRESHOLD
        return order[np.argsort(~flagged, kind="stable")]

    def limits(self, column: str, subset: str | None = None) -> tuple[float, float] | None:
        """Robust axis limits of a plotting column (cached: every session's plots start from them)."""
        key = (column, subset)
        if key not in self._limits:
            values = self.frame[column].to_numpy()
            if subset is not None:
                values = values[np.isfinite(self.frame[subset].to_numpy())]
            self._limits[key] = robust_range(values)
        return self._limits[key]

    def colour_range(self, column: str) -> tuple[float, float] | None:
        """The colour range of a colour-by column: 0.5-99.5 percentiles of the whole catalog (cached), so
        colours keep their meaning, and the colour bar its labels, while the user pans and zooms."""
        if column not in self._colour_ranges:
            source = self.frame if column in self.frame else self.df
            values = source[column].to_numpy(np.float64)
            self._colour_ranges[column] = robust_range(values, quantile=0.005, pad=0.0)
        return self._colour_ranges[column]

    @cached_property
    def category_counts(self) -> np.ndarray:
        """Stars per category of :attr:`category_codes` in the whole catalog (every session's summary)."""
        _, codes, names = self.category_codes
        return np.bincount(codes, minlength=len(names))

    @cached_property
    def _obj_id_order(self) -> tuple[np.ndarray, np.ndarray]:
        ids = self.df["obj_id"].to_numpy(np.int64)
        order = np.argsort(ids, kind="stable")
        return ids[order], order

    def rows_of(self, obj_ids: np.ndarray) -> np.ndarray:
        """Sorted catalog rows of the stars with these obj_ids (ids not in the catalog are skipped)."""
        ids = np.unique(np.asarray(obj_ids, dtype=np.int64))
        sorted_ids, order = self._obj_id_order
        pos = np.minimum(np.searchsorted(sorted_ids, ids), max(len(sorted_ids) - 1, 0))
        hit = sorted_ids[pos] == ids if len(sorted_ids) else np.zeros(len(ids), dtype=bool)
        return np.sort(order[pos[hit]])

    @cached_property
    def category_codes(self) -> tuple[str | None, np.ndarray, list[str]]:
        """The SIMBAD category column used for presets and summaries, its per-star codes and the names."""
        col = next((c for c in ("simbad_category", "simbad_otype") if c in self.df), None)
        if col is None:
            return None, np.zeros(self.n, dtype=np.int32), []
        series = self.df[col]
        if isinstance(series.dtype, pd.CategoricalDtype):  # the usual case: recode, no string per star
            raw = series.cat.codes.to_numpy().astype(np.int32)
            present = np.flatnonzero(np.bincount(raw + 1, minlength=len(series.cat.categories) + 1))
            labels = [NO_CATEGORY if k == 0 else str(series.cat.categories[k - 1]) for k in present]
            order = np.argsort(labels, kind="stable")
            lookup = np.zeros(len(series.cat.categories) + 1, dtype=np.int32)
            lookup[present[order]] = np.arange(len(order), dtype=np.int32)
            return col, lookup[raw + 1], [labels[k] for k in order]
        labels = series.astype("string").fillna(NO_CATEGORY).to_numpy(dtype=object)
        codes, names = pd.factorize(labels, sort=True)
        return col, codes.astype(np.int32), [str(n) for n in names]

    def provenance(self) -> dict[str, Any]:
        """Where the data and model came from, for exports and the page header."""
        card = self.model_card
        model = {}
        if card is not None:
            model = {"model": card.model.to_dict(), "chosen_run": card.chosen_run,
                     "card_version": card.card_version, "created": card.created}  # fmt: skip
        return {
            "catalog": str(self.catalog_path),
            "catalog_rows": self.n,
            "bands": list(self.bands.names),
            "model_dir": str(self.model_dir) if self.model_dir else None,
            "model": model,
            "scoring": self.meta.get("scoring", {}),
        }


def robust_range(values: np.ndarray, quantile: float = 0.0005, pad: float = 0.05) -> tuple[float, float] | None:
    """The range holding all but ``quantile`` of the finite values at each end, padded by ``pad``."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return None
    lo, hi = np.quantile(finite, [quantile, 1 - quantile]) if finite.size > 1000 else (finite.min(), finite.max())
    span = (hi - lo) or 1.0
    return float(lo - pad * span), float(hi + pad * span)


def plotting_frame(df: pd.DataFrame, bands: BandSet) -> pd.DataFrame:
    """Float32 columns the views aggregate: latent, magnitudes, colours (observed and reconstructed), M_g."""
    names = bands.names
    out: dict[str, np.ndarray] = {
        "latent_x": df["latent_x"].to_numpy(np.float32),
        "latent_y": df["latent_y"].to_numpy(np.float32),
    }
    for suffix in ("", "_rec"):
        mags = {b: df[f"{b}{suffix}"].to_numpy(np.float32) for b in names if f"{b}{suffix}" in df}
        for b, values in mags.items():
            out[f"{b}{suffix}"] = values
        # Only the colours the views and colour-by use: neighbouring bands and first minus third.
        pairs = list(zip(names[:-1], names[1:], strict=False)) + ([(names[0], names[2])] if len(names) > 2 else [])
        for a, b in pairs:
            if a in mags and b in mags:
                out[colour_name(a, b) + suffix] = mags[a] - mags[b]
    abs_first = absolute_first_band(df, names[0])
    if abs_first is not None:
        out["abs_g"] = abs_first
        if f"{names[0]}_rec" in out:
            out["abs_g_rec"] = abs_first + (out[f"{names[0]}_rec"] - out[names[0]])
    for col in ("max_abs_res", "max_abs_res_sigma", "dist_kpc", *(f"{b}_res" for b in names)):
        if col in df:
            out[col] = df[col].to_numpy(np.float32)
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)), copy=False)  # no copy into one 2-D block


def first_page_columns(sky: SkyData) -> list[str]:
    """The plotting columns the first page draws: latent space, every view's observed axes, the residual."""
    from dashboard.plots import view_specs

    axes = [c for spec in view_specs(sky.bands, True) for c in (*spec.columns(), spec.subset) if c]
    return list(dict.fromkeys(["latent_x", "latent_y", "max_abs_res", *axes]))


def page_columns(columns: Sequence[str], bands: BandSet) -> list[str]:
    """The catalog columns the views, hover, table, presets and SEDs read (in file order); the others
    (flags, extinction, truth details, raw magnitudes...) only go into exports and load later."""
    b = bands.names
    wanted = {"obj_id", "ra", "dec", *b, *(f"{x}_err" for x in b), *scored_columns(bands),
              "simbad_otype", "simbad_category", "true_class", "parallax", "parallax_error", "abs_g", "dist_kpc",
              *STELLAR_PAGE_COLUMNS}  # fmt: skip
    wanted.update(VARIABILITY_COLUMNS)
    return [c for c in columns if c in wanted]


def catalog_columns(path: Path) -> tuple[tuple[str, ...], list[str] | None]:
    """The catalog file's columns in order, and those the page reads first (None if the schema cannot be
    read: the full read then says what is wrong)."""
    try:
        names = column_names(path)  # a Parquet file or a HATS catalog directory
        meta = pd.DataFrame()
        meta.attrs["sedscape"] = read_metadata(path)
    except Exception:
        return (), None
    return tuple(names), page_columns(names, band_set_of(meta))


def read_scored(path: Path, rows: int | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """A scored catalog (``core.load_scored``: it says what is missing) with a fresh row index."""
    return load_scored(path, rows=rows, columns=columns).reset_index(drop=True)


def _load_model(model_dir: Path | None, bands: BandSet) -> tuple[Any, str]:
    if model_dir is None:
        return None, "no model directory given; the latent probe is off"
    if not model_dir.exists():
        return None, f"model directory {model_dir} does not exist; the latent probe is off"
    try:
        model = TrainedModel.load(model_dir)
    except Exception as exc:  # any failure (TF, weights, card) only turns the probe off
        log.warning("cannot load model from %s: %s", model_dir, exc)
        return None, f"cannot load the model in {model_dir}: {exc}"
    if tuple(model.bands.names) != tuple(bands.names):
        return None, f"model bands {model.bands.names} differ from the catalog's {bands.names}"
    return model, ""


def _load_stellar(model_dir: Path | None) -> tuple[Any, str]:
    if model_dir is None:
        return None, "the stellar model that inferred this catalog's parameters was not found"
    try:
        from core import load_stellar_model

        return load_stellar_model(model_dir)[0], ""
    except Exception as exc:  # any failure only leaves the best-fit SEDs out
        log.warning("cannot load the stellar model from %s: %s", model_dir, exc)
        return None, f"cannot load the stellar model in {model_dir}: {exc}"


def load_sky(sources: Sources, *, build_default: bool = True) -> SkyData:
    """Read the scored catalog and its model; build the default scored sky when it is missing.

    Raises :class:`MissingSkyError` when the default sky is missing and cannot be built here, and
    :class:`CatalogError` for a path that is missing or not a scored catalog.
    """
    catalog = sources.catalog
    if sources.is_default and not catalog.exists():
        if not build_default:
            raise MissingSkyError(f"the default scored sky {catalog} does not exist; build it with: {BUILD_COMMAND}")
        catalog = _build_default(sources)
    if not catalog.exists():
        raise CatalogError(f"catalog {catalog} does not exist (from {sources.origin})")
    if is_hats(catalog):  # read by partition as shown: 30-100 million stars need not fit in memory
        from dashboard.partitioned_sky import PartitionedSky

        log.info("opening partitioned scored catalog %s", catalog)
        return PartitionedSky.open(catalog, sources.model_dir)
    log.info("loading scored catalog %s", catalog)
    names, page = catalog_columns(catalog)
    df = read_scored(catalog, columns=page)
    return SkyData(df=df, bands=band_set_of(df), catalog_path=catalog, model_dir=sources.model_dir,
                   export_columns=tuple(c for c in names if c not in df.columns), column_order=names)  # fmt: skip


_MODEL_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sedscape-model")
_EXPORT_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sedscape-export-columns")


def _build_default(sources: Sources) -> Path:
    try:
        from core import ensure_default_scored
    except ImportError as exc:
        raise MissingSkyError(
            f"the default scored sky {sources.catalog} does not exist and this installation cannot build it "
            f"({exc}); build it with: {BUILD_COMMAND}"
        ) from exc
    log.info("the default scored sky is missing; building it (mock sky, then scoring); this runs once")
    try:
        return ensure_default_scored(model_dir=sources.model_dir, progress=False)
    except (SedscapeError, ModelError) as exc:
        raise MissingSkyError(
            f"the default scored sky {sources.catalog} does not exist and building it failed: {exc}. "
            f"Build it with: {BUILD_COMMAND}"
        ) from exc


LOAD_LOCK = threading.RLock()


@pn.cache
def _cached_sky(catalog: str, model_dir: str | None, origin: str) -> SkyData:
    sky = load_sky(Sources(Path(catalog), Path(model_dir) if model_dir else None, origin))
    sky.load_columns(first_page_columns(sky))  # a partitioned catalog reads them here, in one pass
    _ = sky.hover_order, sky.category_codes, sky.category_counts  # every session needs them; compute once here
    return sky


def shared_sky(sources: Sources) -> SkyData:
    """The process-wide :class:`SkyData`, loaded once and shared by every session (``pn.cache``).

    A lock makes sessions that arrive while the catalog is loading wait for that load, not start another.
    """
    with LOAD_LOCK:
        return _cached_sky(str(sources.catalog), str(sources.model_dir) if sources.model_dir else None, sources.origin)
