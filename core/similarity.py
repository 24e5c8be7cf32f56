"""Find more like these: a classifier head on a frozen embedding, and the nearest neighbours of a star.

Both work in one *feature space* per model (:class:`FeatureSpace`): the embedding columns a model wrote
into the scored catalog (``emb_00 ...`` for the default model, ``<key>__emb_00 ...`` for the others,
see issue 11's multi-model scheme), standardised; a catalog without an embedding falls back to the
residual fingerprint of :func:`core.ranking.fingerprint` (residuals, residuals over errors, colours and
brightness), so the same tools work on any scored catalog.

* :func:`find_more` trains a head from labelled stars (positives) against a second label or a random
  sample of the other stars (negatives), reports a cross-validated ROC-AUC, and gives every star a
  probability. The head is L2-regularised logistic regression (the frozen-encoder linear probe; a
  hidden layer can be asked for); at 3.1M stars the scoring is one matrix-vector product.
* :class:`NeighbourIndex` answers "stars like this one" exactly, by brute force over float32 features
  with precomputed norms: one matrix-vector product and a partial sort per query. Measured against
  scikit-learn's ``NearestNeighbors`` (brute, k-d tree and ball tree) in ``benchmarks/bench_similarity.py``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from core.bands import BandSet
from core.errors import CatalogError, ConfigError

log = logging.getLogger(__name__)

FINGERPRINT = "residual fingerprint"
_EMBEDDING = re.compile(r"^(?:(?P<key>[a-z][a-z0-9]*(?:_[a-z0-9]+)*)__)?emb_(?P<k>\d+)$")
MIN_POSITIVES = 3  # below this there is nothing to learn from
FEW_LABELS = 30  # below this many positives (or negatives) the result carries a warning
CV_FOLDS = 5
_CHUNK = 500_000


# ----- feature spaces -------------------------------------------------------------------------------
def embedding_sets(columns: Iterable[str]) -> dict[str, list[str]]:
    """Embedding columns per model key in a scored catalog's columns (``""``: the default model's bare
    ``emb_NN``), each list in dimension order; models without an embedding are absent."""
    found: dict[str, list[tuple[int, str]]] = {}
    for name in columns:
        m = _EMBEDDING.match(str(name))
        if m:
            found.setdefault(m.group("key") or "", []).append((int(m.group("k")), str(name)))
    return {key: [c for _, c in sorted(cols)] for key, cols in sorted(found.items())}


def space_name(key: str) -> str:
    """What a widget calls an embedding: ``embedding (masked_ae)``, ``embedding`` for the default model."""
    return f"embedding ({key})" if key else "embedding"


@dataclass
class FeatureSpace:
    """Standardised float32 features of every star of a catalog (row order), and what they are."""

    name: str
    columns: tuple[str, ...]
    values: np.ndarray  # (n_stars, n_features) float32, zero mean and unit variance per feature
    n_filled: int = 0  # non-finite values replaced by the feature's median (counted, never dropped)

    @property
    def n(self) -> int:
        return len(self.values)

    @classmethod
    def from_array(cls, name: str, columns: Sequence[str], raw: np.ndarray) -> FeatureSpace:
        raw = np.asarray(raw, dtype=np.float32)
        if raw.ndim != 2 or raw.shape[1] < 1:
            raise ConfigError(f"feature space {name!r} needs a 2-D array with at least one column, got {raw.shape}")
        bad_rows = np.flatnonzero(~np.isfinite(raw.sum(axis=1)))  # one pass; non-finite values are rare
        n_filled = 0
        if len(bad_rows):
            block = raw[bad_rows]
            bad = ~np.isfinite(block)
            n_filled = int(bad.sum())
            med = np.nan_to_num(np.nanmedian(np.where(np.isfinite(raw[::97]), raw[::97], np.nan), axis=0))
            raw = raw.copy()
            raw[bad_rows] = np.where(bad, med[None, :], block)
            log.warning("%s: %d non-finite feature value(s) replaced by the feature's median", name, n_filled)
        mean, std = _moments(raw)
        values = np.empty_like(raw)
        for start in range(0, len(raw), _CHUNK):  # in place, a chunk at a time: no float64 copy of it all
            np.subtract(raw[start:start + _CHUNK], mean, out=values[start:start + _CHUNK])
            values[start:start + _CHUNK] /= np.where(std > 0, std, 1.0).astype(np.float32)
        return cls(name, tuple(columns), values, n_filled)


def _moments(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard deviation (float32), accumulated in float64 a chunk at a time."""
    total = np.zeros(raw.shape[1])
    squares = np.zeros(raw.shape[1])
    for start in range(0, len(raw), _CHUNK):
        block = raw[start:start + _CHUNK].astype(np.float64)
        total += block.sum(axis=0)
        squares += np.einsum("ij,ij->j", block, block)
    n = max(len(raw), 1)
    mean = total / n
    return mean.astype(np.float32), np.sqrt(np.maximum(squares / n - mean**2, 0.0)).astype(np.float32)


def feature_space(df: pd.DataFrame, bands: BandSet, key: str | None = None) -> FeatureSpace:
    """The feature space of model ``key``'s embedding (None: the first embedding in the catalog), or the
    residual fingerprint when the catalog has no embedding (``key=FINGERPRINT`` asks for it)."""
    sets = embedding_sets(df.columns)
    if key != FINGERPRINT and sets:
        if key is None:
            key = next(iter(sets))
        if key not in sets:
            raise CatalogError(f"no embedding of model {key!r} in this catalog; embeddings: "
                               f"{', '.join(space_name(k) for k in sets)}")  # fmt: skip
        cols = sets[key]
        return FeatureSpace.from_array(space_name(key), cols, df[cols].to_numpy(np.float32))
    if key not in (None, FINGERPRINT):
        raise CatalogError(f"this catalog has no embedding columns (asked for model {key!r}); "
                           f"use the {FINGERPRINT}")  # fmt: skip
    return FeatureSpace.from_array(FINGERPRINT, ("fingerprint",), _fingerprint_all(df, bands))


def _fingerprint_all(df: pd.DataFrame, bands: BandSet, chunk: int = 1_000_000) -> np.ndarray:
    """:func:`core.ranking.fingerprint` of every star, a chunk at a time; non-finite values are kept (and
    filled by :meth:`FeatureSpace.from_array`)."""
    from core.ranking import fingerprint

    parts = [fingerprint(df.iloc[s:s + chunk], bands, check_finite=False) for s in range(0, len(df), chunk)]
    return np.concatenate(parts) if parts else np.zeros((0, 1), np.float32)


# ----- find more like these -------------------------------------------------------------------------
@dataclass(frozen=True)
class FindMoreConfig:
    """The head trained on the frozen features: ``hidden`` units (0: logistic regression), L2 strength
    ``c`` (inverse, as scikit-learn), random negatives per positive when no negative label is given."""

    hidden: int = 0
    # Stronger than scikit-learn's default C=1: more of the class at the top of the ranking. Measured with
    # benchmarks/bench_similarity.py (--c 0.1 vs --c 1) on issue 11's two-model default sky (masked-AE embedding),
    # share of the next 1,000 shown: wd_da 40% vs 34%, bhb 30% vs 23%, sdb 26% vs 26%, binary_wd_m 11% vs 13%,
    # qso 1% vs 0%; CV ROC-AUC lower by 0.000-0.002, except qso (0.970 vs 0.990). README, find more.
    c: float = 0.1
    negatives_per_positive: int = 5
    min_random_negatives: int = 2000
    max_random_negatives: int = 10_000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.hidden < 0:
            raise ConfigError(f"FindMoreConfig.hidden must be >= 0, got {self.hidden}")
        if not self.c > 0:
            raise ConfigError(f"FindMoreConfig.c must be > 0, got {self.c}")
        if self.negatives_per_positive < 1:
            raise ConfigError(f"FindMoreConfig.negatives_per_positive must be >= 1, got {self.negatives_per_positive}")
        if not 1 <= self.min_random_negatives <= self.max_random_negatives:
            raise ConfigError("FindMoreConfig.min_random_negatives must be between 1 and max_random_negatives, got "
                              f"{self.min_random_negatives} and {self.max_random_negatives}")  # fmt: skip


@dataclass
class FindMoreResult:
    """Every star's probability of being like the positives, and how far to trust it."""

    probability: np.ndarray  # float32 per star, catalog row order
    n_positive: int
    n_negative: int
    negatives: str  # "random sample" or the negative label
    cv_roc_auc: float | None  # None when there are too few labels to cross-validate
    warning: str
    space: str
    train_s: float
    score_s: float

    def top(self, n: int, exclude: np.ndarray | None = None) -> np.ndarray:
        """Row indices of the ``n`` most probable stars (``exclude``: rows to leave out, e.g. the positives)."""
        p = self.probability.astype(np.float64, copy=True)
        if exclude is not None and len(exclude):
            p[exclude] = -np.inf
        n = min(int(n), len(p))
        if n <= 0:
            return np.zeros(0, dtype=np.int64)
        top = np.argpartition(-p, n - 1)[:n]
        return top[np.argsort(-p[top], kind="stable")]


def find_more(
    space: FeatureSpace,
    positives: np.ndarray,
    negatives: np.ndarray | None = None,
    config: FindMoreConfig = FindMoreConfig(),
    *,
    negative_label: str = "",
) -> FindMoreResult:
    """Train the head on rows ``positives`` against rows ``negatives`` (None: a random sample of the other
    stars) and score every star.

    Stars that are both positive and negative count as positive. Raises :class:`ConfigError` with fewer
    than :data:`MIN_POSITIVES` positives or no negatives; warns (``result.warning``) below :data:`FEW_LABELS`.
    """
    t0 = time.perf_counter()
    pos = np.unique(np.asarray(positives, dtype=np.int64))
    if len(pos) < MIN_POSITIVES:
        raise ConfigError(f"find more like these needs at least {MIN_POSITIVES} labelled stars in this catalog, "
                          f"got {len(pos)}")  # fmt: skip
    rng = np.random.default_rng(config.seed)
    if negatives is None:
        n_neg = int(np.clip(config.negatives_per_positive * len(pos), config.min_random_negatives,
                            config.max_random_negatives))  # fmt: skip
        n_neg = min(n_neg, space.n - len(pos))
        neg = _sample_excluding(rng, space.n, pos, n_neg)
        how = "random sample"
    else:
        neg = np.setdiff1d(np.unique(np.asarray(negatives, dtype=np.int64)), pos)
        how = negative_label or "negative label"
    if len(neg) < 1:
        raise ConfigError("find more like these needs negatives: a second label with stars, or a catalog with "
                          "stars besides the positives")  # fmt: skip
    rows = np.concatenate([pos, neg])
    x = space.values[rows]
    y = np.r_[np.ones(len(pos), dtype=np.int8), np.zeros(len(neg), dtype=np.int8)]
    # One BLAS/OpenMP thread: small fits on threads that wait for each other on a busy server run 10x slower.
    with threadpool_limits(1):
        auc = _cross_validated_auc(x, y, config)
        model = _head(config).fit(x, y)
        train_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        prob = _predict(model, space.values)
        score_s = time.perf_counter() - t1
    warning = ""
    fewest = min(len(pos), len(neg))
    if auc is None:
        warning = (f"only {len(pos)} positive(s) and {len(neg)} negative(s): too few to cross-validate; "
                   "the probabilities are a rough guide")  # fmt: skip
    elif fewest < FEW_LABELS:
        warning = (f"few labels ({len(pos)} positive, {len(neg)} negative): the ROC-AUC and probabilities are "
                   f"uncertain; label at least {FEW_LABELS} of each")  # fmt: skip
    log.info("find more (%s, %s negatives): %d positives, %d negatives, CV ROC-AUC %s; trained in %.2f s, "
             "scored %d stars in %.2f s", space.name, how, len(pos), len(neg),
             "n/a" if auc is None else f"{auc:.3f}", train_s, space.n, score_s)  # fmt: skip
    return FindMoreResult(prob, len(pos), len(neg), how, auc, warning, space.name, train_s, score_s)


def _sample_excluding(rng: np.random.Generator, n: int, exclude: np.ndarray, k: int) -> np.ndarray:
    """``k`` distinct rows of ``range(n)`` not in ``exclude`` (sorted), without a permutation of all ``n``."""
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    picked = np.zeros(0, dtype=np.int64)
    while len(picked) < k:
        draw = rng.integers(0, n, size=2 * (k - len(picked)) + 16)
        draw = np.setdiff1d(draw, exclude)
        picked = np.union1d(picked, draw)
    return np.sort(rng.choice(picked, size=k, replace=False))


def _head(config: FindMoreConfig):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    if config.hidden:
        return MLPClassifier(hidden_layer_sizes=(config.hidden,), alpha=1.0 / config.c / 100, max_iter=300,
                             early_stopping=True, random_state=config.seed)  # fmt: skip
    # Newton-Cholesky: a handful of iterations for a few dozen features (lbfgs takes tens).
    return LogisticRegression(C=config.c, class_weight="balanced", solver="newton-cholesky", max_iter=100)


def _predict(model, values: np.ndarray, chunk: int = 1_000_000) -> np.ndarray:
    """P(positive) per star; logistic regression as one float32 matrix-vector product per chunk."""
    out = np.empty(len(values), dtype=np.float32)
    coef = getattr(model, "coef_", None)
    for start in range(0, len(values), chunk):
        x = values[start:start + chunk]
        if coef is not None:
            z = x @ coef[0].astype(np.float32) + np.float32(model.intercept_[0])
            out[start:start + chunk] = 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))
        else:
            out[start:start + chunk] = model.predict_proba(x)[:, 1]
    return out


def _cross_validated_auc(x: np.ndarray, y: np.ndarray, config: FindMoreConfig) -> float | None:
    """Out-of-fold ROC-AUC (stratified k-fold), or None with fewer than 2 stars of a class per fold."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = min(CV_FOLDS, int(np.bincount(y, minlength=2).min()))
    if folds < 2:
        return None
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=config.seed)
    method = "predict_proba" if config.hidden else "decision_function"
    pred = cross_val_predict(_head(config), x, y, cv=cv, method=method)
    return float(roc_auc_score(y, pred[:, 1] if pred.ndim == 2 else pred))


# ----- nearest neighbours ---------------------------------------------------------------------------
class NeighbourIndex:
    """Exact nearest neighbours in a feature space by brute force: one fused pass over the float32 features
    (distance and running top-k together, on every core), so no structure needs building.

    At 3.1M stars in 16 dimensions a query takes well under 0.2 s, where scikit-learn's brute force
    (distances, then a partial sort of all of them) takes several times longer and its trees take a minute
    to build (``benchmarks/bench_similarity.py``).
    """

    def __init__(self, space: FeatureSpace) -> None:
        t0 = time.perf_counter()
        self.space = space
        self._x = np.ascontiguousarray(space.values, dtype=np.float32)
        _top_k(self._x[:2], self._x[0], 0, 1, 1)  # compiled (or loaded from numba's cache) once, here
        self.build_s = time.perf_counter() - t0

    def query(self, row: int, k: int = 20) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the ``k`` stars nearest to star ``row`` (itself left out) and their distances, nearest first."""
        n = len(self._x)
        if not 0 <= int(row) < n:
            raise ConfigError(f"star row {row} is outside the catalog's {n:,} rows")
        k = min(int(k), n - 1)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        parts = max(1, min(numba.get_num_threads() * 2, n // max(k, 1)))
        d2, rows = _top_k(self._x, self._x[int(row)], int(row), k, parts)
        keep = rows >= 0
        d2, rows = d2[keep], rows[keep]
        best = np.lexsort((rows, d2))[:k]
        return rows[best].astype(np.int64), np.sqrt(np.maximum(d2[best], 0.0)).astype(np.float32)


@numba.njit(parallel=True, fastmath=True, cache=True, nogil=True)
def _top_k(x: np.ndarray, q: np.ndarray, skip: int, k: int, parts: int) -> tuple[np.ndarray, np.ndarray]:
    # Each part keeps its k nearest in a sorted list; the caller merges the parts' lists.
    n, d = x.shape
    best_d = np.full((parts, k), np.inf, dtype=np.float32)
    best_i = np.full((parts, k), -1, dtype=np.int64)
    step = (n + parts - 1) // parts
    for p in numba.prange(parts):
        bd = best_d[p]
        bi = best_i[p]
        worst = np.float32(np.inf)
        for i in range(p * step, min(n, (p + 1) * step)):
            s = np.float32(0.0)
            for j in range(d):
                t = x[i, j] - q[j]
                s += t * t
            if s < worst and i != skip:
                m = k - 1
                while m > 0 and bd[m - 1] > s:
                    bd[m] = bd[m - 1]
                    bi[m] = bi[m - 1]
                    m -= 1
                bd[m] = s
                bi[m] = i
                worst = bd[k - 1]
    return best_d.ravel(), best_i.ravel()


__all__ = [
    "FINGERPRINT",
    "FeatureSpace",
    "FindMoreResult",
    "FindMoreConfig",
    "NeighbourIndex",
    "embedding_sets",
    "feature_space",
    "find_more",
    "space_name",
]
