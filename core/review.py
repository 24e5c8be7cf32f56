"""The anomaly review loop: a ranking that learns from answers kept in the label database.

A :class:`ReviewLoop` joins an :class:`~core.ranking.AnomalyRanker` to a :class:`~core.labels.LabelStore`:
every "interesting" / "not interesting" answer is written as a label first (so it survives the process)
and then re-ranks the candidates. A loop built later, by another session or after a restart, starts
from the answers already in the store; :meth:`ReviewLoop.refresh` picks up answers written meanwhile
by other sessions or processes. All methods are thread-safe (one lock), so a server can share one loop
between sessions and re-rank on a worker thread while the UI stays responsive.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.bands import BandSet
from core.errors import ConfigError
from core.labels import INTERESTING, NOT_INTERESTING, LabelStore
from core.ranking import AnomalyRanker, RankingConfig

log = logging.getLogger(__name__)

ORIGIN_BY = "anomaly ranking"


class ReviewLoop:
    """Candidates of one scored catalog ranked by an AAD forest, steered by the answers in ``store``.

    Building fits the forest on every candidate (seconds for tens of thousands): do it off the UI thread.
    ``origin`` (catalog, model...) is recorded with every answer, with the ranking's own settings.
    """

    def __init__(
        self,
        df: pd.DataFrame,
        bands: BandSet,
        threshold: float,
        store: LabelStore,
        config: RankingConfig | None = None,
        *,
        extra_columns: Sequence[str] = (),
        origin: dict[str, Any] | None = None,
    ) -> None:
        t0 = time.perf_counter()
        self.store = store
        self.threshold = float(threshold)
        self.config = config = config or RankingConfig()
        self.extra_columns = tuple(extra_columns)
        self._origin = dict(origin or {})
        self._lock = threading.RLock()
        self._df, self._bands = df, bands
        answers = store.answers()
        self.ranker = AnomalyRanker.from_catalog(df, bands, threshold, config, extra_columns=self.extra_columns,
                                                 answers=answers)  # fmt: skip
        self._stored = answers
        self.revision = 0  # bumped on every re-ranking, so views know when to refresh
        self.build_s = time.perf_counter() - t0
        log.info("anomaly review: %d candidates above %.3f mag (plus the top %d by residual), %d answers from %s; "
                 "built in %.1f s", len(self.ranker.obj_ids), self.threshold, config.n_top, len(self.ranker.answers),
                 store.path, self.build_s)  # fmt: skip

    def _known(self, answers: dict[int, bool]) -> dict[int, bool]:
        return {k: v for k, v in answers.items() if k in self.ranker}

    def __contains__(self, obj_id: int) -> bool:
        return int(obj_id) in self.ranker

    # ----- answers ---------------------------------------------------------------------------------
    @property
    def answers(self) -> dict[int, bool]:
        """The answers the ranking has learned from (candidates only), obj_id -> interesting."""
        with self._lock:
            return dict(self.ranker.answers)

    @property
    def last_refit_s(self) -> float:
        return self.ranker.last_refit_s

    def answer(self, obj_id: int, interesting: bool, *, note: str = "", **origin: Any) -> float:
        """Store the answer for one candidate as a label, then re-rank (with any answers other sessions gave
        meanwhile); returns the re-ranking time in seconds."""
        obj_id = int(obj_id)
        with self._lock:
            if obj_id not in self.ranker:
                raise ConfigError(f"star {obj_id} is not one of the {len(self.ranker.obj_ids):,} ranked candidates")
            rank = self.rank_of(obj_id)
            record = {"by": ORIGIN_BY, "method": self.config.method, "threshold": self.threshold,
                      "candidates": len(self.ranker.obj_ids), "rank": rank, "answers_before": len(self.ranker.answers),
                      "features": ["residual fingerprint", *self.extra_columns], **self._origin, **origin}  # fmt: skip
            self.store.answer(obj_id, interesting, origin=record, note=note)
            stored = self.store.answers()
            self._stored = stored
            self.ranker.answer_many(self._known(stored) | {obj_id: bool(interesting)})
            self.revision += 1
            log.info("answer %s for star %d (rank %d): re-ranked %d candidates in %.2f s",
                     INTERESTING if interesting else NOT_INTERESTING, obj_id, rank, len(self.ranker.obj_ids),
                     self.ranker.last_refit_s)  # fmt: skip
            return self.ranker.last_refit_s

    def refresh(self) -> bool:
        """Learn the answers written to the store since the last look (other sessions or processes);
        True when the ranking changed. An answer taken back (removed from the store) rebuilds the forest."""
        with self._lock:
            stored = self.store.answers()
            if stored == self._stored:
                return False
            known = self._known(stored)
            self._stored = stored
            if set(self.ranker.answers) - set(known):  # the AAD weights cannot unlearn: start again
                self.ranker = AnomalyRanker.from_catalog(self._df, self._bands, self.threshold, self.config,
                                                         extra_columns=self.extra_columns, answers=known)  # fmt: skip
            else:
                changed = {k: v for k, v in known.items() if self.ranker.answers.get(k) != v}
                if not changed:
                    return False
                self.ranker.answer_many(changed)
            self.revision += 1
            return True

    # ----- the ranking -----------------------------------------------------------------------------
    def rank_of(self, obj_id: int) -> int:
        """1-based position of a candidate in the current ranking (answered stars included)."""
        with self._lock:
            order = self.ranker.order(include_answered=True)
            return int(np.flatnonzero(order == int(obj_id))[0]) + 1

    def next_candidate(self) -> int | None:
        with self._lock:
            return self.ranker.next_candidate()

    def top(self, n: int, *, include_answered: bool = False) -> pd.DataFrame:
        """The ``n`` best candidates by the learned ranking: ``rank`` (1 = most interesting), ``obj_id``,
        ``score`` (lower is more anomalous) and ``answer`` ("" when not answered yet)."""
        with self._lock:
            order = self.ranker.order(include_answered=include_answered)[: max(int(n), 0)]
            scores = self.ranker.scores_of(order)
            answers = self.ranker.answers
            return pd.DataFrame({
                "rank": np.arange(1, len(order) + 1),
                "obj_id": order.astype(np.int64),
                "score": np.asarray(scores, dtype=np.float64),
                "answer": [("" if int(o) not in answers else INTERESTING if answers[int(o)] else NOT_INTERESTING)
                           for o in order],
            })  # fmt: skip

    @property
    def n_candidates(self) -> int:
        return len(self.ranker.obj_ids)


__all__ = ["ORIGIN_BY", "ReviewLoop"]
