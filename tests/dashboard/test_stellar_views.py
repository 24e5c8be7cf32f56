"""The stellar model in the dashboard: colour-by its parameters, its best-fit SEDs beside the reconstruction,
and the "poorly fit by any star" preset, on a small sky whose parameters the shipped stellar model inferred."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import pytest

from core import PS1, STELLAR_CHI2_THRESHOLD, selection_mask, stellar_sed
from dashboard import plots
from dashboard.state import AppState
from dashboard.views import PRESET_POORLY_FIT, Controls, SedPanel

STELLAR_KEYS = ["Teff (stellar model)", "log g (stellar model)", "[Fe/H] (stellar model)", "E(B-V) (stellar model)",
                "distance (stellar model)", "stellar_chi2 (stellar model)"]  # fmt: skip


def _opts(element, group="plot"):
    return hv.Store.lookup_options("bokeh", element, group).kwargs


def test_colour_by_offers_each_stellar_parameter_only_when_the_catalog_has_it(stellar_sky, sky):
    opts = plots.colour_options(stellar_sky.df, PS1)
    assert [k for k in opts if k in STELLAR_KEYS] == STELLAR_KEYS
    columns = [opts[k].column for k in STELLAR_KEYS]
    assert columns == ["stellar_teff", "stellar_logg", "stellar_feh", "stellar_ebv", "stellar_dist_pc", "stellar_chi2"]
    assert all(c in stellar_sky.df for c in columns)
    assert "K" in opts["Teff (stellar model)"].label and "mag" in opts["E(B-V) (stellar model)"].label
    assert opts["distance (stellar model)"].log and opts["stellar_chi2 (stellar model)"].how == "max"
    # A catalog without stellar columns keeps exactly its former choices.
    assert not set(STELLAR_KEYS) & set(plots.colour_options(sky.df, PS1))
    assert PRESET_POORLY_FIT not in Controls(state=AppState(sky))._preset.options


@pytest.mark.parametrize("key", ["Teff (stellar model)", "distance (stellar model)", "stellar_chi2 (stellar model)"])
def test_stellar_colour_values_shade_with_their_scale(stellar_sky, key):
    state = AppState(stellar_sky)
    state.colour_by = key
    values, cats, clim = state.colour_values()
    assert cats is None
    np.testing.assert_array_equal(values, stellar_sky.df[state.colour.column].to_numpy(np.float32))
    lo, hi = clim
    assert np.nanmin(values) <= hi and lo < hi
    spec = state.specs["latent"]
    image = plots.shade(plots.points(stellar_sky.frame, spec, values=values), state.colour, spec, dynamic=False,
                        clim=clim)  # fmt: skip
    opts = _opts(image)
    assert opts["clabel"] == state.colour.label and opts["clim"] == clim
    if state.colour.log:  # a log colour scale must start above zero
        assert opts["cnorm"] == "log" and lo > 0
    else:
        assert opts.get("cnorm", "linear") == "linear"


def test_sed_overlay_adds_the_best_fit_sed_normalised_to_the_first_band():
    rows = pd.DataFrame({"obj_id": [1, 2], **{b: [15.0 + k, 16.0 - k] for k, b in enumerate(PS1.names)},
                         **{f"{b}_rec": [15.0, 16.0] for b in PS1.names}})  # fmt: skip
    fit = np.array([[20.0, 19.5, 19.2, 19.1, 19.0], [np.nan] * 5])
    plain = plots.sed_overlay(rows, PS1)
    over = plots.sed_overlay(rows, PS1, stellar=fit)
    assert len(plain) == 3 and len(over) == 4
    layer = over.get(3)
    assert layer.label == "stellar model" and _opts(layer, "style")["color"] == plots.STELLAR_COLOUR
    paths = layer.split()
    np.testing.assert_allclose(paths[0].dimension_values("m"), fit[0] - fit[0, 0])
    assert str(paths[1].dimension_values("star")[0]) == "2"
    empty = plots.sed_overlay(rows.iloc[:0], PS1, stellar=np.zeros((0, 5)))
    assert len(empty) == 4  # same layers with no stars, so a live plot updates rather than rebuilds


def test_best_fit_sed_lies_on_the_dereddened_photometry_of_well_fit_stars(stellar_sky):
    """The overlay is in the catalog's (dereddened) system: for stars the model fits, observed minus best fit is
    small in every band, far smaller than with the model's apparent (reddened) SED the catalog no longer shows."""
    df = stellar_sky.df
    good = df[(df["stellar_chi2"] < 3) & (df["stellar_ebv"] > 0.15)].head(40)
    assert len(good) >= 10
    state = AppState(stellar_sky)
    fit = state.stellar_seds(good)
    names = list(PS1.names)
    obs = good[names].to_numpy(float)
    resid = (obs - obs[:, :1]) - (fit - fit[:, :1])
    assert np.median(np.abs(resid)) < 0.05
    rows = good.join(stellar_sky.observed_magnitudes.loc[good.index])
    apparent = stellar_sed(rows, stellar_sky.stellar_model)
    wrong = (obs - obs[:, :1]) - (apparent - apparent[:, :1])
    assert np.median(np.abs(wrong[:, -1])) > 3 * np.median(np.abs(resid[:, -1]))


def test_sed_panel_overlays_the_selected_stars_best_fits(stellar_sky):
    state = AppState(stellar_sky)
    panel = SedPanel(state=state)
    assert len(panel._sed()) == 4 and not panel._sed().get(3).split()
    assert "select stars" in panel._stellar_text()
    state.select_poorly_fit()
    shown = state.most_anomalous(5)
    overlay = panel._sed()
    curves = overlay.get(3).split()
    assert len(curves) == len(shown) and all(np.isfinite(c.dimension_values("m")).all() for c in curves)
    text = panel._stellar_text()
    assert all(str(i) in text for i in shown["obj_id"])
    # Stars picked in the table take their place: their own best fits and parameters.
    pick = [int(shown["obj_id"].iloc[-1]), int(stellar_sky.df["obj_id"].iloc[0])]
    state.picked = pick
    curves = panel._sed().get(3).split()
    assert sorted(int(c.dimension_values("star")[0]) for c in curves) == sorted(pick)
    fit = state.stellar_seds(stellar_sky.df[stellar_sky.df["obj_id"] == pick[1]])[0]
    assert any(np.allclose(c.dimension_values("m"), fit - fit[0]) for c in curves)
    assert str(pick[1]) in panel._stellar_text() and str(shown["obj_id"].iloc[0]) not in panel._stellar_text()


def test_poorly_fit_preset_is_stellar_chi2_and_autoencoder_anomaly(stellar_sky):
    state = AppState(stellar_sky)
    assert PRESET_POORLY_FIT in Controls(state=state)._preset.options
    df = stellar_sky.df
    chi2_bad = df["stellar_chi2"].to_numpy() > STELLAR_CHI2_THRESHOLD
    n = state.select_poorly_fit()
    expected = chi2_bad & (df["max_abs_res"].to_numpy() > state.threshold)
    np.testing.assert_array_equal(state.selection_mask(), expected)
    assert 0 < n < state.anomaly_mask().sum()  # stellar_chi2 bites
    geometry = state.geometry
    assert geometry["preset"] == "poorly_fit" and geometry["chi2_threshold"] == STELLAR_CHI2_THRESHOLD
    # An export's provenance reproduces the selection (what `sedscape export --selection` does).
    np.testing.assert_array_equal(selection_mask(df, geometry, PS1), expected)
    state.threshold = 0.25
    assert 0 < state.select_poorly_fit() < chi2_bad.sum()  # and so does the autoencoder's threshold
    np.testing.assert_array_equal(state.selection_mask(), chi2_bad & (df["max_abs_res"].to_numpy() > 0.25))


def test_a_catalog_without_stellar_columns_has_no_poorly_fit_preset(sky):
    state = AppState(sky)
    with pytest.raises(ValueError, match="stellar-model infer"):
        state.select_poorly_fit()
    assert state.stellar_seds(sky.df.head(3)) is None
    assert len(SedPanel(state=state)._sed()) == 3
