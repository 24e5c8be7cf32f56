"""Anomaly ranking that learns from answers: which poorly reconstructed stars are *interesting*.

Ranking stars by their residual alone puts photometric artefacts first (one wild band gives the largest
residual). Here the candidates (every star above the threshold plus the top stars by residual) are
described by their residual fingerprint (per-band residuals, residuals in units of their errors, the
colours and brightness, and any embedding columns a model wrote), an Active Anomaly Discovery forest
(coniferest's ``AADForest``; Das et al. 2017, as used by Fink) scores them, and every "interesting" /
"not interesting" answer re-weights the forest's leaves so that stars like the interesting ones rise.

``AADForest`` rather than ``PineForest``: on the default mock sky with the oracle of
:func:`simulate_feedback`, AAD reached 100 interesting stars in the top 100 after 20 answers while
PineForest (100 trees, 300 spare) stayed at 0 after 100 answers (``benchmarks/bench_feedback.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from core.bands import BandSet
from core.errors import CatalogError, ConfigError

log = logging.getLogger(__name__)

FORESTS: tuple[str, ...] = ("aad", "pine")
# The mock's truth classes the paper calls physically interesting, and the ones it calls artefacts.
INTERESTING_CLASSES: tuple[str, ...] = ("wd_da", "wd_db", "sdb", "binary_wd_m", "qso")
ARTEFACT_CLASSES: tuple[str, ...] = ("artefact",)


@dataclass(frozen=True)
class RankingConfig:
    """How many candidates to rank and how the forest is built (coniferest ``AADForest`` settings)."""

    n_top: int = 30_000  # the top stars by residual join every star above the threshold
    max_candidates: int = 60_000
    n_trees: int = 100
    n_subsamples: int = 256
    seed: int = 0
    method: str = "aad"  # "aad" (AADForest) or "pine" (PineForest, kept for comparison)

    def __post_init__(self) -> None:
        if self.method not in FORESTS:
            raise ConfigError(f"RankingConfig.method must be one of {', '.join(FORESTS)}, got {self.method!r}")
        for name in ("n_top", "max_candidates", "n_trees", "n_subsamples"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"RankingConfig.{name} must be at least 1, got {getattr(self, name)}")
        if self.max_candidates < self.n_top:
            raise ConfigError(
                f"RankingConfig.max_candidates ({self.max_candidates}) must be at least n_top ({self.n_top})"
            )

    def to_dict(self) -> dict:
        return asdict(self)


def candidate_rows(max_abs_res: np.ndarray, threshold: float, config: RankingConfig = RankingConfig()) -> np.ndarray:
    """Row indices to rank: stars above ``threshold`` plus the top ``n_top`` by residual, at most
    ``max_candidates`` (the largest residuals), ordered by decreasing residual."""
    res = np.asarray(max_abs_res, dtype=np.float64)
    order = np.argsort(-np.nan_to_num(res, nan=-np.inf), kind="stable")
    n = max(int(np.count_nonzero(res > threshold)), min(config.n_top, len(res)))
    return order[: min(n, config.max_candidates)]


def fingerprint(
    df: pd.DataFrame, bands: BandSet, extra_columns: Sequence[str] = (), *, check_finite: bool = True
) -> np.ndarray:
    """Features describing how and where a star's SED departs from the model: residuals (mag), residuals in
    units of their errors (arcsinh-compressed), colours, the second band's magnitude, and ``extra_columns``
    (e.g. a model's embedding). Rows with NaN or infinite features are refused unless ``check_finite=False``."""
    names = bands.names
    needed = [f"{b}_res" for b in names] + [f"{b}_err" for b in names] + list(names) + list(extra_columns)
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise CatalogError(f"cannot rank anomalies: the catalog lacks {', '.join(missing)} (score it first)")
    res = df[[f"{b}_res" for b in names]].to_numpy(np.float64)
    err = df[[f"{b}_err" for b in names]].to_numpy(np.float64)
    mags = df[list(names)].to_numpy(np.float64)
    parts = [res, np.arcsinh(res / np.maximum(err, 1e-3) / 3.0), mags[:, :-1] - mags[:, 1:], mags[:, 1:2]]
    if extra_columns:
        parts.append(df[list(extra_columns)].to_numpy(np.float64))
    out = np.hstack(parts).astype(np.float32)
    bad = ~np.isfinite(out).all(axis=1) if check_finite else np.zeros(0, dtype=bool)
    if bad.any():
        raise CatalogError(f"cannot rank anomalies: {int(bad.sum())} candidate(s) have NaN or infinite features")
    return out


@dataclass
class AnomalyRanker:
    """Candidates, their features and the answers so far; :meth:`order` is the current ranking.

    ``obj_ids[k]`` is candidate ``k``'s star. Answers are kept by obj_id so a ranker rebuilt from the label
    database (``core.labels``) picks up where the last one stopped.
    """

    obj_ids: np.ndarray
    features: np.ndarray
    config: RankingConfig = field(default_factory=RankingConfig)
    answers: dict[int, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.obj_ids = np.asarray(self.obj_ids, dtype=np.int64)
        if len(self.obj_ids) != len(self.features):
            raise ConfigError(f"{len(self.obj_ids)} obj_ids but {len(self.features)} feature rows")
        if len(self.obj_ids) < 2:
            raise CatalogError("need at least 2 candidate stars to rank")
        self._row = {int(o): k for k, o in enumerate(self.obj_ids)}
        # Answers about stars that are not candidates here (another threshold, another catalog) are kept
        # in the label database but cannot steer this forest.
        outside = [o for o in self.answers if int(o) not in self._row]
        if outside:
            log.info("%d stored answer(s) are about stars outside the %d candidates; not used", len(outside),
                     len(self.obj_ids))  # fmt: skip
        self.answers = {int(k): bool(v) for k, v in self.answers.items() if int(k) in self._row}
        self._forest = _forest(self.config, len(self.features))
        self._forest.fit(self.features)
        self._scores = self._forest.score_samples(self.features)
        self.last_refit_s = 0.0
        if self.answers:
            self._refit()

    @classmethod
    def from_catalog(
        cls,
        df: pd.DataFrame,
        bands: BandSet,
        threshold: float,
        config: RankingConfig = RankingConfig(),
        *,
        extra_columns: Sequence[str] = (),
        answers: dict[int, bool] | None = None,
    ) -> AnomalyRanker:
        """Rank the candidates of a scored catalog (``max_abs_res`` above ``threshold`` plus the top ``n_top``)."""
        if "max_abs_res" not in df.columns:
            raise CatalogError("cannot rank anomalies: not a scored catalog (no max_abs_res); run `sedscape score`")
        rows = candidate_rows(df["max_abs_res"].to_numpy(), threshold, config)
        picked = df.iloc[rows]
        return cls(picked["obj_id"].to_numpy(), fingerprint(picked, bands, extra_columns), config, dict(answers or {}))

    def __contains__(self, obj_id: int) -> bool:
        """Whether a star is one of the ranked candidates."""
        return int(obj_id) in self._row

    def scores_of(self, obj_ids: np.ndarray) -> np.ndarray:
        """The current scores of candidates ``obj_ids`` (lower is more interesting)."""
        return self._scores[np.fromiter((self._row[int(o)] for o in obj_ids), dtype=np.int64, count=len(obj_ids))]

    # ----- answers ---------------------------------------------------------------------------------
    def answer(self, obj_id: int, interesting: bool) -> None:
        """Record one answer and re-rank (a few tenths of a second for tens of thousands of candidates)."""
        if int(obj_id) not in self._row:
            raise ConfigError(f"star {obj_id} is not one of the {len(self.obj_ids):,} ranked candidates")
        self.answers[int(obj_id)] = bool(interesting)
        self._refit()

    def answer_many(self, answers: dict[int, bool]) -> None:
        """Record several answers (e.g. read back from the label database) with one re-rank."""
        known = {int(k): bool(v) for k, v in answers.items() if int(k) in self._row}
        self.answers.update(known)
        if known:
            self._refit()

    def _refit(self) -> None:
        from coniferest.label import Label

        t0 = time.perf_counter()
        rows = np.array([self._row[o] for o in self.answers], dtype=np.int64)
        labels = np.array([Label.ANOMALY if v else Label.REGULAR for v in self.answers.values()])
        self._forest.fit_known(self.features, self.features[rows], labels)
        self._scores = self._forest.score_samples(self.features)
        self.last_refit_s = time.perf_counter() - t0
        log.info("re-ranked %d candidates after %d answers in %.2f s", len(self.obj_ids), len(self.answers),
                 self.last_refit_s)  # fmt: skip

    # ----- ranking ---------------------------------------------------------------------------------
    @property
    def scores(self) -> np.ndarray:
        """Per-candidate anomaly score: lower is more anomalous (more interesting, given the answers)."""
        return self._scores

    def order(self, *, include_answered: bool = False) -> np.ndarray:
        """obj_ids from most to least interesting; answered stars left out unless asked for."""
        ranked = self.obj_ids[np.argsort(self._scores, kind="stable")]
        if include_answered or not self.answers:
            return ranked
        return ranked[~np.isin(ranked, np.fromiter(self.answers, dtype=np.int64))]

    def next_candidate(self) -> int | None:
        """The star to show next: the best-ranked one not answered yet (None when all are answered)."""
        ranked = self.order()
        return int(ranked[0]) if len(ranked) else None


def _forest(config: RankingConfig, n: int):
    common = {"n_trees": config.n_trees, "n_subsamples": min(config.n_subsamples, n), "random_seed": config.seed,
              "n_jobs": 1}  # fmt: skip
    if config.method == "pine":
        from coniferest.pineforest import PineForest

        return PineForest(n_spare_trees=3 * config.n_trees, **common)
    from coniferest.aadforest import AADForest

    return AADForest(**common)


@dataclass(frozen=True)
class FeedbackCurve:
    """What a simulated user saw: interesting stars among the next ``top`` shown after each number of answers."""

    answers: tuple[int, ...]
    interesting_in_top: tuple[int, ...]
    found_while_answering: tuple[int, ...]
    residual_ranking: int
    top: int
    n_candidates: int
    n_interesting_candidates: int
    median_refit_s: float

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "answers": self.answers,
                f"interesting in next {self.top}": self.interesting_in_top,
                "interesting among answered": self.found_while_answering,
                f"residual ranking, top {self.top}": self.residual_ranking,
            }
        )


def simulate_feedback(
    df: pd.DataFrame,
    bands: BandSet,
    threshold: float,
    is_interesting: Callable[[np.ndarray], np.ndarray],
    *,
    checkpoints: Sequence[int] = (0, 20, 50, 100),
    top: int = 100,
    config: RankingConfig = RankingConfig(),
    extra_columns: Sequence[str] = (),
) -> FeedbackCurve:
    """A user who answers truthfully: show the best-ranked unanswered star, answer, re-rank, repeat.

    ``is_interesting(obj_ids) -> bool array`` is the oracle (for the mock: :func:`mock_oracle`). At each
    checkpoint the next ``top`` stars the ranker would show are counted; the baseline is the top ``top``
    stars by residual alone.
    """
    ranker = AnomalyRanker.from_catalog(df, bands, threshold, config, extra_columns=extra_columns)
    truth = dict(zip(ranker.obj_ids.tolist(), np.asarray(is_interesting(ranker.obj_ids), bool).tolist(), strict=True))
    by_residual = ranker.obj_ids[:top]  # candidates come ordered by decreasing residual
    shown, found, refits = [], [], []
    n_found = 0
    for n in range(max(checkpoints) + 1):
        if n in checkpoints:
            nxt = ranker.order()[:top]
            shown.append(int(sum(truth[int(o)] for o in nxt)))
            found.append(n_found)
        if n == max(checkpoints):
            break
        star = ranker.next_candidate()
        if star is None:
            break
        n_found += truth[star]
        ranker.answer(star, truth[star])
        refits.append(ranker.last_refit_s)
    return FeedbackCurve(
        answers=tuple(c for c in checkpoints if c <= n),
        interesting_in_top=tuple(shown),
        found_while_answering=tuple(found),
        residual_ranking=int(sum(truth[int(o)] for o in by_residual)),
        top=top,
        n_candidates=len(ranker.obj_ids),
        n_interesting_candidates=int(sum(truth.values())),
        median_refit_s=float(np.median(refits)) if refits else 0.0,
    )


def mock_oracle(df: pd.DataFrame, truth_column: str = "true_class") -> Callable[[np.ndarray], np.ndarray]:
    """The simulated user of the mock sky: interesting = white dwarfs, hot subdwarfs, WD+M binaries and QSOs."""
    if truth_column not in df.columns:
        raise CatalogError(f"the oracle needs the mock's truth column {truth_column!r}")
    lookup = pd.Series(df[truth_column].astype(str).isin(INTERESTING_CLASSES).to_numpy(), index=df["obj_id"].to_numpy())

    def oracle(obj_ids: np.ndarray) -> np.ndarray:
        return lookup.reindex(np.asarray(obj_ids)).fillna(False).to_numpy(bool)

    return oracle


__all__ = [
    "ARTEFACT_CLASSES",
    "INTERESTING_CLASSES",
    "AnomalyRanker",
    "FeedbackCurve",
    "RankingConfig",
    "candidate_rows",
    "fingerprint",
    "mock_oracle",
    "simulate_feedback",
]
