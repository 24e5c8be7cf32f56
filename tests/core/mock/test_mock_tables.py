"""Readers of the reference tables behind the mock sky."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ConfigError
from core.mock import tables
from core.mock.clusters import CLUSTERS, absolute_sequences


def test_nearest_fiducial_by_metallicity():
    assert tables.nearest_fiducial(-1.50) == "NGC5272"
    assert tables.nearest_fiducial(-2.27) == "NGC7099"
    assert {c.name: c.fiducial for c in CLUSTERS}["M53"] == "NGC4590"


def test_fiducial_is_shifted_to_absolute_magnitudes():
    m3 = next(c for c in CLUSTERS if c.name == "M3")
    ridge, hb, feh = absolute_sequences(m3)
    assert feh == -1.50
    assert np.isfinite(ridge).all() and np.isfinite(hb).all()
    # The RGB tip of an old metal-poor cluster is near M_r = -3; its faint MS end near M_r = 6-7.
    assert -4.0 < ridge[:, 1].min() < -2.5
    assert 5.0 < ridge[:, 1].max() < 8.0


def test_white_dwarf_grid_columns():
    grid = tables.white_dwarf_grid("DA")
    hot = grid[grid[:, tables.WD_TEFF] > 30000]
    gr = hot[:, tables.WD_PS1_COLUMNS[0]] - hot[:, tables.WD_PS1_COLUMNS[1]]
    assert (gr < -0.2).all()  # hot white dwarfs are blue in PS1 g - r
    with pytest.raises(ConfigError, match="unknown white-dwarf grid"):
        tables.white_dwarf_grid("DQ")


def test_luminosity_function_is_positive():
    mr, lf = tables.luminosity_function()
    assert mr[0] == -1.0 and (lf > 0).all()


def test_missing_reference_table_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SEDSCAPE_DATA_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="luminosity_function_Mr.dat"):
        tables._path("luminosity_function_Mr.dat")
