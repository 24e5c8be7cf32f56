"""Dereddening numbers, refusals, and the optional SFD lookup."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from core.bands import GAIA, PS1
from core.errors import CatalogError, ConfigError
from core.extinction import deredden, is_dereddened, sfd_ebv
from tests._catalogs import make_catalog

# dustmaps warns when it has no ~/.dustmapsrc; irrelevant to what these tests check.
pytestmark = pytest.mark.filterwarnings("ignore:Configuration file not found")


def test_paper_coefficients_applied():
    df = make_catalog(4, seed=1)
    df["ebv"] = [0.0, 0.01, 0.02, 0.1]
    out = deredden(df)
    # Hutchinson et al. 2025, section 2.3: k_g=3.172, k_r=2.271, k_i=1.682, k_z=1.322, k_y=1.087.
    for band, k in {"g": 3.172, "r": 2.271, "i": 1.682, "z": 1.322, "y": 1.087}.items():
        np.testing.assert_allclose(out[f"{band}_obs"], df[band])
        np.testing.assert_allclose(out[band], df[band] - k * df["ebv"], atol=1e-12)
    assert out.loc[3, "g"] == pytest.approx(df.loc[3, "g"] - 0.3172)
    meta = out.attrs["sedscape"]["dereddened"]
    assert meta["coeffs"]["g"] == 3.172 and meta["source"] == "ebv column"
    assert "g_obs" not in df.columns  # the input is untouched


def test_custom_coefficients_and_column():
    df = make_catalog(3, seed=2, bands=GAIA).rename(columns={"ebv": "E_sfd"})
    with pytest.raises(ConfigError, match="no extinction coefficient"):
        deredden(df, GAIA, ebv_column="E_sfd")
    with pytest.raises(ConfigError, match="missing for band"):
        deredden(df, GAIA, ebv_column="E_sfd", coeffs={"bp": 3.0})
    out = deredden(df, GAIA, ebv_column="E_sfd", coeffs={"bp": 3.0, "G": 2.5, "rp": 1.8})
    np.testing.assert_allclose(out["G"], df["G"] - 2.5 * df["E_sfd"])


def test_refuses_twice():
    df = make_catalog(5, seed=3)
    once = deredden(df)
    assert is_dereddened(once)
    with pytest.raises(CatalogError, match="twice.*g_obs"):
        deredden(once)
    # The metadata flag alone also refuses (e.g. a Parquet file whose _obs columns were dropped).
    flagged = df.copy()
    flagged.attrs["sedscape"] = {"dereddened": {"coeffs": {}, "source": "ebv column"}}
    with pytest.raises(CatalogError, match="metadata"):
        deredden(flagged)


def test_bad_ebv_values():
    df = make_catalog(10, seed=4)
    df.loc[[2, 5, 7], "ebv"] = np.nan
    with pytest.raises(CatalogError, match="NaN or not a number in 3 of 10 rows"):
        deredden(df)
    df = make_catalog(10, seed=4)
    df.loc[1, "ebv"] = -0.01
    with pytest.raises(CatalogError, match="negative in 1 rows"):
        deredden(df)
    with pytest.raises(CatalogError, match="no E\\(B-V\\) column 'EBV'"):
        deredden(df, ebv_column="EBV")


def test_missing_magnitudes_left_alone():
    df = make_catalog(3, seed=5)
    df.loc[0, "g"] = np.nan
    df.loc[1, "r"] = -999.0
    out = deredden(df)
    assert np.isnan(out.loc[0, "g"])
    assert out.loc[1, "r"] == -999.0
    assert out.loc[2, "r"] == pytest.approx(df.loc[2, "r"] - 2.271 * df.loc[2, "ebv"])


def test_sfd_without_dustmaps_explains(monkeypatch):
    monkeypatch.setitem(sys.modules, "dustmaps", None)
    monkeypatch.setitem(sys.modules, "dustmaps.sfd", None)
    with pytest.raises(ConfigError, match=r"pip install sedscape\[dust\]"):
        sfd_ebv([0.0], [70.0])


def test_sfd_without_map_files_explains(monkeypatch, tmp_path):
    pytest.importorskip("dustmaps")
    import dustmaps.sfd

    def missing(*args, **kwargs):
        raise FileNotFoundError(tmp_path / "SFD_dust_4096_ngp.fits")

    monkeypatch.setattr(dustmaps.sfd.SFDQuery, "__init__", missing)
    with pytest.raises(ConfigError, match=r"fetch\(\)"):
        sfd_ebv([10.0], [70.0])


def test_sfd_passes_galactic_coordinates(monkeypatch):
    pytest.importorskip("dustmaps")
    import dustmaps.sfd

    seen = {}

    class FakeQuery:
        def __init__(self):
            pass

        def __call__(self, coords):
            seen["frame"] = coords.frame.name
            return 0.001 * coords.b.deg

    monkeypatch.setattr(dustmaps.sfd, "SFDQuery", FakeQuery)
    ebv = sfd_ebv(np.array([10.0, 200.0]), np.array([60.0, 80.0]))
    assert seen["frame"] == "galactic"
    np.testing.assert_allclose(ebv, [0.06, 0.08])
    with pytest.raises(CatalogError, match="NaN in 1 rows"):
        sfd_ebv([1.0, np.nan], [70.0, 70.0])


def test_ps1_coefficients_match_band_set():
    assert PS1.extinction_coeffs == {"g": 3.172, "r": 2.271, "i": 1.682, "z": 1.322, "y": 1.087}
