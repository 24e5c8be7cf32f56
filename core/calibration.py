"""Calibrated uncertainties for imputed magnitudes, measured on held-out stars whose bands were hidden on purpose.

For each band and each number ``k`` of hidden bands, the 68th percentile of ``|observed - predicted|`` is
tabulated against the predicted magnitude (quantile bins, interpolated, flat beyond the ends). Quoting that
as the 1-sigma uncertainty means about 68 % of similar held-out errors fall within it, which is what a user
of an imputed value expects; the error includes the hidden band's own photometric noise, because the
comparison is with an observed magnitude. No model code here: any predictor of hidden bands can be calibrated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import ModelError

COVERAGE = 0.6827  # the fraction of |error| a 1-sigma uncertainty should cover
MIN_PER_BIN = 400
MAX_BINS = 16

PredictHidden = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(features, hide mask (N, n) bool) -> predicted magnitudes (N, n)."""


@dataclass
class ImputationCalibration:
    """``tables[(k, band)] = (predicted-magnitude knots, 68 % |error| at the knots)``; ``max_k``: largest k."""

    n_bands: int
    tables: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    counts: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def max_k(self) -> int:
        return max((k for k, _ in self.tables), default=0)

    @classmethod
    def fit(
        cls, abs_err: np.ndarray, pred: np.ndarray, band: np.ndarray, k: np.ndarray, n_bands: int
    ) -> ImputationCalibration:
        """Tables from flat arrays of held-out cases: |error|, predicted mag, band index and hidden count."""
        abs_err, pred = np.asarray(abs_err, np.float64), np.asarray(pred, np.float64)
        band, k = np.asarray(band, int), np.asarray(k, int)
        ok = np.isfinite(abs_err) & np.isfinite(pred)
        out = cls(n_bands)
        for kk in np.unique(k[ok]):
            for b in range(n_bands):
                sel = ok & (k == kk) & (band == b)
                n = int(sel.sum())
                if n < 20:
                    continue
                order = np.argsort(pred[sel])
                e, p = abs_err[sel][order], pred[sel][order]
                n_bins = int(np.clip(n // MIN_PER_BIN, 1, MAX_BINS))
                parts = np.array_split(np.arange(n), n_bins)
                knots = np.array([np.median(p[i]) for i in parts])
                q = np.array([np.quantile(e[i], COVERAGE) for i in parts])
                out.tables[(int(kk), b)] = (knots, np.maximum(q, 1e-4))
                out.counts[(int(kk), b)] = n
        if not out.tables:
            raise ModelError("too few held-out stars to calibrate imputation uncertainties (need 20 per band)")
        return out

    @classmethod
    def fit_from(
        cls,
        predict_hidden: PredictHidden,
        x: np.ndarray,
        mags: np.ndarray,
        pres: np.ndarray,
        *,
        min_visible: int = 2,
        max_k: int = 3,
        seed: int = 0,
    ) -> ImputationCalibration:
        """Hide bands of held-out stars (each band in turn; then random pairs, triples, ... up to ``max_k``),
        predict them from the rest and tabulate the errors."""
        rng = np.random.default_rng(seed)
        n_stars, n = mags.shape
        n_pres = pres.sum(axis=1)
        errs, preds, bands, ks = [], [], [], []
        for k in range(1, max_k + 1):
            rows = np.flatnonzero(n_pres - k >= min_visible)
            if not rows.size:
                break
            if k == 1:
                patterns = [(rows[pres[rows, b]], np.eye(n, dtype=bool)[b]) for b in range(n)]
            else:
                scores = rng.random((rows.size, n)) + 2.0 * ~pres[rows]
                hide = np.argsort(np.argsort(scores, axis=1), axis=1) < k
                patterns = [(rows, hide)]
            for r, hide in patterns:
                hide = np.broadcast_to(hide, (len(r), n))
                pred = predict_hidden(x[r], hide)
                ri, bi = np.nonzero(hide)
                errs.append(np.abs(mags[r][ri, bi] - pred[ri, bi]))
                preds.append(pred[ri, bi])
                bands.append(bi)
                ks.append(np.full(len(bi), k))
        if not errs:
            raise ModelError(f"no held-out star has more than {min_visible} bands; cannot calibrate imputation")
        return cls.fit(np.concatenate(errs), np.concatenate(preds), np.concatenate(bands), np.concatenate(ks), n)

    def sigma(self, band: int, pred: np.ndarray, k: np.ndarray | int) -> np.ndarray:
        """1-sigma uncertainty (mag) of predictions ``pred`` of ``band`` with ``k`` bands hidden
        (k above the calibrated range uses the largest calibrated k)."""
        pred = np.atleast_1d(np.asarray(pred, np.float64))
        k = np.broadcast_to(np.clip(np.asarray(k, int), 1, max(self.max_k, 1)), pred.shape)
        out = np.full(pred.shape, np.nan)
        for kk in np.unique(k):
            key = next(((j, band) for j in range(int(kk), 0, -1) if (j, band) in self.tables), None)
            if key is None:
                raise ModelError(f"no imputation calibration for band index {band}")
            knots, q = self.tables[key]
            sel = k == kk
            out[sel] = np.interp(pred[sel], knots, q)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "coverage": COVERAGE,
            "n_bands": self.n_bands,
            "tables": [
                {"k": k, "band": b, "knots": knots.tolist(), "sigma": q.tolist(), "n": self.counts.get((k, b), 0)}
                for (k, b), (knots, q) in sorted(self.tables.items())
            ],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ImputationCalibration:
        out = cls(int(d["n_bands"]))
        for t in d["tables"]:
            key = (int(t["k"]), int(t["band"]))
            out.tables[key] = (np.asarray(t["knots"], np.float64), np.asarray(t["sigma"], np.float64))
            out.counts[key] = int(t.get("n", 0))
        return out
