"""The mock's stellar parameters and LAMOST-like labels."""

from __future__ import annotations

import numpy as np
import pytest

from core.mock import spectro, tables


def test_sun_like_star_has_solar_parameters():
    # The Sun in PS1: g - r ~ 0.39, i - z ~ 0.03 (Willmer 2018), M_r ~ 4.65; Teff 5772 K, log g 4.44.
    teff = spectro.teff_from_ps1_colours(np.array([0.39]), np.array([0.03]))[0]
    assert teff == pytest.approx(5772, abs=150)
    logg = spectro.logg_from_luminosity(np.array([5772.0]), np.array([4.65]), np.array([1.0]), np.array([0.39]))[0]
    assert logg == pytest.approx(4.44, abs=0.08)


def test_main_sequence_teff_falls_and_dwarfs_are_compact():
    grid = tables.colour_grid()
    mr = np.arange(3.8, 14.0, 0.25)
    cols = grid(mr, np.full(mr.size, -0.15))
    teff = spectro.teff_from_ps1_colours(cols[:, 0], cols[:, 2])
    assert np.all(np.diff(teff) < 0)  # fainter is cooler along the main sequence
    assert 6000 < teff[0] < 6600 and 2900 < teff[-1] < 3300
    logg = spectro.logg_from_luminosity(teff, mr, spectro.dwarf_mass(teff, np.full(mr.size, -0.15)), cols[:, 0])
    assert np.all((logg > 4.0) & (logg < 5.4))


def test_truth_and_labels_on_the_mock(mock_sky):
    df = mock_sky
    assert {"true_teff", "true_logg", *spectro.LABEL_COLUMNS} <= set(df.columns)
    cls = df["true_class"].astype(str)
    assert df.loc[cls.isin(["qso", "galaxy"]), "true_teff"].isna().all()
    giants, dwarfs = df.loc[cls == "giant", "true_logg"], df.loc[cls == "ms", "true_logg"]
    assert giants.median() < 3.9 < dwarfs.median()
    wd = df.loc[cls == "wd_da", ["true_teff", "true_logg"]]
    assert wd["true_logg"].isin([7.5, 8.0, 8.5]).all() and (wd["true_teff"] > 3000).all()
    lab = spectro.labelled(df)
    frac = len(lab) / len(df)
    assert 0.01 < frac < 0.06  # "a few per cent"
    assert lab["r_obs"].max() < 17.8
    z = (lab["teff"] - lab["true_teff"]) / lab["teff_err"]
    assert abs(z.mean()) < 0.15 and 0.85 < z.std() < 1.15  # labels scatter by their stated errors
    assert lab["teff_err"].median() == pytest.approx(100, abs=30)
    assert 0.1 <= lab["logg_err"].median() <= 0.2 and 0.08 <= lab["feh_err"].median() <= 0.15


def test_lamost_field_reddens_with_the_mocks_coefficients(mock_sky):
    field = spectro.lamost_field(mock_sky, ebv_max=0.8, seed=3)
    lab = spectro.labelled(mock_sky)
    assert len(field) == len(lab)
    d_ebv = field["true_ebv"].to_numpy(np.float64) - lab["true_ebv"].to_numpy(np.float64)
    for k, b in enumerate(spectro.BANDS):
        shift = field[f"{b}_obs"].to_numpy() - lab[f"{b}_obs"].to_numpy()
        np.testing.assert_allclose(shift, spectro.K_EXT[k] * d_ebv, atol=2e-4)
    assert field["true_ebv"].max() > 0.5
    ratio = field["ebv"] / field["true_ebv"]
    assert ratio.median() == pytest.approx(1.0, abs=0.02) and 0.05 < ratio.std() < 0.15
