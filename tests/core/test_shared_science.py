"""Shared science lives once in core: parallaxes to absolute magnitudes, and the stellar systems of the field."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import PARALLAX_MIN_SNR, STELLAR_SYSTEMS, absolute_magnitude
from core.archives.gaia import add_distances
from core.errors import ConfigError
from core.fields import stellar_system


def test_absolute_magnitude_uses_one_parallax_rule():
    mag = np.array([15.0, 15.0, 15.0, 15.0, 15.0])
    plx = np.array([10.0, 1.0, -1.0, np.nan, 10.0])
    err = np.array([0.1, 1.0 / PARALLAX_MIN_SNR * 1.01, 0.1, 0.1, 10.0 / PARALLAX_MIN_SNR])
    m = absolute_magnitude(mag, plx, err)
    assert m[0] == pytest.approx(10.0)  # 100 pc: M = m - 5
    assert np.isnan(m[1:4]).all()  # S/N just under the limit, negative and missing parallaxes
    assert m[4] == pytest.approx(10.0)  # exactly at the limit counts
    assert absolute_magnitude(mag[:1], plx[:1])[0] == pytest.approx(10.0)  # no errors: sign and finiteness only


def test_gaia_cross_match_and_dashboard_agree_on_which_stars_get_m_g():
    from dashboard.sky import absolute_first_band

    df = pd.DataFrame({"g": [15.0, 16.0, 17.0], "parallax": [10.0, 1.0, 0.5], "parallax_error": [0.1, 0.5, 0.05]})
    crossmatched = add_distances(df.copy())
    np.testing.assert_array_equal(np.isnan(crossmatched["abs_g"]), [False, True, False])
    np.testing.assert_allclose(absolute_first_band(df), crossmatched["abs_g"], equal_nan=True, rtol=1e-6)
    assert np.isfinite(crossmatched["dist_kpc"]).all()  # distances for every positive parallax


def test_stellar_systems_are_where_the_mock_puts_its_clusters_and_the_presets_select():
    from core import PRESET_FIELDS
    from core.mock.clusters import CLUSTERS

    assert [(c.name, c.ra, c.dec, c.dist_kpc, c.select_radius_deg) for c in CLUSTERS] == [
        (s.name, s.ra, s.dec, s.dist_kpc, s.select_radius_deg) for s in STELLAR_SYSTEMS
    ]
    assert list(PRESET_FIELDS) == [s.label for s in STELLAR_SYSTEMS]
    assert PRESET_FIELDS["Leo II"] == (168.3700, 22.1517, 0.05)
    assert stellar_system("NGC 5466") is stellar_system("NGC5466")
    assert stellar_system("M3").dist_mod == pytest.approx(5 * np.log10(10_200) - 5)
    with pytest.raises(ConfigError, match="known: M3, M53"):
        stellar_system("M13")
