"""Folding onto the phase grid, Stetson statistics and the lone-outlier rule."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.bands import PS1
from core.epochs import pack_epochs
from core.features.lightcurves import clip_outliers, fold, folded_grid, summary_features


def _star(period=0.5, n=40, amp=0.5, seed=0, kind="saw"):
    rng = np.random.default_rng(seed)
    rows = []
    for b in PS1.names:
        t = 55200 + np.sort(rng.uniform(0, 900, n))
        ph = (t / period) % 1
        m = 17 + amp * (ph if kind == "saw" else np.sin(2 * np.pi * ph)) + rng.normal(0, 0.01, n)
        rows += [(7, b, ti, mi, 0.01) for ti, mi in zip(t, m, strict=True)]
    return pd.DataFrame(rows, columns=["obj_id", "band", "mjd", "mag", "mag_err"])


def test_fold_phase():
    assert np.allclose(fold(np.array([10.0, 10.25, 11.0]), 0.5, t0=10.0), [0.0, 0.5, 0.0])


def test_folded_grid_puts_minimum_light_first_and_masks_missing_periods():
    packed = pack_epochs(pd.concat([_star(), _star(seed=1).assign(obj_id=8)]))
    fc = folded_grid(packed, np.array([0.25, np.nan]))  # folded at twice 0.25 d: one cycle of the 0.5 d sawtooth
    assert fc.mag.shape == (2, 5, 32) and fc.mask[0].all() and not fc.mask[1].any()
    g = fc.mag[0, 0]
    assert g[0] == g.max()  # phase 0 is the faintest point (minimum light)
    assert np.ptp(g) <= 1.0 + 1e-6 and np.ptp(g) > 0.6  # divided by the common range of the smoothed bands


def test_stetson_j_sees_correlated_pairs_and_k_the_shape():
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(55200, 56000, 20))
    t = np.concatenate([t, t + 0.01])  # pairs of visits 15 min apart
    slow = 0.2 * np.sin(2 * np.pi * t / 37.0)
    noise = pd.DataFrame({"obj_id": 1, "band": "r", "mjd": t, "mag": 16 + rng.normal(0, 0.02, t.size), "mag_err": 0.02})
    var = noise.assign(obj_id=2, mag=16 + slow + rng.normal(0, 0.02, t.size))
    f = summary_features(pack_epochs(pd.concat([noise, var])))
    assert abs(f["stetson_j"][0]) < 0.5 and f["stetson_j"][1] > 3
    assert 0.7 < f["stetson_k"][0] < 0.9 and f["stetson_k"][1] > 0.85  # a sinusoid has K = 0.90
    assert f["amplitude"][1] > 0.3 > f["amplitude"][0]


def test_only_a_lone_outlier_is_ignored():
    one = _star(kind="sin", amp=0.05)
    one.loc[5, "mag"] += 3.0
    two = one.assign(obj_id=9)
    two.loc[6, "mag"] += 3.0
    packed = pack_epochs(pd.concat([one, two]))
    clipped, n = clip_outliers(packed)
    assert n == 1 and (clipped.err[: packed.band_start[0, -1]] == 10).sum() == 1
