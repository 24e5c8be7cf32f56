"""The multi-modal model's protocol: inputs from a catalog and its epochs, training runs, the 2-D map,
scoring, and the functions the dashboard needs for one star.

``train_multimodal`` follows :mod:`core.training`'s protocol (random 80/16/4 splits with
``random_state = seed + run - 1``, the run with the lowest validation loss chosen, ``model_card.json``
with the same required keys) for :class:`core.models.mm_vae.MultiModalVAE`. After training, the chosen
run's 15-D latent of a sample of stars is mapped to 2-D with UMAP (umap-learn), and the fitted UMAP
is saved with the model (``map.joblib``) so that :func:`score_multimodal` places new stars on the same
map with ``transform``. Scoring adds, per star: the 15 latent coordinates ``mm_z00..mm_z14``, the map
``mm_map_x, mm_map_y``, per-modality reconstruction errors ``mm_rec_sed, mm_rec_dmdt, mm_rec_lc``
(mean chi^2 per entry; NaN where the modality is absent), which modalities are present, the
light-curve features (``lc_*``), an anomaly score in the multi-modal space ``mm_score`` (the largest
robust z-score of the three reconstruction errors and of the distance to the 10th nearest training
star in the 15-D latent) and ``mm_anomaly`` (score above the training stars' 99th percentile).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.bands import PS1, BandSet
from core.card import (
    CARD_NAME,
    ModelCard,
    ModelInfo,
    RunRecord,
    bands_meta,
    catalog_fingerprint,
    choose_run,
    package_versions,
)
from core.catalog import json_default, validate_catalog
from core.epochs import PackedEpochs, clean_epochs, pack_epochs, validate_epochs
from core.errors import CatalogError, ConfigError, ModelError
from core.features.dmdt import DmDt
from core.features.dmdt import dmdt as dmdt_images
from core.features.lightcurves import LightCurveFeatures, extract_features, fold_star
from core.features.periodogram import PeriodConfig
from core.models.mm_vae import MODALITIES, MultiModalVAE, Triple, VAEConfig

log = logging.getLogger(__name__)

__all__ = [
    "MultiModalModel",
    "build_inputs",
    "dmdt_image",
    "folded_reconstruction",
    "score_multimodal",
    "stars_with_epochs",
    "train_multimodal",
]

MM_NAME = "mm-vae"
MAP_NAME = "map.joblib"
REFERENCE_NAME = "reference.npz"
KNN_K = 10
ANOMALY_QUANTILE = 0.99
MIN_ROWS = 50
SCALE_ERR = 0.03  # uncertainty given to the log scales (amplitude, period) appended to the dm-dt and folded inputs


def latent_columns(n: int = 15) -> list[str]:
    return [f"mm_z{k:02d}" for k in range(n)]


# --- inputs -----------------------------------------------------------------------------------------

@dataclass
class Standardiser:
    """Per-feature centre and scale of the SED colours (fitted on training stars)."""

    centre: np.ndarray
    scale: np.ndarray

    def to_dict(self) -> dict[str, list[float]]:
        return {"centre": self.centre.tolist(), "scale": self.scale.tolist()}


def sed_colours(catalog: pd.DataFrame, bands: BandSet) -> tuple[np.ndarray, np.ndarray]:
    """Adjacent-band colours (N, n_bands - 1) and their errors (errors added in quadrature)."""
    mags = catalog[list(bands.names)].to_numpy(float)
    errs = catalog[list(bands.err_columns)].to_numpy(float)
    return mags[:, :-1] - mags[:, 1:], np.sqrt(errs[:, :-1] ** 2 + errs[:, 1:] ** 2)


def build_inputs(
    catalog: pd.DataFrame, features: LightCurveFeatures, bands: BandSet, standardiser: Standardiser | None = None
) -> tuple[dict[str, Triple], Standardiser]:
    """The three modalities as (x, err, mask) triples, one row per catalog row (``features`` aligned)."""
    col, col_err = sed_colours(catalog, bands)
    ok = np.isfinite(col) & np.isfinite(col_err)
    if standardiser is None:
        centre = np.nanmedian(np.where(ok, col, np.nan), axis=0)
        scale = np.nanstd(np.where(ok, col, np.nan), axis=0)
        standardiser = Standardiser(centre, np.where(scale > 0, scale, 1.0))
    x = np.where(ok, (col - standardiser.centre) / standardiser.scale, 0.0)
    e = np.where(ok, col_err / standardiser.scale, 1.0)
    sed = (x.astype(np.float32), e.astype(np.float32), ok.astype(np.float32))
    d: DmDt = features.dmdt
    n = len(catalog)
    n_dm = d.prob.shape[2]
    dmask = (d.col_mask & d.band_mask[:, :, None])[:, :, None, :].repeat(n_dm, axis=2)
    # The seed's dm-dt images are of standardised magnitudes; the scales divided out (log10 of each band's
    # standard deviation, mapped from [-2.5, 0.5] onto [0, 1] for the decoder's sigmoid) go in beside them,
    # so the dm-dt view still knows how much a star varies.
    log_std = np.log10(np.maximum(d.scale, 1e-4)) if d.scale is not None else np.zeros(d.band_mask.shape)
    sc = np.clip((log_std + 2.5) / 3.0, 0.0, 1.0)
    dm = (np.concatenate([d.prob.reshape(n, -1), sc], axis=1).astype(np.float32),
          np.concatenate([np.broadcast_to(d.unc[:, :, None, :], d.prob.shape).reshape(n, -1),
                          np.full(sc.shape, SCALE_ERR)], axis=1).astype(np.float32),
          np.concatenate([dmask.reshape(n, -1), d.band_mask], axis=1).astype(np.float32))
    # Likewise the folded curve is divided by its range and folded at twice its period: log10 of both go
    # in beside the curve (masked with it).
    f = features.folded
    has = f.mask.any(axis=(1, 2))
    period = features.periods["period"]
    extra = np.stack([np.where(has, np.log10(np.where(has, period, 1.0)), 0.0),
                      np.where(has, np.log10(np.maximum(f.scale, 1e-4)), 0.0)], axis=1)
    lc = (np.concatenate([f.mag.reshape(n, -1), extra], axis=1).astype(np.float32),
          np.concatenate([f.err.reshape(n, -1), np.full(extra.shape, SCALE_ERR)], axis=1).astype(np.float32),
          np.concatenate([f.mask.reshape(n, -1), np.repeat(has[:, None], 2, axis=1)], axis=1).astype(np.float32))
    return {"sed": sed, "dmdt": dm, "lc": lc}, standardiser


def _rows(inputs: dict[str, Triple], idx: np.ndarray) -> dict[str, Triple]:
    return {k: tuple(a[idx] for a in v) for k, v in inputs.items()}  # type: ignore[misc]


def prepare_epochs(
    catalog: pd.DataFrame, epochs: pd.DataFrame, bands: BandSet, source: str = "detections"
) -> tuple[PackedEpochs, dict[str, Any]]:
    """Validate and clean ``epochs`` against ``catalog`` and pack them in the catalog's row order."""
    ids = catalog["obj_id"].to_numpy(np.int64)
    report = validate_epochs(epochs, bands, source=source, catalog_ids=ids)
    clean, funnel = clean_epochs(epochs, catalog_ids=ids)
    log.info("%s: %s", source, report.summary())
    packed = pack_epochs(clean, bands, obj_ids=ids)
    info = {"validation": report.to_dict(), "cleaning": {"n_input": funnel.n_input, "removed": funnel.removed},
            "n_stars_without_epochs": int((packed.counts.sum(axis=1) == 0).sum())}
    return packed, info


# --- the trained model --------------------------------------------------------------------------------

class MultiModalModel:
    """A trained mm-vae directory loaded for use: one run's VAEs, the input standardiser, the map and the
    reference latents that calibrate the anomaly score."""

    def __init__(self, vae: MultiModalVAE, card: dict[str, Any], run: int, model_dir: Path | None = None,
                 umap: Any = None, reference: dict[str, np.ndarray] | None = None) -> None:
        self.vae, self.card, self.run, self.model_dir = vae, card, run, model_dir
        self.umap = umap
        self.reference = reference or {}
        self.bands = _bands_from_card(card)
        std = card["inputs"]["sed_standardiser"]
        self.standardiser = Standardiser(np.array(std["centre"]), np.array(std["scale"]))
        self.period_config = PeriodConfig(**card["inputs"]["period_config"])
        self._tree = None

    @classmethod
    def load(cls, model_dir: str | Path, run: int | None = None) -> MultiModalModel:
        from core.card import read_card

        model_dir = Path(model_dir)
        read_card(model_dir)  # the checks every card passes; the mm-vae keys beyond them are read below
        card = json.loads((model_dir / CARD_NAME).read_text())
        missing = [k for k in ("inputs", "anomaly", "map") if k not in card]
        if missing:
            raise ModelError(f"{model_dir / CARD_NAME}: an mm-vae card needs {', '.join(missing)}")
        if card["model"].get("name") != MM_NAME:
            raise ModelError(f"{model_dir} holds a {card['model'].get('name')!r} model, not {MM_NAME!r}")
        run = int(card["chosen_run"]) if run is None else int(run)
        entry = next((r for r in card["runs"] if r["run"] == run), None)
        if entry is None:
            raise ModelError(f"{model_dir}: no run {run}; runs available: {[r['run'] for r in card['runs']]}")
        vae = MultiModalVAE.load(model_dir / entry["directory"])
        umap = None
        if (model_dir / MAP_NAME).exists() and int(card.get("map", {}).get("run", -1)) == run:
            import joblib

            umap = joblib.load(model_dir / MAP_NAME)
        ref = {}
        if (model_dir / REFERENCE_NAME).exists():
            with np.load(model_dir / REFERENCE_NAME) as npz:
                ref = {k: npz[k] for k in npz.files}
        return cls(vae, card, run, model_dir, umap, ref)

    @property
    def name(self) -> str:
        return MM_NAME

    def features(self, packed: PackedEpochs, progress: bool = False) -> LightCurveFeatures:
        return extract_features(packed, self.period_config, progress=progress)

    def inputs(self, catalog: pd.DataFrame, features: LightCurveFeatures) -> dict[str, Triple]:
        return build_inputs(catalog, features, self.bands, self.standardiser)[0]

    def encode(self, inputs: dict[str, Triple]) -> dict[str, Any]:
        return self.vae.encode(inputs)

    def map(self, latent: np.ndarray) -> np.ndarray:
        """2-D map coordinates of 15-D latents (the saved UMAP's transform); NaN without a map."""
        if self.umap is None:
            return np.full((len(latent), 2), np.nan)
        return np.asarray(self.umap.transform(latent), float)

    def knn_distance(self, latent: np.ndarray) -> np.ndarray:
        from scipy.spatial import cKDTree

        if "latent" not in self.reference:
            return np.full(len(latent), np.nan)
        if self._tree is None:
            self._tree = cKDTree(self.reference["latent"])
        d, _ = self._tree.query(latent, k=KNN_K + 1)
        return d[:, -1]


def _bands_from_card(card: dict[str, Any]) -> BandSet:
    from core.catalog import _bandset_from_meta

    return _bandset_from_meta(card["bands"])


def _rec_errors(inputs: dict[str, Triple], enc: dict[str, Any], floors: dict[str, float]) -> dict[str, np.ndarray]:
    out = {}
    for k in MODALITIES:
        x, e, m = inputs[k]
        var = e.astype(float) ** 2 + floors[k] ** 2
        chi = ((x - enc[k]["rec"]) ** 2 / var) * m
        with np.errstate(invalid="ignore", divide="ignore"):
            out[k] = np.where(m.sum(axis=1) > 0, chi.sum(axis=1) / np.maximum(m.sum(axis=1), 1), np.nan)
    return out


def _robust_z(values: np.ndarray, centre: float, scale: float) -> np.ndarray:
    return (np.log10(np.maximum(values, 1e-12)) - centre) / max(scale, 1e-6)


def _score_parts(model: MultiModalModel, inputs: dict[str, Triple], enc: dict[str, Any]) -> dict[str, np.ndarray]:
    floors = {k: model.vae.vaes[k].noise_floor for k in MODALITIES}
    rec = _rec_errors(inputs, enc, floors)
    z = np.concatenate([enc[k]["z"] for k in MODALITIES], axis=1)
    return {**{f"rec_{k}": rec[k] for k in MODALITIES}, "knn": model.knn_distance(z), "latent": z}


def _combine(parts: dict[str, np.ndarray], calib: dict[str, list[float]]) -> np.ndarray:
    zs = [_robust_z(parts[k], *calib[k]) for k in (*(f"rec_{m}" for m in MODALITIES), "knn") if k in calib]
    stack = np.vstack(zs)
    return np.where(np.isfinite(stack).any(axis=0), np.nanmax(np.where(np.isfinite(stack), stack, -np.inf), axis=0), np.nan)


# --- training -----------------------------------------------------------------------------------------

@dataclass
class MultiModalResult:
    """What :func:`train_multimodal` did: per-run records, the card, features and timings."""

    runs: list[RunRecord]
    card: dict[str, Any]
    out_dir: Path
    features: LightCurveFeatures
    seconds: dict[str, float] = field(default_factory=dict)

    def format_summary(self) -> str:
        rows = [f"run {r.run}: val {r.val_loss:.4f} test {r.test_loss:.4f} ({r.seconds:.0f} s)" for r in self.runs]
        return "\n".join([*rows, f"chosen run: {self.card['chosen_run']} (lowest validation loss)",
                          f"model directory: {self.out_dir}"])


def train_multimodal(
    catalog: pd.DataFrame,
    epochs: pd.DataFrame,
    out_dir: str | Path,
    bands: BandSet = PS1,
    *,
    runs: int = 1,
    seed: int = 41,
    config: VAEConfig | None = None,
    period_config: PeriodConfig | None = None,
    map_kind: str = "umap",
    map_sample: int = 30_000,
    overwrite: bool = False,
    progress: bool = False,
    source: str | None = None,
    detections_source: str | None = None,
) -> MultiModalResult:
    """Train ``runs`` mm-vae runs on ``catalog`` + ``epochs`` and write a model directory (see module doc)."""
    from core.training import _commit_out_dir, _prepare_out_dir, split_indices

    if map_kind not in ("umap", "none"):
        raise ConfigError(f"map must be 'umap' or 'none', got {map_kind!r}")
    if map_kind == "umap":
        try:
            import umap  # noqa: F401
        except ImportError:
            raise ConfigError("the 2-D map needs umap-learn (pip install umap-learn), or pass --map none") from None
    if runs < 1:
        raise ConfigError(f"runs must be at least 1, got {runs}")
    config = config or VAEConfig(seed=seed)
    period_config = period_config or PeriodConfig()
    validate_catalog(catalog, bands, source=str(source or "training catalog"), require_complete=True)
    if len(catalog) < MIN_ROWS:
        raise CatalogError(f"{source or 'training catalog'}: {len(catalog)} rows; need at least {MIN_ROWS}")
    secs: dict[str, float] = {}
    t = time.perf_counter()
    packed, ep_info = prepare_epochs(catalog, epochs, bands, str(detections_source or "detections"))
    feats = extract_features(packed, period_config, progress=progress)
    secs["features"] = time.perf_counter() - t
    inputs, std = build_inputs(catalog, feats, bands)
    out_dir = Path(out_dir)
    staging = _prepare_out_dir(out_dir, overwrite)
    records: list[RunRecord] = []
    models: list[MultiModalVAE] = []
    try:
        for r in range(1, runs + 1):
            split_seed = seed + r - 1
            tr, va, te = split_indices(len(catalog), split_seed)
            vae = MultiModalVAE({k: inputs[k][0].shape[1] for k in MODALITIES}, config, seed=split_seed)
            t0 = time.perf_counter()
            hist = vae.fit(_rows(inputs, tr), _rows(inputs, va), progress=progress)
            seconds = time.perf_counter() - t0
            rec = RunRecord(
                run=r, split_seed=split_seed, model_seed=split_seed, n_train=len(tr), n_val=len(va), n_test=len(te),
                epochs=int(sum(h.epochs for h in hist.values())), best_epoch=int(hist["lc"].best_epoch),
                stopped_early=all(h.stopped_early for h in hist.values()),
                train_loss=float(sum(h.loss[h.best_epoch] for h in hist.values())),
                val_loss=vae.val_loss(_rows(inputs, va)), test_loss=vae.val_loss(_rows(inputs, te)),
                seconds=seconds, directory=f"run_{r}",
            )
            vae.save(staging / rec.directory)
            records.append(rec)
            models.append(vae)
            log.info("mm-vae run %d: val %.4f, test %.4f, %.0f s", r, rec.val_loss, rec.test_loss, seconds)
        chosen = choose_run(records)
        best = models[chosen - 1]
        tr, _, _ = split_indices(len(catalog), seed + chosen - 1)
        t = time.perf_counter()
        train_in = _rows(inputs, tr)
        enc = best.encode(train_in)
        z = np.concatenate([enc[k]["z"] for k in MODALITIES], axis=1)
        rng = np.random.default_rng(seed)
        ref_rows = rng.permutation(len(z))[: min(len(z), 20_000)]
        np.savez_compressed(staging / REFERENCE_NAME, latent=z[ref_rows].astype(np.float32))
        map_info: dict[str, Any] = {"kind": map_kind, "run": chosen}
        if map_kind == "umap":
            import joblib
            import umap

            rows = rng.permutation(len(z))[: min(len(z), map_sample)]
            reducer = umap.UMAP(n_neighbors=15, min_dist=0.1, random_state=seed, n_jobs=1)
            reducer.fit(z[rows])
            joblib.dump(reducer, staging / MAP_NAME)
            map_info.update({"n_fit": int(len(rows)), "n_neighbors": 15, "min_dist": 0.1,
                             "umap_version": _version("umap-learn")})
        secs["map"] = time.perf_counter() - t
        card = ModelCard(
            model=ModelInfo(MM_NAME, "core.models.mm_vae.MultiModalVAE", best.architecture(), len(bands)),
            bands=bands_meta(bands),
            config=config.to_dict() | {"runs": runs, "seed": seed, "latent_dim_total": best.latent_dim},
            catalog=catalog_fingerprint(catalog, bands, source),
            runs=records, chosen_run=chosen, rotations={},
            split={"method": "core.training.split_indices (80/16/4, random_state = seed + run - 1)",
                   "seeds": [rec.split_seed for rec in records]},
            packages=package_versions(),
        ).to_dict()
        model = MultiModalModel(best, card | {"inputs": {"sed_standardiser": std.to_dict(),
                                                         "period_config": period_config.__dict__}}, chosen)
        model.reference = {"latent": z[ref_rows]}
        parts = _score_parts(model, train_in, enc)
        calib = {}
        for k in (*(f"rec_{m}" for m in MODALITIES), "knn"):
            v = np.log10(np.maximum(parts[k][np.isfinite(parts[k])], 1e-12))
            if v.size:
                med = float(np.median(v))
                calib[k] = [med, float(1.4826 * np.median(np.abs(v - med)))]
        score = _combine(parts, calib)
        card.update({
            "detections": {"source": detections_source, **ep_info},
            "inputs": {"sed_standardiser": std.to_dict(), "period_config": period_config.__dict__,
                       "modalities": {k: int(inputs[k][0].shape[1]) for k in MODALITIES}},
            "map": map_info,
            "anomaly": {"calibration": calib, "threshold": float(np.nanquantile(score, ANOMALY_QUANTILE)),
                        "quantile": ANOMALY_QUANTILE, "knn_k": KNN_K,
                        "definition": "max robust z of log10 reconstruction chi2 per modality and of log10 distance "
                                      "to the k-th nearest training latent"},
            "timings_s": secs | {"runs": [r.seconds for r in records]},
        })
        (staging / CARD_NAME).write_text(json.dumps(card, indent=2, default=json_default) + "\n")
        _commit_out_dir(staging, out_dir)
    except BaseException:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        raise
    return MultiModalResult(records, card, out_dir, feats, secs)


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


# --- scoring ------------------------------------------------------------------------------------------

def score_multimodal(
    catalog: pd.DataFrame,
    epochs: pd.DataFrame,
    model: MultiModalModel,
    *,
    progress: bool = False,
    source: str = "detections",
    features: LightCurveFeatures | None = None,
    only_with_epochs: bool = False,
) -> pd.DataFrame:
    """A copy of ``catalog`` with the multi-modal columns (see the module docstring); ``features`` already
    extracted from the same catalog and epochs (e.g. by training) are reused instead of recomputed.

    ``only_with_epochs`` scores only the stars that have detections (a large catalog with epochs for a
    subsample, such as the default sky): the others keep every row, with NaN latents, map and scores,
    no ``mm_has_*`` and no ``mm_anomaly`` (counted in the metadata as ``n_without_epochs``)."""
    if only_with_epochs:
        return _score_with_epochs_only(catalog, epochs, model, progress=progress, source=source, features=features)
    validate_catalog(catalog, model.bands, source="catalog", require_complete=True)
    t = time.perf_counter()
    if features is not None and np.array_equal(features.obj_ids, catalog["obj_id"].to_numpy(np.int64)):
        feats, ep_info = features, {"features": "reused"}
    else:
        packed, ep_info = prepare_epochs(catalog, epochs, model.bands, source)
        feats = model.features(packed, progress)
    t_feat = time.perf_counter() - t
    t = time.perf_counter()
    inputs = model.inputs(catalog, feats)
    enc = model.encode(inputs)
    parts = _score_parts(model, inputs, enc)
    score = _combine(parts, model.card["anomaly"]["calibration"])
    xy = model.map(parts["latent"])
    t_model = time.perf_counter() - t
    out = catalog.copy()
    for j, c in enumerate(latent_columns(parts["latent"].shape[1])):
        out[c] = parts["latent"][:, j].astype(np.float32)
    out["mm_map_x"], out["mm_map_y"] = xy[:, 0].astype(np.float32), xy[:, 1].astype(np.float32)
    for k in MODALITIES:
        out[f"mm_has_{k}"] = enc[k]["present"]
        out[f"mm_rec_{k}"] = parts[f"rec_{k}"].astype(np.float32)
    out["mm_knn_dist"] = parts["knn"].astype(np.float32)
    out["mm_score"] = score.astype(np.float32)
    out["mm_anomaly"] = score > model.card["anomaly"]["threshold"]
    tab = feats.table()
    for c in tab.columns:
        if c != "obj_id":
            out[c] = tab[c].to_numpy()
    meta = dict(catalog.attrs.get("sedscape", {}))
    meta["multimodal"] = {
        "model_dir": str(model.model_dir) if model.model_dir else None, "run": model.run,
        "threshold": model.card["anomaly"]["threshold"], "n_anomalies": int(out["mm_anomaly"].sum()),
        "epochs": ep_info, "seconds": {"features": t_feat, "model": t_model},
    }
    out.attrs["sedscape"] = meta
    log.info("scored %d stars with mm-vae: features %.1f s, model and map %.1f s", len(out), t_feat, t_model)
    return out


def stars_with_epochs(catalog: pd.DataFrame, epochs: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the catalog rows that have at least one detection in ``epochs``."""
    return np.isin(catalog["obj_id"].to_numpy(np.int64), np.unique(epochs["obj_id"].to_numpy(np.int64)))


def _score_with_epochs_only(catalog: pd.DataFrame, epochs: pd.DataFrame, model: MultiModalModel, *,
                            progress: bool, source: str, features: LightCurveFeatures | None) -> pd.DataFrame:
    has = stars_with_epochs(catalog, epochs)
    rows = np.flatnonzero(has)
    if not rows.size:
        raise CatalogError(f"{source}: no star of the catalog has detections; nothing to score")
    sub = catalog.iloc[rows].reset_index(drop=True)
    sub.attrs = catalog.attrs
    scored = score_multimodal(sub, epochs, model, progress=progress, source=source, features=features)
    new: dict[str, np.ndarray] = {}
    for col in scored.columns:
        if col in catalog.columns:
            continue
        values = scored[col].to_numpy()
        if values.dtype == bool:
            full = np.zeros(len(catalog), dtype=bool)
        elif np.issubdtype(values.dtype, np.integer):
            full = np.zeros(len(catalog), dtype=values.dtype)  # counts and codes: 0 without epochs
        else:
            full = np.full(len(catalog), np.nan, dtype=values.dtype if values.dtype.kind == "f" else float)
        full[rows] = values
        new[col] = full
    out = pd.concat([catalog, pd.DataFrame(new, index=catalog.index)], axis=1)
    meta = dict(scored.attrs.get("sedscape", {}))
    meta["multimodal"] = {**meta.get("multimodal", {}), "n_scored": int(rows.size),
                          "n_without_epochs": int(len(catalog) - rows.size)}
    out.attrs = {**catalog.attrs, "sedscape": meta}
    log.info("mm-vae: %d of %d stars have epochs and were scored; the other %d get NaN", rows.size, len(catalog),
             len(catalog) - rows.size)
    return out


# --- one star, for the dashboard ----------------------------------------------------------------------

def dmdt_image(epochs: pd.DataFrame, bands: BandSet = PS1) -> DmDt:
    """The dm-dt image of one star's epochs (arrays with a leading axis of length 1)."""
    return dmdt_images(pack_epochs(epochs, bands))


def folded_reconstruction(model: MultiModalModel, catalog_row: pd.DataFrame, epochs: pd.DataFrame) -> dict[str, Any]:
    """For one star: its period, its epochs folded at the model's folding period (``phase`` column), and the
    VAE's reconstruction of the folded light curve in magnitudes per band on the phase grid (NaN where
    the observed curve is masked); ``None`` for the reconstruction when the star has no period."""
    packed = pack_epochs(epochs, model.bands, obj_ids=catalog_row["obj_id"].to_numpy(np.int64))
    feats = model.features(packed)
    inputs = model.inputs(catalog_row.reset_index(drop=True), feats)
    enc = model.encode(inputs)
    period = float(feats.periods["period"][0])
    f = feats.folded
    n_b, n_p = f.mag.shape[1], f.mag.shape[2]
    folded = None
    if np.isfinite(period):
        folded = fold_star(epochs, period, t0=float(f.t0[0]))
        folded["phase"] = np.mod(folded["phase"] - float(f.shift[0]) + 0.5 / n_p, 1.0)
    rec = None
    if enc["lc"]["present"][0]:
        r = enc["lc"]["rec"][0][: n_b * n_p].reshape(n_b, n_p) * float(f.scale[0])
        obs = f.mag[0] * float(f.scale[0])
        means = {}
        for name in model.bands.names:
            sel = epochs["band"].astype(str).to_numpy() == name
            if sel.any():
                w = 1.0 / np.maximum(epochs["mag_err"].to_numpy(float)[sel], 1e-4) ** 2
                means[name] = float(np.sum(w * epochs["mag"].to_numpy(float)[sel]) / np.sum(w))
        rec = pd.DataFrame({
            "band": np.repeat(np.array(model.bands.names), n_p),
            "phase": np.tile(f.phase_grid, n_b),
            "mag_rec": (r + np.array([means.get(b, np.nan) for b in model.bands.names])[:, None]).ravel(),
            "mag_obs": np.where(f.mask[0], obs + np.array([means.get(b, np.nan) for b in model.bands.names])[:, None],
                                np.nan).ravel(),
        })
    return {"period": period, "fold_period": 2 * period if np.isfinite(period) else np.nan,
            "folded_epochs": folded, "reconstruction": rec}


def is_multimodal_dir(model_dir: str | Path) -> bool:
    """Whether ``model_dir`` holds an mm-vae model (by its card)."""
    path = Path(model_dir) / CARD_NAME
    if not path.exists():
        return False
    try:
        return json.loads(path.read_text()).get("model", {}).get("name") == MM_NAME
    except (OSError, json.JSONDecodeError):
        return False

