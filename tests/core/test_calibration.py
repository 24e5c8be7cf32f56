"""Imputation uncertainties: the quoted 1-sigma covers about 68% of held-out errors."""

from __future__ import annotations

import numpy as np
import pytest

from core.bands import PS1
from core.calibration import ImputationCalibration
from core.errors import ModelError
from core.scoring import TrainedModel
from tests._catalogs import make_catalog


def _synthetic(n, rng):
    """Errors whose spread grows with magnitude (as photometric noise does), for two bands and k = 1, 2."""
    pred = rng.uniform(14, 21, n)
    band = rng.integers(0, 2, n)
    k = rng.integers(1, 3, n)
    scale = 0.005 * np.exp((pred - 14) / 3) * (1 + band) * (1 + 0.5 * (k - 1))
    return np.abs(rng.normal(0, scale)), pred, band, k, scale


def test_calibration_covers_68_percent_of_new_errors_in_every_regime():
    rng = np.random.default_rng(1)
    e, p, b, k, _ = _synthetic(60_000, rng)
    cal = ImputationCalibration.fit(e, p, b, k, n_bands=2)
    e2, p2, b2, k2, scale = _synthetic(60_000, rng)
    sig = np.empty_like(e2)
    for band in (0, 1):
        s = b2 == band
        sig[s] = cal.sigma(band, p2[s], k2[s])
    assert np.mean(e2 <= sig) == pytest.approx(0.6827, abs=0.01)
    # ...also for faint and bright stars separately, and the quoted sigma tracks the true spread
    for sel in (p2 < 16, p2 > 19, (b2 == 1) & (k2 == 2)):
        assert np.mean(e2[sel] <= sig[sel]) == pytest.approx(0.6827, abs=0.03)
    np.testing.assert_allclose(np.median(sig / scale), 1.0, atol=0.1)  # 68% of |N(0, s)| is at s


def test_calibration_round_trips_and_clamps_k():
    rng = np.random.default_rng(2)
    e, p, b, k, _ = _synthetic(5000, rng)
    cal = ImputationCalibration.fit(e, p, b, k, n_bands=2)
    back = ImputationCalibration.from_dict(cal.to_dict())
    x = np.linspace(13, 22, 7)
    np.testing.assert_array_equal(back.sigma(1, x, 2), cal.sigma(1, x, 2))
    np.testing.assert_array_equal(cal.sigma(0, x, 5), cal.sigma(0, x, 2))  # beyond the calibrated k
    with pytest.raises(ModelError, match="too few"):
        ImputationCalibration.fit(e[:5], p[:5], b[:5], k[:5], n_bands=2)


def test_trained_model_uncertainty_covers_held_out_hidden_band_errors(masked_model_dir):
    """The model's calibration (fitted on its validation stars) holds on stars it never saw."""
    tm = TrainedModel.load(masked_model_dir)
    df = make_catalog(3000, seed=123)
    mags = df[list(PS1.names)].to_numpy()
    x = tm.features(mags, df[list(PS1.err_columns)].to_numpy())
    inside = []
    for j in range(5):
        hide = np.zeros((len(df), 5), bool)
        hide[:, j] = True
        pred = tm.model.predict_hidden(x, hide)[:, j]
        inside.append(np.abs(mags[:, j] - pred) <= tm.model.calibration.sigma(j, pred, 1))
    assert np.mean(inside) == pytest.approx(0.68, abs=0.06)
