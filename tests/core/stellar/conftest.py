"""Toy stars whose photometry follows a known (Teff, log g, [Fe/H]) -> magnitude law and a known R."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.bands import PS1

BANDS = PS1.names
R_TRUE = np.array([PS1.extinction_coeffs[b] for b in BANDS])


def toy_absolute_mags(teff: np.ndarray, logg: np.ndarray, feh: np.ndarray) -> np.ndarray:
    """A smooth, made-up stellar law: absolute g r i z y (N, 5)."""
    x = 5800.0 / teff - 1.0
    m_r = 4.6 + 9.0 * x + 2.0 * (logg - 4.45) + 0.8 * feh
    g_r = 0.42 + 1.6 * x + 0.08 * feh
    r_i = 0.14 + 0.8 * x + 0.6 * x**2
    i_z = 0.04 + 0.4 * x + 0.3 * x**2
    z_y = 0.02 + 0.2 * x + 0.02 * feh
    m = np.empty((len(teff), 5))
    m[:, 1] = m_r
    m[:, 0] = m_r + g_r
    m[:, 2] = m_r - r_i
    m[:, 3] = m[:, 2] - i_z
    m[:, 4] = m[:, 3] - z_y
    return m


def toy_catalog(n: int, seed: int, *, ebv_max: float = 0.5, label_noise: bool = True) -> pd.DataFrame:
    """Observed toy catalog with labels, parallaxes for half the stars and an unbiased E(B-V) estimate."""
    rng = np.random.default_rng(seed)
    teff = rng.uniform(4300, 7000, n)
    logg = rng.uniform(4.0, 4.8, n)
    feh = rng.uniform(-1.0, 0.3, n)
    ebv = rng.uniform(0, ebv_max, n)
    dist = 10 ** rng.uniform(2.3, 3.3, n)
    mu = 5 * np.log10(dist) - 5
    mags = toy_absolute_mags(teff, logg, feh) + mu[:, None] + ebv[:, None] * R_TRUE[None, :]
    err = np.full((n, 5), 0.01)
    mags_obs = mags + rng.normal(0, 1, mags.shape) * err
    df = pd.DataFrame({"obj_id": np.arange(n, dtype=np.int64) + 1})
    df["ra"] = rng.uniform(150, 160, n)
    df["dec"] = rng.uniform(20, 30, n)
    df["l"] = rng.uniform(200, 210, n)  # a small patch: a few cells of the prior table
    df["b"] = rng.uniform(64, 70, n)
    for k, b in enumerate(BANDS):
        df[b] = mags_obs[:, k]
        df[f"{b}_err"] = err[:, k]
    plx_err = np.full(n, 0.05)
    plx = 1000.0 / dist - 0.017 + rng.normal(0, 1, n) * plx_err
    has = rng.random(n) < 0.5
    df["parallax"] = np.where(has, plx, np.nan)
    df["parallax_error"] = np.where(has, plx_err, np.nan)
    df["ebv"] = np.clip(ebv * (1 + 0.05 * rng.normal(size=n)), 0, None)
    df["ebv_err"] = 0.05 * ebv
    sig = np.array([60.0, 0.08, 0.08]) if label_noise else np.array([1.0, 0.001, 0.001])
    for k, (name, truth) in enumerate((("teff", teff), ("logg", logg), ("feh", feh))):
        df[name] = truth + rng.normal(0, sig[k], n)
        df[f"{name}_err"] = sig[k]
        df[f"true_{name}"] = truth
    df["true_ebv"] = ebv
    df["true_dist_pc"] = dist
    df.attrs["sedscape"] = {}
    return df


@pytest.fixture(scope="session")
def toy_training():
    """A small stellar model trained on 2,000 toy stars with E(B-V) up to 1 (seconds; tuned to converge fast)."""
    from core.stellar import StellarModelConfig, StellarTrainConfig, train_stellar_model
    from core.stellar.data import StellarDataConfig

    df = toy_catalog(2000, seed=11, ebv_max=1.0)
    config = StellarTrainConfig(
        iterations=3, epochs=8, first_epochs=60, batch_size=64, learning_rate=0.01, chi2_hold=1
    )
    result = train_stellar_model(
        df,
        BANDS,
        model_config=StellarModelConfig(hidden=(16, 16), activation="tanh", l1=1e-3),
        data_config=StellarDataConfig(mag_err_floor=0.01),
        config=config,
        progress=False,
    )
    return df, result
