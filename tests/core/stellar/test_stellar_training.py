"""Training on toy stars with a known law and a known extinction vector."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import CatalogError, ConfigError
from core.stellar import StellarTrainConfig, train_stellar_model
from core.stellar.training import chi2_schedule, split_rows
from tests.core.stellar.conftest import BANDS, R_TRUE, toy_absolute_mags


def test_learns_the_extinction_vector_and_the_stellar_law(toy_training):
    df, result = toy_training
    r = result.model.mean_extinction_vector()
    assert np.all(np.abs(r / R_TRUE - 1) < 0.05), r
    # The dust-free absolute magnitudes at the true features match the toy law.
    theta = df[["true_teff", "true_logg", "true_feh"]].to_numpy()[:500]
    pred = result.model.absolute_magnitudes(theta)
    truth = toy_absolute_mags(*theta.T)
    colours = lambda m: m[:, :-1] - m[:, 1:]  # noqa: E731
    assert np.median(np.abs(colours(pred) - colours(truth))) < 0.02
    assert np.median(np.abs(pred[:, 1] - truth[:, 1])) < 0.1
    # Reduced chi^2 near 1 for a model that describes the data (errors are right by construction).
    assert 0.3 < np.median(result.final.rchi2) < 2.0
    assert result.losses["val"] == pytest.approx(result.losses["train"], rel=0.3)


def test_fitted_reddening_tracks_the_truth(toy_training):
    df, result = toy_training
    err = result.final.ebv - df["true_ebv"].to_numpy()
    assert np.median(np.abs(err)) < 0.03
    assert np.all(result.final.ebv >= 0)


def test_chi2_schedule_is_the_seeds():
    s = chi2_schedule(StellarTrainConfig())
    assert s[0] is None and len(s) == 20
    assert s[1] == pytest.approx(100.0) and s[-6] == pytest.approx(5.0) and s[-1] == pytest.approx(5.0)
    assert all(a >= b for a, b in zip(s[1:-1], s[2:], strict=False))


def test_split_fractions():
    split = split_rows(10_000, (0.7, 0.2, 0.1), seed=1)
    assert np.bincount(split).tolist() == [7000, 2000, 1000]


def test_missing_labels_and_bad_config_are_named(tmp_path):
    from tests.core.stellar.conftest import toy_catalog

    df = toy_catalog(100, seed=1).drop(columns=["logg_err"])
    with pytest.raises(CatalogError, match="logg_err"):
        train_stellar_model(df, BANDS, progress=False)
    with pytest.raises(ConfigError, match="split"):
        StellarTrainConfig(split=(0.5, 0.2, 0.2))
    with pytest.raises(ConfigError, match="iterations"):
        StellarTrainConfig(iterations=0)
    no_ebv = toy_catalog(100, seed=1).drop(columns=["ebv", "ebv_err"])
    with pytest.raises(CatalogError, match="E\\(B-V\\)"):
        train_stellar_model(no_ebv, BANDS, config=StellarTrainConfig(iterations=1, epochs=1, first_epochs=1), progress=False)
