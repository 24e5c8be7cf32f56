"""The shared selection pipeline: cuts on observed magnitudes, then dereddening, with provenance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.bands import PS1
from core.catalog import band_set_of, read_parquet, write_parquet
from core.cuts import CutConfig, Funnel
from core.errors import CatalogError, ConfigError
from core.extinction import deredden
from core.pipeline import select
from tests._catalogs import make_catalog


def test_cuts_then_deredden_with_provenance(tmp_path):
    df = make_catalog(300, seed=1)
    df.loc[0, "g_err"] = 0.2
    df.loc[1, "prob_star"] = 0.1
    out, funnel = select(df)
    assert funnel.n_input == 300 and funnel.n_output == len(out) == 298
    assert 0 not in out.index and 1 not in out.index
    np.testing.assert_allclose(out["g"], out["g_obs"] - 3.172 * out["ebv"])
    meta = out.attrs["sedscape"]
    assert Funnel.from_dict(meta["funnel"]) == funnel
    assert meta["dereddened"]["coeffs"]["y"] == 1.087
    assert meta["cuts"]["config"]["max_err"] == 0.05
    path = write_parquet(out, tmp_path / "sel.parquet")
    back = read_parquet(path)
    assert back.attrs["sedscape"]["funnel"] == meta["funnel"]
    assert band_set_of(back).names == PS1.names


def test_colour_cuts_use_observed_magnitudes():
    # g - r observed = 2.0 (kept); a large E(B-V) would push the dereddened colour, not the cut.
    df = make_catalog(2, seed=2)
    df.loc[0, ["g", "r"]] = [18.0, 16.0]
    df.loc[0, "i"] = 15.5
    df.loc[0, ["z", "y"]] = [15.25, 15.125]
    df.loc[0, "ebv"] = 0.5
    out, _ = select(df)
    assert 0 in out.index
    assert out.loc[0, "g"] - out.loc[0, "r"] == pytest.approx(2.0 - 0.5 * (3.172 - 2.271))
    # Already dereddened upstream: cuts read <band>_obs, and dereddening again is refused.
    pre = deredden(df)
    out2, funnel2 = select(pre, deredden=False)
    assert 0 in out2.index
    with pytest.raises(CatalogError, match="twice"):
        select(pre)


def test_switches():
    df = make_catalog(50, seed=3)
    df.loc[0, "g_err"] = 0.3
    out, funnel = select(df, cuts=False, deredden=False)
    assert len(out) == 50 and funnel.steps == [] and "g_obs" not in out.columns
    assert out.attrs["sedscape"]["dereddened"] is False
    out, _ = select(df, ebv="none")
    assert "g_obs" not in out.columns and len(out) == 49
    out, _ = select(df, config=CutConfig(max_err=0.5), deredden=False)
    assert len(out) == 50


def test_missing_ebv_fails_before_cuts():
    df = make_catalog(20, seed=4).drop(columns=["ebv"])
    with pytest.raises(CatalogError, match="no 'ebv' column.*--ebv sfd"):
        select(df, ebv="column")
    with pytest.raises(ConfigError, match="unknown E\\(B-V\\) source"):
        select(df, ebv="planck")


def test_sfd_source_recorded(monkeypatch):
    import core.pipeline as pipeline

    monkeypatch.setattr(pipeline, "sfd_ebv", lambda l_deg, b_deg: np.full(len(l_deg), 0.02))
    df = make_catalog(20, seed=5).drop(columns=["ebv"])
    out, _ = select(df, ebv="sfd")
    assert (out["ebv"] == 0.02).all()
    assert out.attrs["sedscape"]["dereddened"]["source"].startswith("SFD")


def test_duplicate_index_is_handled_and_input_untouched():
    df = make_catalog(10, seed=6)
    df.index = [0] * 10
    before = df.copy()
    out, funnel = select(df)
    assert len(out) == 10 == funnel.n_output
    pd.testing.assert_frame_equal(df, before)


def test_auto_ebv_without_column_or_map_keeps_observed_and_says_why(monkeypatch):
    import core.pipeline as pipeline

    monkeypatch.setattr(pipeline, "sfd_available", lambda: False)
    df = make_catalog(30, seed=6).drop(columns=["ebv"])
    out, funnel = select(df)
    assert funnel.n_output == len(out) > 0
    np.testing.assert_array_equal(out["g"].to_numpy(), df.loc[out.index, "g"].to_numpy())
    assert out.attrs["sedscape"]["dereddened"] is False
    assert "NOT dereddened" in out.attrs["sedscape"]["dereddening_skipped"]


def test_auto_ebv_prefers_the_column():
    df = make_catalog(30, seed=6)
    out, _ = select(df)
    np.testing.assert_allclose(out["r"], out["r_obs"] - 2.271 * out["ebv"])
