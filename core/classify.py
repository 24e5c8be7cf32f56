"""Classifiers on a frozen encoder's embedding, the baselines they are compared with, and their metrics.

The method of the seed paper (003): pretrain an encoder without labels (the masked AE), freeze it, and train
only a small head on its embedding with the few labels there are. :func:`train_head` fits that head (softmax
over the label classes, class weights for rare classes) with the compiled engine of :mod:`core.models.fast`;
it is just as happy with any feature matrix, so the LSTM-AE's 2-D latent is compared through the same head.
:func:`train_xgboost` is the tabular baseline on magnitudes and colours. All three use one split
(:func:`split_labels`), and :func:`class_metrics` gives per class (one-vs-rest) ROC-AUC, PR-AUC (average
precision) and the precision among the top 1,000 stars.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.catalog import json_default
from core.errors import CatalogError, ConfigError, ModelError, OutputExistsError

log = logging.getLogger(__name__)

__all__ = [
    "ClassifierHead",
    "HeadConfig",
    "class_metrics",
    "embedding_features",
    "latent_features",
    "load_labels",
    "photometry_features",
    "probability_columns",
    "split_labels",
    "train_head",
    "train_xgboost",
]

TOP_K = 1000
HEAD_FILE = "head.npz"
CARD_FILE = "classifier.json"
XGB_FILE = "xgboost.json"


@dataclass(frozen=True)
class HeadConfig:
    """The small head: ``hidden`` elu units (0: logistic regression), Adam, early stopping on a validation
    share of the training stars; ``class_weight="balanced"`` weighs each class by ``n / (n_classes n_c)``."""

    hidden: int = 64
    max_epochs: int = 60
    patience: int = 6
    batch_size: int = 1024
    learning_rate: float = 3e-3
    class_weight: str = "balanced"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.hidden < 0:
            raise ConfigError(f"hidden must be >= 0, got {self.hidden}")
        if self.max_epochs < 1 or self.patience < 0 or self.batch_size < 1 or not self.learning_rate > 0:
            raise ConfigError(f"invalid head config: {self}")
        if self.class_weight not in ("balanced", "none"):
            raise ConfigError(f"class_weight must be 'balanced' or 'none', got {self.class_weight!r}")


# -- labels and splits ----------------------------------------------------------------------------------
def load_labels(df: pd.DataFrame, labels: str, merge: Mapping[str, Sequence[str]] | None = None) -> pd.Series:
    """Labels aligned to ``df``'s rows (missing -> NA): a column of ``df``, or a CSV file of ``obj_id,label``.

    ``merge`` maps a new class to old ones (``{"wd": ["wd_da", "wd_db"]}``). Empty strings count as unlabelled.
    """
    if labels in df.columns:
        out = df[labels].astype("string")
    elif Path(labels).suffix.lower() in (".csv", ".txt") or Path(labels).exists():
        path = Path(labels)
        if not path.exists():
            raise CatalogError(f"{path}: no such label file")
        table = pd.read_csv(path)
        if not {"obj_id", "label"} <= set(table.columns):
            raise CatalogError(f"{path}: a label CSV needs columns obj_id,label; it has {list(table.columns)}")
        if table["obj_id"].duplicated().any():
            raise CatalogError(f"{path}: obj_id {table.loc[table['obj_id'].duplicated(), 'obj_id'].iloc[0]} "
                               "is labelled twice")
        lookup = pd.Series(table["label"].astype("string").to_numpy(), index=table["obj_id"].to_numpy())
        out = pd.Series(lookup.reindex(df["obj_id"].to_numpy()).to_numpy(), index=df.index, dtype="string")
        unmatched = int((~table["obj_id"].isin(df["obj_id"])).sum())
        if unmatched:
            log.warning("%s: %d of %d labelled obj_id are not in the catalog", path, unmatched, len(table))
    else:
        raise CatalogError(
            f"labels {labels!r} are neither a column of the catalog nor a CSV file; columns include "
            f"{', '.join(c for c in df.columns if df[c].dtype == object or str(df[c].dtype) in ('category', 'string'))}"
        )
    out = out.where(out.str.strip() != "")
    for new, old in (merge or {}).items():
        out = out.where(~out.isin(list(old)), new)
    return out


def split_labels(
    labels: pd.Series, *, test_size: float = 0.2, val_size: float = 0.1, max_per_class: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row positions (train, validation, test) of labelled rows, stratified by class.

    The test set keeps the labelled sample's class proportions; ``max_per_class`` then caps each class in
    the training and validation sets (a random subset, so big classes do not swamp training time). Classes
    with fewer than 3 stars are left out of the test and validation sets.
    """
    from sklearn.model_selection import train_test_split

    pos = np.flatnonzero(labels.notna().to_numpy())
    if not len(pos):
        raise CatalogError("no labelled rows")
    y = labels.to_numpy()[pos].astype(str)
    counts = pd.Series(y).value_counts()
    rare = np.isin(y, counts[counts < 3].index)
    train, test = train_test_split(pos[~rare], test_size=test_size, random_state=seed, stratify=y[~rare])
    train = np.concatenate([train, pos[rare]])
    if max_per_class:
        rng = np.random.default_rng(seed)
        ytr = labels.to_numpy()[train].astype(str)
        train = np.concatenate([rng.permutation(train[ytr == c])[:max_per_class] for c in np.unique(ytr)])
    ytr = labels.to_numpy()[train].astype(str)
    counts = pd.Series(ytr).value_counts()
    ok = ~np.isin(ytr, counts[counts < 3].index)
    tr, val = train_test_split(train[ok], test_size=val_size, random_state=seed, stratify=ytr[ok])
    return np.sort(np.concatenate([tr, train[~ok]])), np.sort(val), np.sort(test)


# -- features ---------------------------------------------------------------------------------------------
def embedding_features(df: pd.DataFrame, encoder: Any) -> np.ndarray:
    """The frozen encoder's embedding of every row: the catalog's own embedding columns when they were
    written by this very model (same fingerprint), else computed now."""
    from core.scored_models import scored_models

    for m in scored_models(df):
        if m.embedding_dim and m.fingerprint == encoder.fingerprint and all(c in df for c in m.embedding_columns):
            return df[list(m.embedding_columns)].to_numpy(np.float32)
    if not getattr(encoder.model, "embedding_dim", 0):
        raise ModelError(f"{encoder.name} has no embedding; use a masked-ae model as the encoder")
    bands = encoder.bands
    x = encoder.features(df[list(bands.names)].to_numpy(np.float64), df[list(bands.err_columns)].to_numpy(np.float64))
    return encoder.model.embed(x)


def photometry_features(df: pd.DataFrame, bands: Any) -> np.ndarray:
    """Magnitudes and all adjacent colours (the XGBoost baseline's inputs)."""
    mags = df[list(bands.names)].to_numpy(np.float64)
    return np.concatenate([mags, -np.diff(mags, axis=1)], axis=1).astype(np.float32)


def latent_features(df: pd.DataFrame, key: str | None = None) -> np.ndarray:
    """A scored model's 2-D latent (default: the catalog's default model, e.g. the LSTM-AE)."""
    from core.scored_models import get_scored_model

    m = get_scored_model(df, key)
    return df[list(m.latent_columns)].to_numpy(np.float32)


# -- the head -----------------------------------------------------------------------------------------------
def _head_forward(p, x):
    if len(p) == 2:
        return x @ p[0] + p[1]
    import tensorflow as tf

    return tf.nn.elu(x @ p[0] + p[1]) @ p[2] + p[3]


@functools.lru_cache(maxsize=16)
def _head_loss(n_features: int):
    """Weighted softmax cross-entropy; a batch row is ``[features, one-hot label * class weight]``."""
    import tensorflow as tf

    def loss(p, xb, seed):
        logits = _head_forward(p, xb[:, :n_features])
        target = xb[:, n_features:]
        return -tf.reduce_sum(target * tf.nn.log_softmax(logits), axis=1)

    return loss


def _head_forward_graph(p, x):  # the engine's ``forward`` (unused by the custom loss, kept for symmetry)
    return _head_forward(p, x)


@dataclass
class ClassifierHead:
    """A trained head: standardisation of its features, weights, and class names (softmax order)."""

    classes: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    weights: list[np.ndarray]
    history: dict[str, Any]

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities (N, n_classes)."""
        import tensorflow as tf

        from core.models.fast import run_chunked

        x = ((np.asarray(features, np.float64) - self.mean) / self.std).astype(np.float32)
        fn = _proba_fn()
        return run_chunked(fn, [tf.constant(w) for w in self.weights], x)[0].astype(np.float64)

    def save(self, path: Path) -> None:
        arrays = {f"w{k}": w for k, w in enumerate(self.weights)}
        np.savez(path, mean=self.mean, std=self.std, classes=np.array(self.classes), **arrays)

    @classmethod
    def load(cls, path: Path) -> ClassifierHead:
        with np.load(path) as npz:
            n = sum(1 for k in npz.files if re.fullmatch(r"w\d+", k))
            return cls(tuple(str(c) for c in npz["classes"]), npz["mean"], npz["std"],
                       [npz[f"w{k}"] for k in range(n)], {})


@functools.lru_cache(maxsize=1)
def _proba_fn():
    import tensorflow as tf

    return tf.function(lambda p, x: tf.nn.softmax(_head_forward(p, x)), jit_compile=True)


def class_weights(y: np.ndarray, n_classes: int, mode: str = "balanced") -> np.ndarray:
    """Per-class weights: ``n / (n_classes * n_c)`` (scikit-learn's 'balanced') or ones."""
    if mode == "none":
        return np.ones(n_classes)
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    return np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 0.0)


def train_head(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    classes: Sequence[str],
    config: HeadConfig = HeadConfig(),
    *,
    progress: bool = False,
) -> ClassifierHead:
    """Fit a softmax head on features (encoder frozen: only the head learns); ``y`` are class indices."""
    from core.models.base import TrainConfig
    from core.models.fast import engine_for, train
    from core.models.initializers import he_normal

    x_train, x_val = np.asarray(x_train, np.float64), np.asarray(x_val, np.float64)
    n_classes, d = len(classes), x_train.shape[1]
    if n_classes < 2:
        raise ConfigError(f"need at least 2 classes to train a classifier, got {list(classes)}")
    mean, std = x_train.mean(axis=0), np.maximum(x_train.std(axis=0), 1e-6)
    w = class_weights(y_train, n_classes, config.class_weight)

    def batch(x, y):
        target = np.eye(n_classes)[y] * w[y][:, None]
        return np.concatenate([(x - mean) / std, target], axis=1).astype(np.float32)

    rng = np.random.default_rng(config.seed)
    if config.hidden:
        shapes = [(d, config.hidden), (config.hidden,), (config.hidden, n_classes), (n_classes,)]
        params = [he_normal(rng, shapes[0]), np.zeros(shapes[1], np.float32),
                  he_normal(rng, shapes[2]) * 0.1, np.zeros(shapes[3], np.float32)]
    else:
        shapes = [(d, n_classes), (n_classes,)]
        params = [np.zeros(shapes[0], np.float32), np.zeros(shapes[1], np.float32)]
    engine = engine_for(_head_forward_graph, tuple(shapes), config.batch_size, _head_loss(d))
    tc = TrainConfig(max_epochs=config.max_epochs, patience=config.patience, batch_size=config.batch_size,
                     learning_rate=config.learning_rate, seed=config.seed)
    best, hist = train(engine, params, batch(x_train, y_train), batch(x_val, y_val), tc,
                       shuffle_seed=(config.seed,), progress=progress, label="head")
    return ClassifierHead(tuple(classes), mean, std, best, hist.to_dict())


def train_xgboost(
    x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, n_classes: int,
    *, class_weight: str = "balanced", seed: int = 0, n_jobs: int | None = None,
) -> Any:
    """XGBoost (hist trees, softmax) with early stopping on the validation set and the head's class weights."""
    try:
        import xgboost as xgb
    except ImportError as exc:  # optional dependency
        raise ConfigError(
            "the XGBoost baseline needs the xgboost package: pip install 'sedscape[xgboost]'"
        ) from exc
    w = class_weights(y_train, n_classes, class_weight)
    model = xgb.XGBClassifier(
        n_estimators=400, learning_rate=0.15, max_depth=6, max_bin=128, tree_method="hist", objective="multi:softprob",
        num_class=n_classes, early_stopping_rounds=20, eval_metric="mlogloss", random_state=seed,
        n_jobs=n_jobs,
    )
    model.fit(x_train, y_train, sample_weight=w[y_train], eval_set=[(x_val, y_val)],
              sample_weight_eval_set=[w[y_val]], verbose=False)
    return model


# -- metrics ---------------------------------------------------------------------------------------------------
def precision_at_k(score: np.ndarray, positive: np.ndarray, k: int = TOP_K) -> float:
    """Share of true positives among the ``k`` highest scores (fewer stars: all of them)."""
    k = min(k, len(score))
    top = np.argsort(-score, kind="stable")[:k]
    return float(positive[top].mean()) if k else float("nan")


def class_metrics(proba: np.ndarray, y: np.ndarray, classes: Sequence[str], k: int = TOP_K) -> list[dict[str, Any]]:
    """One-vs-rest ROC-AUC, PR-AUC (average precision) and precision at top ``k`` per class."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    rows = []
    for c, name in enumerate(classes):
        pos = y == c
        n_pos = int(pos.sum())
        row = {"class": name, "n_test": int(len(y)), "n_positive": n_pos, "precision_ceiling": min(n_pos, k) / min(k, len(y))}
        if 0 < n_pos < len(y):
            row["roc_auc"] = float(roc_auc_score(pos, proba[:, c]))
            row["pr_auc"] = float(average_precision_score(pos, proba[:, c]))
            row[f"precision_top{k}"] = precision_at_k(proba[:, c], pos, k)
        else:
            row["roc_auc"] = row["pr_auc"] = row[f"precision_top{k}"] = float("nan")
        rows.append(row)
    return rows


def probability_columns(classes: Sequence[str]) -> list[str]:
    """``p_<class>`` column names (class text made column-safe: ``WD+M`` -> ``p_wd_m``)."""
    out = []
    for c in classes:
        safe = re.sub(r"[^a-z0-9]+", "_", str(c).lower()).strip("_") or "class"
        name = f"p_{safe}"
        while name in out:
            name += "_"
        out.append(name)
    return out


# -- the whole comparison -----------------------------------------------------------------------------------------
@dataclass
class ClassificationResult:
    """What :func:`train_classifier` produced: the head, the baseline, the card (with every method's metrics)."""

    head: ClassifierHead
    card: dict[str, Any]
    xgboost: Any = None

    def metrics_table(self) -> pd.DataFrame:
        """One row per (method, class): ROC-AUC, PR-AUC, precision at the top 1,000."""
        rows = [{"method": m, **r} for m, rs in self.card["metrics"].items() for r in rs]
        return pd.DataFrame(rows)


def train_classifier(
    df: pd.DataFrame,
    labels: pd.Series,
    encoder: Any,
    *,
    config: HeadConfig = HeadConfig(),
    baseline: str | None = None,
    latent_key: str | None = "default",
    max_per_class: int | None = None,
    test_size: float = 0.2,
    label_source: str = "",
    progress: bool = False,
) -> ClassificationResult:
    """Train the frozen-encoder head (and, on the same split, the baselines) and measure them on the test stars.

    ``baseline="xgboost"`` adds XGBoost on magnitudes and colours; ``latent_key`` (a scored model's key,
    ``"default"`` for the catalog's default model, None to skip) adds the same head on that model's 2-D latent
    when the catalog is scored.
    """
    import time

    from core.scored_models import scored_models

    if baseline not in (None, "xgboost"):
        raise ConfigError(f"unknown baseline {baseline!r}; known: xgboost")
    tr, va, te = split_labels(labels, test_size=test_size, max_per_class=max_per_class, seed=config.seed)
    classes = tuple(sorted(labels.dropna().astype(str).unique()))
    index = {c: k for k, c in enumerate(classes)}
    y = np.full(len(df), -1)
    lab = labels.to_numpy()
    has = labels.notna().to_numpy()
    y[has] = [index[str(v)] for v in lab[has]]
    card: dict[str, Any] = {
        "classes": list(classes),
        "probability_columns": probability_columns(classes),
        "labels": label_source,
        "class_counts": {c: int((y == k).sum()) for c, k in index.items()},
        "split": {"n_train": len(tr), "n_val": len(va), "n_test": len(te), "test_size": test_size,
                  "max_per_class": max_per_class, "seed": config.seed,
                  "method": "stratified sklearn train_test_split; test keeps the labelled proportions"},
        "encoder": {"name": encoder.name, "model_dir": str(encoder.model_dir) if encoder.model_dir else None,
                    "run": encoder.run, "fingerprint": encoder.fingerprint},
        "features": "frozen encoder embedding",
        "config": asdict(config),
        "metrics": {},
        "seconds": {},
    }
    emb = embedding_features(df, encoder)
    t0 = time.perf_counter()
    head = train_head(emb[tr], y[tr], emb[va], y[va], classes, config, progress=progress)
    card["seconds"]["frozen_head"] = time.perf_counter() - t0
    card["head_history"] = head.history
    card["metrics"]["frozen_head"] = class_metrics(head.predict_proba(emb[te]), y[te], classes)
    xgb_model = None
    if baseline == "xgboost":
        phot = photometry_features(df, encoder.bands)
        t0 = time.perf_counter()
        xgb_model = train_xgboost(phot[tr], y[tr], phot[va], y[va], len(classes), class_weight=config.class_weight,
                                  seed=config.seed)
        card["seconds"]["xgboost"] = time.perf_counter() - t0
        card["xgboost"] = {"features": "magnitudes and adjacent colours", "best_iteration": int(xgb_model.best_iteration)}
        card["metrics"]["xgboost"] = class_metrics(xgb_model.predict_proba(phot[te]), y[te], classes)
    models = scored_models(df)
    if latent_key is not None and models:
        key = models[0].key if latent_key == "default" else latent_key
        lat = latent_features(df, key)
        t0 = time.perf_counter()
        lat_head = train_head(lat[tr], y[tr], lat[va], y[va], classes, config, progress=progress)
        name = f"latent2d_{key}"
        card["seconds"][name] = time.perf_counter() - t0
        card["metrics"][name] = class_metrics(lat_head.predict_proba(lat[te]), y[te], classes)
    return ClassificationResult(head, card, xgb_model)


def apply_classifier(df: pd.DataFrame, head: ClassifierHead, card: dict[str, Any], encoder: Any) -> pd.DataFrame:
    """A copy of ``df`` with a ``p_<class>`` column per class from the frozen-encoder head."""
    if encoder.fingerprint != card["encoder"]["fingerprint"]:
        raise ModelError(
            f"the classifier was trained on the embedding of {card['encoder']['model_dir']} "
            f"({card['encoder']['fingerprint']}), not of {encoder.model_dir} ({encoder.fingerprint})"
        )
    proba = head.predict_proba(embedding_features(df, encoder))
    out = df.copy(deep=False)
    for k, col in enumerate(card["probability_columns"]):
        out[col] = proba[:, k].astype(np.float32)
    meta = dict(df.attrs.get("sedscape", {}))
    meta.setdefault("classifiers", []).append(
        {"columns": card["probability_columns"], "classes": card["classes"], "encoder": card["encoder"],
         "labels": card.get("labels")}
    )
    out.attrs = {**df.attrs, "sedscape": meta}
    return out


# -- saving a trained classifier ---------------------------------------------------------------------------------
def write_classifier(out_dir: Path, head: ClassifierHead, card: dict[str, Any], xgb_model: Any = None,
                     *, overwrite: bool = False) -> Path:
    """``head.npz`` + ``classifier.json`` (+ ``xgboost.json``) into ``out_dir``; refuses to overwrite unless asked."""
    out_dir = Path(out_dir)
    if (out_dir / CARD_FILE).exists() and not overwrite:
        raise OutputExistsError(f"{out_dir} already holds a classifier; pass --overwrite to replace it")
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / CARD_FILE).exists():
        raise OutputExistsError(f"{out_dir} exists and is not a classifier directory; choose another --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    head.save(out_dir / HEAD_FILE)
    if xgb_model is not None:
        xgb_model.save_model(out_dir / XGB_FILE)
    (out_dir / CARD_FILE).write_text(json.dumps(card, indent=2, default=json_default) + "\n")
    return out_dir


def read_classifier(path: str | Path) -> tuple[ClassifierHead, dict[str, Any]]:
    """The head and card of a classifier directory written by ``sedscape classify train``."""
    path = Path(path)
    if not (path / CARD_FILE).exists() or not (path / HEAD_FILE).exists():
        raise ModelError(f"{path}: not a classifier directory (need {CARD_FILE} and {HEAD_FILE})")
    card = json.loads((path / CARD_FILE).read_text())
    head = ClassifierHead.load(path / HEAD_FILE)
    head.history = card.get("head_history", {})
    return head, card


def config_dict(config: HeadConfig) -> dict[str, Any]:
    return asdict(config)
