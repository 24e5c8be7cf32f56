"""The paper's selection cuts: boundaries, order, absent columns and funnel bookkeeping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.bands import PS1, SDSS
from core.cuts import Cut, CutConfig, Funnel, apply_cuts, paper_cuts
from core.errors import ConfigError
from tests._catalogs import make_catalog


def _stars(colours: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    """One star per (g-r, g-i, z-y, i-y) tuple with g = 18 and otherwise perfect data."""
    df = make_catalog(len(colours), seed=1)
    for k, (gr, gi, zy, iy) in enumerate(colours):
        g = 18.0
        i = g - gi
        y = i - iy
        z = y + zy
        df.loc[k, ["g", "r", "i", "z", "y"]] = [g, g - gr, i, z, y]
        row = df.loc[k]
        # The boundary cases only test something if the colours are exact in floating point.
        if gr in (2.0,) or gi in (-1.0, 4.0) or zy in (-0.5, 1.0) or iy == -0.75:
            got = (row.g - row.r, row.g - row.i, row.z - row.y, row.i - row.y)
            assert got == (gr, gi, zy, iy)
    return df


def _kept(df: pd.DataFrame, config: CutConfig | None = None) -> list[int]:
    out, _ = apply_cuts(df, paper_cuts(PS1, config or CutConfig()))
    return out.index.tolist()


@pytest.mark.parametrize(
    ("colours", "kept"),
    [
        # g - r <= 2: exactly 2.0 kept, just above removed
        ((2.0, 2.5, 0.125, 0.25), True),
        ((2.0001, 2.5, 0.125, 0.25), False),
        # -1 < g - i < 4: both ends removed
        ((-0.5, -1.0, 0.125, 0.25), False),
        ((-0.5, -0.999, 0.125, 0.25), True),
        ((1.5, 4.0, 0.125, 0.25), False),
        ((1.5, 3.999, 0.125, 0.25), True),
        # -0.5 < z - y < 1.0
        ((0.5, 1.0, -0.5, 0.25), False),
        ((0.5, 1.0, -0.499, 0.25), True),
        ((0.5, 1.0, 1.0, 0.25), False),
        ((0.5, 1.0, 0.999, 0.25), True),
        # i - y > -0.75
        ((0.5, 1.0, 0.125, -0.75), False),
        ((0.5, 1.0, 0.125, -0.749), True),
    ],
)
def test_colour_cut_boundaries(colours, kept):
    df = _stars([colours])
    assert _kept(df) == ([0] if kept else [])


def test_measurement_quality_and_error_boundaries():
    df = make_catalog(6, seed=2)
    df.loc[0, "n_r"] = 5  # exactly the minimum: kept
    df.loc[1, "n_z"] = 4  # removed
    df.loc[2, "qf_i"] = 0.99  # kept
    df.loc[3, "qf_i"] = 0.9899  # removed
    df.loc[4, "y_err"] = 0.05  # kept
    df.loc[5, "g_err"] = 0.0501  # removed
    out, funnel = apply_cuts(df, paper_cuts())
    assert out.index.tolist() == [0, 2, 4]
    removed = {s.name: s.n_removed for s in funnel.steps}
    assert removed["n_measurements"] == 1
    assert removed["qf_perfect"] == 1
    assert removed["errors"] == 1


def test_zero_and_negative_errors_are_removed_and_named():
    df = make_catalog(6, seed=2)
    df.loc[1, "g_err"] = -0.02  # passed "g_err <= 0.05" before
    df.loc[2, "r_err"] = 0.0
    df.loc[3, "r_err"] = 1e-4  # tiny but positive: kept
    out, funnel = apply_cuts(df, paper_cuts())
    assert out.index.tolist() == [0, 3, 4, 5]
    step = funnel.steps[-1]
    assert step.name == "errors" and step.description == "0 < <band>_err <= 0.05 in every band"
    assert step.n_removed == 2 and step.note == "2 with errors <= 0 (g_err 1, r_err 1)"


def test_funnel_notes_round_trip_and_print():
    funnel = Funnel(n_input=3, n_output=3, notes=["raMean read as RA in hours"])
    assert Funnel.from_dict(funnel.to_dict()) == funnel
    assert funnel.format().splitlines()[-1] == "note: raMean read as RA in hours"
    assert "notes" not in Funnel(n_input=1, n_output=1).to_dict()  # old metadata unchanged


def test_prob_star_boundary_and_nan():
    df = make_catalog(3, seed=3)
    df["prob_star"] = [0.99, 0.9899, np.nan]
    out, funnel = apply_cuts(df, paper_cuts())
    assert out.index.tolist() == [0]
    step = next(s for s in funnel.steps if s.name == "prob_star")
    assert step.n_removed == 2
    assert "1 with missing values (prob_star 1)" in step.note


def test_point_source_cut_only_without_prob_star():
    df = make_catalog(4, seed=3).drop(columns="prob_star")
    df["i_kron"] = df["i"] - [0.0, 0.04, 0.06, np.nan]  # galaxy: more light in the Kron aperture than the PSF
    out, funnel = apply_cuts(df, paper_cuts())
    assert out.index.tolist() == [0, 1, 3]  # a missing Kron magnitude keeps the star for the other cuts
    step = next(s for s in funnel.steps if s.name == "point_source")
    assert step.applied and step.n_removed == 1
    df["prob_star"] = 1.0
    out, funnel = apply_cuts(df, paper_cuts())
    step = next(s for s in funnel.steps if s.name == "point_source")
    assert len(out) == 4 and not step.applied and step.note == "prob_star present: that cut decides"
    no_kron = next(s for s in apply_cuts(df.drop(columns=["prob_star", "i_kron"]), paper_cuts())[1].steps
                   if s.name == "point_source")  # fmt: skip
    assert not no_kron.applied and no_kron.note == "column i_kron absent"


def test_completeness_removes_nan_and_sentinels_first():
    df = make_catalog(5, seed=4)
    df.loc[0, "g"] = np.nan
    df.loc[1, "y"] = -999.0
    df.loc[2, "r_err"] = np.inf
    df.loc[2, "g"] = 40.0  # also breaks a colour cut, but must be counted once, in "complete"
    out, funnel = apply_cuts(df, paper_cuts())
    assert out.index.tolist() == [3, 4]
    assert funnel.steps[0].name == "complete"
    assert funnel.steps[0].n_removed == 3
    assert "g 1" in funnel.steps[0].note and "y 1" in funnel.steps[0].note
    assert sum(s.n_removed for s in funnel.steps[1:]) == 0


def test_order_matches_the_paper():
    names = [c.name for c in paper_cuts()]
    assert names == [
        "complete",
        "prob_star",
        "point_source",
        "n_measurements",
        "qf_perfect",
        "g-r",
        "g-i",
        "z-y",
        "i-y",
        "errors",
    ]


def test_absent_columns_are_reported_not_applied():
    df = make_catalog(50, seed=5).drop(columns=["prob_star", "n_g", "n_r", "n_i", "n_z", "n_y"])
    df.loc[0, "g_err"] = 0.2
    out, funnel = apply_cuts(df, paper_cuts())
    steps = {s.name: s for s in funnel.steps}
    assert not steps["prob_star"].applied
    assert steps["prob_star"].note == "column prob_star absent"
    assert not steps["n_measurements"].applied
    assert steps["n_measurements"].note == "columns n_g, n_r, n_i, n_z, n_y absent"
    assert steps["errors"].applied and steps["errors"].n_removed == 1
    assert len(out) == 49


def test_partially_present_quality_flags_checked_where_present():
    df = make_catalog(4, seed=6).drop(columns=["qf_y"])
    df.loc[1, "qf_g"] = 0.5
    out, funnel = apply_cuts(df, paper_cuts())
    step = next(s for s in funnel.steps if s.name == "qf_perfect")
    assert step.applied and step.n_removed == 1
    assert "qf_y absent, not checked" in step.note
    assert 1 not in out.index


def test_colour_cuts_skipped_for_other_band_sets():
    df = make_catalog(20, seed=7, bands=SDSS)
    df.loc[0, "u_err"] = 0.3
    out, funnel = apply_cuts(df, paper_cuts(SDSS))
    colour = [s for s in funnel.steps if s.name in ("g-r", "g-i", "z-y", "i-y")]
    assert len(colour) == 4
    assert all(not s.applied and "sdss" in s.note for s in colour)
    assert funnel.n_output == len(out) == 19


def test_funnel_counts_add_up_and_round_trip():
    df = make_catalog(500, seed=8)
    rng = np.random.default_rng(0)
    df.loc[rng.choice(500, 30, replace=False), "g"] = np.nan
    df.loc[rng.choice(500, 30, replace=False), "prob_star"] = 0.5
    df.loc[rng.choice(500, 30, replace=False), "z_err"] = 0.08
    df.loc[rng.choice(500, 30, replace=False), "qf_r"] = 0.9
    out, funnel = apply_cuts(df, paper_cuts())
    assert funnel.n_input == 500
    assert funnel.n_output == len(out)
    assert funnel.n_input - funnel.n_removed == funnel.n_output
    for before, after in zip(funnel.steps, funnel.steps[1:], strict=False):
        assert after.n_before == before.n_before - before.n_removed
    again = Funnel.from_dict(funnel.to_dict())
    assert again == funnel
    table = funnel.format()
    assert "prob_star" in table and f"{funnel.n_output:,}" in table.splitlines()[-1]


def test_thresholds_come_from_config():
    df = make_catalog(3, seed=9)
    df["g_err"] = [0.01, 0.03, 0.06]
    assert _kept(df, CutConfig(max_err=0.02)) == [0]
    assert _kept(df, CutConfig(max_err=0.1)) == [0, 1, 2]


def test_bad_config_and_bad_masks_raise():
    with pytest.raises(ConfigError, match="g_i_range"):
        CutConfig(g_i_range=(4.0, -1.0))
    with pytest.raises(ConfigError, match="min_qf_perfect"):
        CutConfig(min_qf_perfect=2)
    bad = Cut("broken", "returns a short mask", ("g",), lambda d: np.ones(2, dtype=bool))
    with pytest.raises(ConfigError, match="broken"):
        apply_cuts(make_catalog(5, seed=1), [bad])
    assert CutConfig.from_dict(CutConfig().to_dict()) == CutConfig()
    with pytest.raises(ConfigError, match="unknown cut threshold"):
        CutConfig.from_dict({"max_errr": 0.1})


def test_input_not_modified_and_attrs_kept():
    df = make_catalog(10, seed=10)
    df.attrs["sedscape"] = {"note": "x"}
    df.loc[0, "g_err"] = 0.5
    before = df.copy()
    out, _ = apply_cuts(df, paper_cuts())
    pd.testing.assert_frame_equal(df, before)
    assert out.attrs["sedscape"] == {"note": "x"}
