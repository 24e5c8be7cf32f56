"""Report numbers: latent predictability, anomaly overlap, the Praesepe check; the Galactic prior's shape."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.stellar import evaluation as ev
from core.stellar import prior


def test_latent_predictability_separates_ordered_from_random():
    rng = np.random.default_rng(0)
    n = 4000
    x, y = rng.normal(size=n), rng.normal(size=n)
    df = pd.DataFrame({"latent_x": x, "latent_y": y, "ordered": 5000 + 800 * x + 100 * y**2, "noise": rng.normal(size=n)})
    r2 = ev.latent_predictability(df, {"ordered": "ordered", "noise": "noise"})
    assert r2["ordered"] > 0.97
    assert r2["noise"] < 0.1


def test_anomaly_comparison_counts_and_recall():
    df = pd.DataFrame({"true_class": ["ms"] * 6 + ["qso"] * 2, "true_anomaly": [False] * 6 + [True] * 2})
    a = np.array([0, 0, 0, 0, 0, 1, 1, 1], bool)
    b = np.array([1, 0, 0, 0, 0, 0, 1, 0], bool)
    out = ev.anomaly_comparison(df, a, b, "ae")
    assert (out["stellar_chi2"], out["ae"], out["both"]) == (3, 2, 1)
    assert out["jaccard"] == pytest.approx(1 / 4)
    assert out["recall_stellar_chi2"] == 1.0 and out["recall_ae"] == 0.5 and out["precision_ae"] == 0.5
    qso = next(r for r in out["per_class"] if r["class"] == "qso")
    assert qso["stellar_chi2_percent"] == 100.0 and qso["ae_percent"] == 50.0


def test_cluster_check_finds_the_sequence_near_the_literature_distance():
    rng = np.random.default_rng(1)
    members = 6.35 + rng.normal(0, 0.1, 8)
    field = rng.uniform(7.5, 10.0, 10)
    dm = np.concatenate([members, field])
    n = len(dm)
    df = pd.DataFrame({"r": np.full(n, 16.0), "i": np.full(n, 15.0), "stellar_dm": dm, "stellar_dm_err": 0.2,
                       "stellar_ebv": 0.03, "stellar_chi2": 1.0})
    out = ev.cluster_check(df)
    assert out["n"] == n and out["group_n"] == 8
    assert out["group_dm_median"] == pytest.approx(6.35, abs=0.1)
    assert out["group_ebv_median"] == pytest.approx(0.03)


def test_galactic_prior_prefers_halo_metallicity_far_away_and_disc_metallicity_nearby():
    near, far = 8.0, 16.0  # distance moduli: 400 pc and 16 kpc at b = 70 deg
    lp = prior.log_density(np.array([120.0] * 4), np.array([70.0] * 4), np.array([near, near, far, far]),
                           np.array([-0.15, -1.5, -0.15, -1.5]))
    assert lp[0] > lp[1]  # the thin disk dominates nearby
    assert lp[3] > lp[2]  # the halo dominates far away
    table = prior.sky_table(np.array([120.0]), np.array([70.0]), np.array([-1.5, -0.15]), mu_step=0.5)
    k = int(np.argmin(np.abs(table.mu - near)))
    assert table.table[0, k, 1] == pytest.approx(prior.log_density(table.cells[0, 0], table.cells[0, 1], table.mu[k], -0.15), abs=1e-4)


def test_node_weights_follow_the_luminosity_function_and_share_by_density():
    from core.mock.populations import main_lf

    m_r = np.array([5.0, 5.0, 12.0])
    density = np.array([3.0, 1.0, 2.0])
    w = np.exp(prior.node_log_weights(m_r, np.zeros(3, int), density, bin_mag=0.25))
    assert w[0] / w[1] == pytest.approx(3.0)  # same [Fe/H] and M_r bin: shared in proportion to density
    grid, lf = main_lf()
    # A bin's total weight is the LF there, whatever its density or number of nodes.
    assert (w[0] + w[1]) / w[2] == pytest.approx(np.interp(5.0, grid, lf) / np.interp(12.0, grid, lf), rel=1e-6)
