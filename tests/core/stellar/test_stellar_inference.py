"""Inference recovers parameters of stars made by the model itself, and stellar_chi2 flags impossible SEDs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.stellar.data import StellarDataConfig
from core.stellar.inference import InferenceConfig, best_fit_sed, infer_parameters, stellar_sed
from tests.core.stellar.conftest import BANDS


def _synthetic(model, theta, ebv, dm, rng, err=0.005):
    mags = best_fit_sed(model, *theta.T, ebv=ebv, dm=dm)
    df = pd.DataFrame(mags + rng.normal(0, err, mags.shape), columns=list(BANDS))
    for b in BANDS:
        df[f"{b}_err"] = err
    df["l"], df["b"] = 200.0, 70.0
    d = 10 ** (0.2 * dm + 1)
    df["parallax"] = 1000 / d - 0.017
    df["parallax_error"] = 0.02 * 1000 / d
    df["ebv"] = ebv
    df.attrs["sedscape"] = {}
    return df


@pytest.fixture(scope="module")
def known(toy_training):
    _, result = toy_training
    model = result.model
    rng = np.random.default_rng(5)
    n = 300
    theta = np.column_stack([rng.uniform(4700, 6600, n), rng.uniform(4.15, 4.65, n), rng.uniform(-0.8, 0.1, n)])
    ebv = rng.uniform(0.0, 0.3, n)
    dm = rng.uniform(7, 10, n)
    df = _synthetic(model, theta, ebv, dm, rng)
    cfg = InferenceConfig(galactic_prior=False, chunk_size=128)
    out = infer_parameters(df, model, result.grid, data_config=StellarDataConfig(mag_err_floor=0.01), config=cfg, progress=False)
    return model, theta, ebv, dm, df, out


def test_recovers_teff_ebv_and_distance(known):
    _, theta, ebv, dm, _, out = known
    assert np.median(np.abs(out["stellar_teff"] - theta[:, 0])) < 60
    assert np.median(np.abs(out["stellar_ebv"] - ebv)) < 0.02
    assert np.median(np.abs(out["stellar_dm"] - dm)) < 0.1
    # Errors are honest: most truths lie within 3 reported sigma.
    z = np.abs(out["stellar_teff"] - theta[:, 0]) / out["stellar_teff_err"]
    assert np.mean(z < 3) > 0.8
    assert (out["stellar_dist_pc"] > 0).all()
    # The training density at the inferred parameters: the model's own region of validity.
    assert out["stellar_density"].between(0, 1).all() and (out["stellar_density"] > 0).mean() > 0.9


def test_stellar_chi2_flags_an_impossible_sed(known, toy_training):
    model, theta, ebv, dm, df, out = known
    _, result = toy_training
    assert np.median(out["stellar_chi2"]) < 5
    spoiled = df.copy()
    spoiled["i"] -= 0.5  # a blend in one band: no star looks like this
    bad = infer_parameters(spoiled.iloc[:50], model, result.grid, data_config=StellarDataConfig(mag_err_floor=0.01),
                           config=InferenceConfig(galactic_prior=False, chunk_size=64), progress=False)
    assert np.median(bad["stellar_chi2"]) > 20 * max(np.median(out["stellar_chi2"]), 1)


def test_best_fit_sed_reproduces_the_photometry(known):
    model, _, _, _, df, out = known
    sed = stellar_sed(pd.concat([df, out], axis=1), model)
    assert np.median(np.abs(sed - df[list(BANDS)].to_numpy())) < 0.05


def test_missing_band_and_missing_parallax_still_work(known, toy_training):
    model, theta, ebv, dm, df, _ = known
    _, result = toy_training
    part = df.iloc[:60].copy()
    part.loc[part.index[:30], "z"] = np.nan
    part["parallax"] = np.nan
    out = infer_parameters(part, model, result.grid, data_config=StellarDataConfig(mag_err_floor=0.01),
                           config=InferenceConfig(galactic_prior=False, chunk_size=64), progress=False)
    assert out["stellar_ncolours"].iloc[:30].eq(3).all() and out["stellar_ncolours"].iloc[30:].eq(4).all()
    assert np.median(np.abs(out["stellar_teff"] - theta[:60, 0])) < 150


def test_galactic_prior_needs_coordinates(known, toy_training):
    from core.errors import CatalogError

    model, _, _, _, df, _ = known
    _, result = toy_training
    with pytest.raises(CatalogError, match="Galactic coordinates"):
        infer_parameters(df.drop(columns=["l", "b"]).iloc[:5], model, result.grid, progress=False)
