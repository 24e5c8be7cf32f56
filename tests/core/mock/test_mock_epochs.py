"""Mock epochs: PS1-like cadence, the variables' light curves (periods and amplitudes recovered), truth labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.epochs import clean_epochs, pack_epochs, validate_epochs
from core.features.periodogram import period_search
from core.mock import variables as V
from core.mock.epochs import EpochConfig, cadence, damped_random_walk, make_epochs, variability
from core.mock.populations import CLASS_CODE


@pytest.fixture(scope="module")
def sky_epochs(mock_sky):
    return mock_sky, make_epochs(mock_sky, seed=3, config=EpochConfig(n_constant=500))


def test_variability_truth_follows_the_mock_classes(mock_sky):
    vc = mock_sky["true_var_class"].astype(str)
    tc = mock_sky["true_class"].astype(str)
    assert set(tc[vc.isin(["rrab", "rrc"])]) == {"rrlyrae"} and set(tc[vc == "qso"]) == {"qso"}
    assert set(tc[vc.isin(["ea", "ew"])]) == {"binary_ms_ms"} and set(tc[vc == "sxphe"]) <= {"bss"}
    periodic = vc.isin(V.PERIODIC)
    assert mock_sky.loc[periodic, "true_period"].notna().all() and mock_sky.loc[~periodic, "true_period"].isna().all()
    # Bailey diagram: longer-period RRab have smaller amplitudes
    assert V.bailey_amplitude_v(np.array([0.5]))[0] > V.bailey_amplitude_v(np.array([0.65]))[0] > 0.3


def test_cadence_pairs_seasons_and_counts():
    rng = np.random.default_rng(0)
    counts = np.tile([12, 12, 14, 12, 10], (50, 1))
    ra = rng.uniform(150, 250, 50)
    cfg = EpochConfig()
    star, band, mjd = cadence(rng, ra, counts, cfg)
    assert np.bincount(star * 5 + band).tolist() == counts.ravel().tolist()
    assert mjd.min() >= cfg.start_mjd - 0.5 and mjd.max() <= cfg.end_mjd + 0.5
    first = np.arange(0, len(mjd), 2)
    gap = (mjd[first + 1] - mjd[first]) * 1440
    assert ((gap >= 10) & (gap <= 40)).all()  # pairs of visits within an hour
    # every night is within the season around the star's opposition (seasonal gaps)
    opp = 55275.7 + ((ra[star] + 180) % 360) / 360 * 365.25
    off = (mjd - opp + 182.6) % 365.25 - 182.6
    assert np.abs(off).max() < cfg.season_half_width_d + 1
    assert np.mean(np.abs(off) < 60) < 0.7  # spread through the season, not bunched at opposition


def test_templates_have_unit_range_and_maximum_light_at_phase_zero():
    ph = np.linspace(0, 1, 2001)
    for name in ("rrab", "rrc", "sxphe"):
        curve = V.pulsation(name, ph)
        assert np.ptp(curve) == pytest.approx(1.0, abs=1e-3) and curve.argmin() in (0, 2000)
    rise = V.pulsation("rrab", ph)
    # an RRab brightens fast and fades slowly: minimum light (max mag) comes late in the cycle
    assert ph[np.argmax(rise)] > 0.6


def test_generated_amplitudes_and_eclipse_depths():
    rng = np.random.default_rng(1)
    n = 4
    cls = np.array([V.VC["rrab"], V.VC["ea"], V.VC["ew"], V.VC["flare"]], np.int8)
    period = np.array([0.55, 3.0, 0.3, np.nan])
    amp = np.array([0.9, 0.5, 0.4, 2.0])
    star = np.repeat(np.arange(n), 4000)
    band = np.zeros(star.size, np.int8)
    band[1::2] = 4  # g and y
    mjd = 55200 + np.tile(np.sort(rng.uniform(0, 200, 4000)), n)
    dm = variability(rng, cls, period, amp, np.full(n, np.nan), star, band, mjd,
                     EpochConfig(flare_epoch_rate=0.05))
    g0, y0 = (star == 0) & (band == 0), (star == 0) & (band == 4)
    assert np.ptp(dm[g0]) == pytest.approx(0.9, rel=0.03) and np.ptp(dm[y0]) == pytest.approx(0.9 * 0.45, rel=0.05)
    assert dm[(star == 1) & (band == 0)].max() == pytest.approx(0.5, rel=0.03)  # primary eclipse depth
    assert np.ptp(dm[(star == 2) & (band == 0)]) == pytest.approx(0.4, rel=0.05)
    fg, fy = dm[(star == 3) & (band == 0)], dm[(star == 3) & (band == 4)]
    assert fg.min() < -0.2 and fy.min() > fg.min() / 3  # flares: big in g, small in y; never fainter
    assert fg.max() <= 0 and fy.max() <= 0


def test_qso_damped_random_walk_reaches_its_structure_function():
    rng = np.random.default_rng(2)
    n = 400
    t = np.sort(rng.uniform(0, 3000, 60))
    star = np.repeat(np.arange(n), t.size)
    x = damped_random_walk(rng, star, np.tile(t, n), np.full(n, 50.0), np.full(n, 0.2 / np.sqrt(2)))
    x = x.reshape(n, -1)
    far = np.abs(t[:, None] - t[None, :]) > 500
    near = np.abs(t[:, None] - t[None, :]) < 2
    d2 = (x[:, :, None] - x[:, None, :]) ** 2
    assert np.sqrt(d2[:, far].mean()) == pytest.approx(0.2, rel=0.1)  # SF(dt >> tau) -> SF_inf
    assert np.sqrt(d2[:, near].mean()) < 0.1
    sf, tau, z = V.qso_drw_parameters(rng, np.array([17.0, 21.0]))
    assert (sf[:, 0] > sf[:, 4]).all()  # bluer rest wavelengths vary more (MacLeod et al. 2010)
    assert sf[1, 0] > sf[0, 0] or z[1] != z[0]


def test_mock_epochs_follow_the_contract_and_periods_come_back(sky_epochs):
    sky, det = sky_epochs
    rep = validate_epochs(det, catalog_ids=sky["obj_id"].to_numpy())
    assert rep.n_not_in_catalog == 0
    vc = sky["true_var_class"].astype(str)
    n_var = int((vc != "none").sum())
    assert rep.n_objects == n_var + 500
    assert 0 < det["true_outlier"].mean() < 0.01
    clean, funnel = clean_epochs(det)
    assert funnel.removed["flagged (infoFlag & 0x33c98)"] > 0
    ids = sky.loc[vc.isin(["ew", "rrab", "rrc", "sxphe"]), ["obj_id", "true_period", "true_var_class"]]
    res = period_search(pack_epochs(clean, obj_ids=ids["obj_id"].to_numpy()))
    p, tp = res["period"], ids["true_period"].to_numpy()
    ew = ids["true_var_class"].astype(str).to_numpy() == "ew"
    assert np.mean(np.abs(2 * p[ew] / tp[ew] - 1) < 0.01) > 0.6  # contact binaries: LS finds half the period
    assert np.mean(np.abs(p[~ew] / tp[~ew] - 1) < 0.01) > 0.5
    assert CLASS_CODE["bss"] >= 0
    pd.testing.assert_frame_equal(det.head(50), make_epochs(sky, seed=3, config=EpochConfig(n_constant=500)).head(50))
