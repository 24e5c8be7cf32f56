"""Multiband Lomb-Scargle: agreement with astropy, known sinusoids, false-alarm calibration, pre-selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.bands import PS1
from core.epochs import pack_epochs
from core.features.periodogram import PeriodConfig, fap_baluev, multiband_power, period_search


def _sinusoids(periods, amp=0.3, n_per_band=14, noise=0.02, seed=0, offsets=(0.0, -0.4, -0.6, -0.7, -0.75),
               pair_gap=None):
    rng = np.random.default_rng(seed)
    rows = []
    for k, p in enumerate(periods):
        phase0 = rng.uniform(0, 1)
        for b, name in enumerate(PS1.names):
            t = 55200 + np.sort(rng.uniform(0, 1200, n_per_band))
            if pair_gap:  # PS1's pairs of visits
                t = np.sort(np.concatenate([t, t + pair_gap]))
            a = amp * (1.0 - 0.1 * b) if p else 0.0
            m = 18 + offsets[b] + (a * np.sin(2 * np.pi * (t / p + phase0)) if p else 0.0) + rng.normal(0, noise, t.size)
            rows += [(k, name, ti, mi, noise) for ti, mi in zip(t, m, strict=True)]
    return pd.DataFrame(rows, columns=["obj_id", "band", "mjd", "mag", "mag_err"])


def test_power_matches_astropy_multiband():
    from astropy.timeseries import LombScargleMultiband

    df = _sinusoids([0.61], seed=3)
    freqs = np.linspace(0.2, 4.0, 800)
    ours = multiband_power(pack_epochs(df), 0, freqs)
    ref = LombScargleMultiband(df["mjd"], df["mag"], df["band"], df["mag_err"], nterms_base=1,
                               nterms_band=0).power(freqs)
    assert np.abs(ours - ref).max() < 1e-4  # astropy regularises its band offsets by 1e-6 of the trace


def test_known_sinusoids_are_recovered_with_small_false_alarm():
    periods = [0.37, 0.55, 2.3, 17.0, 0.71]
    res = period_search(pack_epochs(_sinusoids(periods, seed=5)), PeriodConfig(min_chi2=2.0))
    assert np.allclose(res["period"], periods, rtol=2e-3)
    assert (res["fap"] < 1e-6).all() and (res["power"] > 0.8).all()


def test_short_periods_are_searched_only_when_pairs_disagree():
    df = _sinusoids([0.05, 0.6], seed=7, n_per_band=8, pair_gap=20 / 1440)
    res = period_search(pack_epochs(df), PeriodConfig())
    assert res["searched"].tolist() == [2, 1]  # only the star whose pairs disagree gets the high range
    assert np.allclose(res["period"], [0.05, 0.6], rtol=2e-3)


def test_constant_stars_are_not_searched_and_fap_is_calibrated_on_noise():
    df = _sinusoids([0.0] * 300, seed=11)
    packed = pack_epochs(df)
    assert (period_search(packed)["searched"] == 0).all()
    res = period_search(packed, PeriodConfig(min_chi2=0.0, f_max_low=3.0))
    assert (res["searched"] == 1).all()
    frac = np.mean(res["fap"] < 0.05)
    assert frac <= 0.08  # Baluev's bound is conservative: at most ~5% of noise-only stars below 0.05


def test_fap_reduces_to_astropy_single_band():
    from astropy.timeseries import LombScargle

    rng = np.random.default_rng(4)
    t = np.sort(rng.uniform(0, 300, 60))
    y = 0.1 * np.sin(2 * np.pi * t / 3.3) + rng.normal(0, 0.1, 60)
    ls = LombScargle(t, y, 0.1)
    power = ls.power(np.array([1 / 3.3]))[0]
    ref = ls.false_alarm_probability(power, method="baluev", maximum_frequency=2.0)
    ours = fap_baluev(power, np.array([60]), np.array([1]), 2.0, np.var(t))
    assert ours[0] == pytest.approx(ref, rel=1e-4)
