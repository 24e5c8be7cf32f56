import pytest

from core.bands import PS1, SDSS, TWOMASS, Band, BandSet, get_band_set
from core.errors import ConfigError


def test_ps1_is_grizy_blue_to_red_with_sf11_coefficients():
    assert PS1.names == ("g", "r", "i", "z", "y")
    assert PS1.err_columns == ("g_err", "r_err", "i_err", "z_err", "y_err")
    assert list(PS1.wavelengths_nm) == sorted(PS1.wavelengths_nm)
    assert PS1.extinction_coeffs == {"g": 3.172, "r": 2.271, "i": 1.682, "z": 1.322, "y": 1.087}


def test_combined_band_set_keeps_order_and_length():
    combo = get_band_set("ps1+2mass")
    assert combo.names == ("g", "r", "i", "z", "y", "J", "H", "Ks")
    assert len(combo) == 8
    assert (SDSS + TWOMASS).names[0] == "u"


def test_unknown_band_set_lists_known_names():
    with pytest.raises(ConfigError, match="known: .*ps1"):
        get_band_set("lsst-dr9")


def test_duplicate_band_names_rejected():
    with pytest.raises(ConfigError, match="repeats"):
        BandSet("bad", (Band("g", 480), Band("g", 490)))


def test_missing_extinction_coefficient_is_explained():
    with pytest.raises(ConfigError, match="no extinction coefficient"):
        _ = get_band_set("gaia").extinction_coeffs


def test_subset_checks_names():
    assert PS1.subset(["g", "i"]).names == ("g", "i")
    with pytest.raises(ConfigError, match="not in band set"):
        PS1.subset(["u"])
