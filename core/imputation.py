"""Filling missing bands with a masked model, and measuring how well it does against two simple baselines.

:func:`impute_catalog` fills each missing magnitude with the model's prediction from the star's other bands
and its error column with the uncertainty calibrated on held-out stars (:mod:`core.calibration`);
``<band>_imputed`` says which values are predictions. :func:`evaluate_imputation` hides each band in turn
for complete stars and compares the model with scikit-learn's ``KNNImputer`` on colours and with the
nearest point of the PS1 stellar locus (Tonry et al. 2012), per band and per class.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from core import paths
from core.bands import BandSet
from core.catalog import SENTINELS
from core.errors import CatalogError, ModelError

log = logging.getLogger(__name__)

__all__ = [
    "IMPUTED_SUFFIX",
    "evaluate_imputation",
    "impute_catalog",
    "knn_colour_baseline",
    "locus_baseline",
    "missing_mask",
]

IMPUTED_SUFFIX = "_imputed"
LOCUS_FILE = "ps1_stellar_locus_tonry2012.txt"
LOCUS_BANDS = ("g", "r", "i", "z", "y")


def missing_mask(df: pd.DataFrame, bands: BandSet) -> np.ndarray:
    """(N, n_bands) bool: the magnitude or its error is NaN, infinite or an archive sentinel."""
    out = np.zeros((len(df), len(bands)), bool)
    for k, b in enumerate(bands.names):
        for col in (b, f"{b}_err"):
            v = pd.to_numeric(df[col], errors="coerce").to_numpy(np.float64, na_value=np.nan) if col in df else None
            if v is None:
                out[:, k] = True
            else:
                out[:, k] |= ~np.isfinite(v) | np.isin(v, SENTINELS)
    return out


def _imputer(model: Any) -> Any:
    """The model object behind a TrainedModel, checked to be able to impute (predict hidden bands)."""
    inner = model.model
    if not hasattr(inner, "predict_hidden"):
        raise ModelError(
            f"{model.name} cannot impute bands: train a masked model (`sedscape train --model masked-ae`)"
        )
    if getattr(inner, "calibration", None) is None:
        raise ModelError(f"{model.model_dir}: the model has no imputation calibration (retrain it with sedscape train)")
    return inner


def impute_catalog(df: pd.DataFrame, model: Any, *, chunk_size: int = 500_000) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A copy of ``df`` with missing bands filled by ``model`` (a masked-ae :class:`~core.scoring.TrainedModel`).

    A filled band gets the prediction as its magnitude, the calibrated 1-sigma uncertainty as its error and
    ``<band>_imputed = True``. Stars with fewer visible bands than the model was trained to work from keep
    their gaps (counted in the summary, never dropped). Returns the catalog and a summary (also stored in
    the metadata under ``imputation``).
    """
    from core.scoring import check_bands

    inner = _imputer(model)
    bands = model.bands
    check_bands(df, bands)
    miss = missing_mask(df, bands)
    n_vis = (~miss).sum(axis=1)
    min_visible = int(getattr(getattr(inner, "mask", None), "min_visible", 1))
    todo = np.flatnonzero(miss.any(axis=1) & (n_vis >= min_visible))
    too_few = int((miss.any(axis=1) & (n_vis < min_visible)).sum())
    out = df.copy()
    mags = out[list(bands.names)].to_numpy(np.float64, copy=True)
    errs = out[list(bands.err_columns)].to_numpy(np.float64, copy=True)
    filled = np.zeros_like(miss)
    for s in range(0, len(todo), chunk_size):
        rows = todo[s : s + chunk_size]
        x = model.features(mags[rows], errs[rows])
        pred = inner.predict_hidden(x, np.zeros((len(rows), len(bands)), bool))
        k = miss[rows].sum(axis=1)
        for j in range(len(bands)):
            sel = miss[rows, j]
            mags[rows[sel], j] = pred[sel, j]
            errs[rows[sel], j] = inner.calibration.sigma(j, pred[sel, j], k[sel])
            filled[rows[sel], j] = True
    for j, b in enumerate(bands.names):
        out[b] = mags[:, j].astype(out[b].dtype if out[b].dtype.kind == "f" else np.float64)
        out[f"{b}_err"] = errs[:, j].astype(out[f"{b}_err"].dtype if out[f"{b}_err"].dtype.kind == "f" else np.float64)
        out[f"{b}{IMPUTED_SUFFIX}"] = filled[:, j]
    summary = {
        "model": model.name,
        "model_dir": str(model.model_dir) if model.model_dir else None,
        "fingerprint": model.fingerprint,
        "n_rows": int(len(df)),
        "n_rows_with_missing": int(miss.any(axis=1).sum()),
        "n_rows_imputed": int(filled.any(axis=1).sum()),
        "n_rows_too_few_bands": too_few,
        "min_visible_bands": min_visible,
        "per_band": {b: int(filled[:, j].sum()) for j, b in enumerate(bands.names)},
        "uncertainty": "68th percentile of |observed - predicted| on held-out stars with bands hidden on purpose",
    }
    meta = dict(df.attrs.get("sedscape", {}))
    meta["imputation"] = summary
    out.attrs = {**df.attrs, "sedscape": meta}
    log.info("imputed %d bands in %d stars (%d stars have too few bands)", int(filled.sum()),
             summary["n_rows_imputed"], too_few)
    return out, summary


# -- baselines --------------------------------------------------------------------------------------
def knn_colour_baseline(ref_mags: np.ndarray, mags: np.ndarray, band: int, k: int = 10) -> np.ndarray:
    """Predict ``band`` of ``mags`` (N, n) with scikit-learn's ``KNNImputer`` on adjacent colours.

    The colours that involve the hidden band are unknown; the imputer fills them from the ``k`` reference
    stars (``ref_mags``, complete) nearest in the remaining colours, and the band follows from its
    neighbouring bands and the filled colours (mean of the two sides where both exist).
    """
    from sklearn.impute import KNNImputer

    n = mags.shape[1]
    colours = -np.diff(mags, axis=1)  # m_j - m_{j+1}
    test = colours.copy()
    if band > 0:
        test[:, band - 1] = np.nan
    if band < n - 1:
        test[:, band] = np.nan
    imp = KNNImputer(n_neighbors=k).fit(-np.diff(ref_mags, axis=1))
    filled = imp.transform(test)
    preds = []
    if band > 0:
        preds.append(mags[:, band - 1] - filled[:, band - 1])
    if band < n - 1:
        preds.append(mags[:, band + 1] + filled[:, band])
    return np.mean(preds, axis=0)


def _locus_offsets(step: float = 0.002) -> np.ndarray:
    """Magnitudes relative to r along the Tonry et al. (2012) PS1 stellar locus, (T, 5) for g r i z y."""
    path = paths.reference_dir() / LOCUS_FILE
    if not path.exists():
        raise CatalogError(f"{path}: the PS1 stellar locus table is missing (see data/README.md)")
    tab = np.loadtxt(path, skiprows=1)
    ri_grid = np.arange(tab[0, 0], tab[-1, 0] + step / 2, step)
    gr, iz, zy = (np.interp(ri_grid, tab[:, 0], tab[:, k]) for k in (1, 2, 3))
    i = -ri_grid
    z = i - iz
    return np.stack([gr, np.zeros_like(ri_grid), i, z, z - zy], axis=1)


def locus_baseline(mags: np.ndarray, hide: np.ndarray, chunk: int = 2000) -> np.ndarray:
    """Predict hidden PS1 grizy bands from the nearest point of the stellar locus.

    For each star the locus position and an overall magnitude offset are fitted to the visible bands
    (least squares over a fine grid along the locus); hidden bands are read off the fitted point.
    """
    offsets = _locus_offsets()  # (T, 5)
    mags = np.asarray(mags, np.float64)
    vis = ~np.asarray(hide, bool)
    out = np.empty_like(mags)
    for s in range(0, len(mags), chunk):
        m, v = mags[s : s + chunk], vis[s : s + chunk].astype(np.float64)
        resid = m[:, None, :] - offsets[None, :, :]  # (N, T, 5)
        resid = np.where(v[:, None, :] > 0, resid, 0.0)
        m0 = resid.sum(axis=2) / np.maximum(v.sum(axis=1), 1)[:, None]  # (N, T)
        cost = (np.square(resid - m0[:, :, None]) * v[:, None, :]).sum(axis=2)
        best = np.argmin(cost, axis=1)
        out[s : s + chunk] = m0[np.arange(len(m)), best][:, None] + offsets[best]
    return out


# -- evaluation ---------------------------------------------------------------------------------------
def _stats(abs_err: np.ndarray) -> tuple[float, float]:
    if not len(abs_err):
        return float("nan"), float("nan")
    return float(np.median(abs_err)), float(np.quantile(abs_err, 0.95))


def evaluate_imputation(
    df: pd.DataFrame,
    model: Any,
    *,
    per_class: int = 5000,
    class_column: str | None = "true_class",
    knn_reference: int = 10_000,
    knn_k: int = 10,
    seed: int = 0,
) -> dict[str, Any]:
    """Hide each band in turn for complete stars and compare model, KNN-on-colours and stellar-locus predictions.

    Stars are sampled per class (``class_column``, if present; at most ``per_class`` each) from the complete
    rows. The KNN reference stars never include the star being predicted (two folds). Returns
    ``{"rows": [...per band and class: n, median and 95th percentile |error| of each method, coverage of
    the quoted uncertainty], "settings": ...}``; class ``all`` pools the sampled stars.
    """
    inner = _imputer(model)
    bands = model.bands
    miss = missing_mask(df, bands)
    complete = np.flatnonzero(~miss.any(axis=1))
    if len(complete) < 20:
        raise CatalogError(f"only {len(complete)} complete stars; need at least 20 to evaluate imputation")
    rng = np.random.default_rng(seed)
    has_class = class_column is not None and class_column in df.columns
    classes = df[class_column].astype(str).to_numpy()[complete] if has_class else np.full(len(complete), "all")
    picked = []
    for cls in np.unique(classes):
        rows = complete[classes == cls]
        picked.append(rng.permutation(rows)[:per_class])
    sample = np.sort(np.concatenate(picked))
    mags = df[list(bands.names)].to_numpy(np.float64)
    errs = df[list(bands.err_columns)].to_numpy(np.float64)
    m_s = mags[sample]
    x = model.features(m_s, errs[sample])
    cls_s = df[class_column].astype(str).to_numpy()[sample] if has_class else np.full(len(sample), "all")
    n = len(bands)
    pred_model = np.empty_like(m_s)
    sigma = np.empty_like(m_s)
    for j in range(n):
        hide = np.zeros((len(sample), n), bool)
        hide[:, j] = True
        pred_model[:, j] = inner.predict_hidden(x, hide)[:, j]
        sigma[:, j] = inner.calibration.sigma(j, pred_model[:, j], 1)
    # KNN baseline: two folds so a star is never its own neighbour.
    pred_knn = np.empty_like(m_s)
    fold = rng.random(len(sample)) < 0.5
    in_sample = np.zeros(len(df), bool)
    for f in (True, False):
        rows = sample[fold == f]
        if not len(rows):
            continue
        in_sample[:] = False
        in_sample[rows] = True
        pool = complete[~in_sample[complete]]
        ref = mags[rng.permutation(pool)[:knn_reference]]
        for j in range(n):
            pred_knn[fold == f, j] = knn_colour_baseline(ref, mags[rows], j, k=knn_k)
    use_locus = tuple(bands.names) == LOCUS_BANDS
    pred_locus = np.full_like(m_s, np.nan)
    if use_locus:
        for j in range(n):
            hide = np.zeros((len(sample), n), bool)
            hide[:, j] = True
            pred_locus[:, j] = locus_baseline(m_s, hide)[:, j]
    rows_out = []
    for cls in ["all", *sorted(set(cls_s) - {"all"})]:
        sel = np.ones(len(sample), bool) if cls == "all" else cls_s == cls
        for j, b in enumerate(bands.names):
            e_m = np.abs(m_s[sel, j] - pred_model[sel, j])
            row = {"class": cls, "band": b, "n": int(sel.sum())}
            row["model_median"], row["model_p95"] = _stats(e_m)
            row["knn_median"], row["knn_p95"] = _stats(np.abs(m_s[sel, j] - pred_knn[sel, j]))
            row["locus_median"], row["locus_p95"] = _stats(np.abs(m_s[sel, j] - pred_locus[sel, j])) if use_locus else (
                float("nan"), float("nan"))
            row["coverage_1sigma"] = float(np.mean(e_m <= sigma[sel, j])) if sel.any() else float("nan")
            rows_out.append(row)
    return {
        "rows": rows_out,
        "settings": {
            "n_stars": int(len(sample)),
            "per_class": per_class,
            "class_column": class_column if has_class else None,
            "knn": f"sklearn KNNImputer(n_neighbors={knn_k}) on adjacent colours, {knn_reference} reference stars, 2 folds",
            "locus": f"nearest point of the Tonry et al. (2012) PS1 stellar locus ({LOCUS_FILE})" if use_locus
            else "not available for this band set",
            "error": "observed minus predicted magnitude, band hidden, all other bands visible",
            "seed": seed,
        },
    }


def imputation_table(result: dict[str, Any], classes: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The evaluation rows as a DataFrame (optionally only some classes), rounded for display."""
    table = pd.DataFrame(result["rows"])
    if classes is not None:
        table = table[table["class"].isin(classes)]
    return table.reset_index(drop=True)
