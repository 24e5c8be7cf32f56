"""Plot functions are pure: inspect the HoloViews objects they return, no rendering."""

import holoviews as hv
import numpy as np
import pandas as pd
import pytest

from core.bands import PS1, SDSS
from dashboard import plots
from dashboard.sky import robust_range


def _opts(element, group="plot"):
    return hv.Store.lookup_options("bokeh", element, group).kwargs


def test_view_specs_cover_latent_cmd_colour_colour_and_hr():
    specs = {s.key: s for s in plots.view_specs(PS1, has_gaia=True)}
    assert list(specs) == ["latent", "cmd", "cc1", "cc2", "hr"]
    assert (specs["cmd"].x, specs["cmd"].y, specs["cmd"].invert_y) == ("g_i", "g", True)
    assert (specs["cc1"].x, specs["cc1"].y) == ("g_r", "r_i")
    assert (specs["cc2"].x, specs["cc2"].y) == ("r_i", "i_z")
    assert specs["hr"].columns("reconstructed") == ("g_i_rec", "abs_g_rec")
    assert "hr" not in {s.key for s in plots.view_specs(PS1, has_gaia=False)}
    sdss = {s.key: s for s in plots.view_specs(SDSS, has_gaia=False)}
    assert (sdss["cmd"].x, sdss["cmd"].y) == ("u_r", "u")


def test_colour_options_follow_the_catalog_columns():
    df = pd.DataFrame(columns=["simbad_category", "abs_g"])
    opts = plots.colour_options(df, PS1)
    assert next(iter(opts)) == "colour g - i"
    assert {"density", "max |residual|", "residual z", "anomaly flag", "SIMBAD category", "Gaia M_g"} <= set(opts)
    assert opts["residual z"].symmetric and opts["residual z"].column == "z_res"
    assert "SIMBAD otype" in plots.colour_options(pd.DataFrame(columns=["simbad_otype"]), PS1)
    bare = plots.colour_options(pd.DataFrame(), PS1)
    assert "SIMBAD category" not in bare and "true class (mock)" not in bare and "distance (kpc)" not in bare


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 500
    f = pd.DataFrame({"latent_x": rng.normal(size=n), "latent_y": rng.normal(size=n),
                      "g_i": rng.uniform(0, 3, n), "g_i_rec": rng.uniform(0, 3, n),
                      "abs_g": np.where(rng.random(n) < 0.3, rng.uniform(3, 10, n), np.nan)})  # fmt: skip
    f["abs_g_rec"] = f["abs_g"] + 0.01
    return f


def test_points_use_view_columns_and_drop_stars_outside_the_subset(frame):
    specs = {s.key: s for s in plots.view_specs(PS1, has_gaia=True)}
    pts = plots.points(frame, specs["latent"], values=np.arange(len(frame)), label="g - i")
    assert [d.name for d in pts.kdims] == ["latent_x", "latent_y"] and pts.vdims[0].label == "g - i"
    assert len(pts) == len(frame)
    hr = plots.points(frame, specs["hr"], "reconstructed")
    assert [d.name for d in hr.kdims] == ["g_i_rec", "abs_g_rec"]
    assert len(hr) == int(np.isfinite(frame["abs_g"]).sum())


def test_shade_rasterises_numbers_with_a_colour_bar_and_selection_tools(frame):
    spec = plots.view_specs(PS1, has_gaia=False)[0]
    colour = plots.ColourBy("g - i", "g_i", cmap="RdYlBu_r")
    pts = plots.points(frame, spec, values=frame["g_i"].to_numpy())
    img = plots.shade(pts, colour, spec, dynamic=False, clim=(-1.0, 1.0))
    assert isinstance(img, hv.Image)
    values = img.dimension_values(2)
    assert np.nanmax(values) <= 3 and np.nanmin(values) >= 0  # a per-pixel mean of g - i
    opts = _opts(img)
    assert opts["colorbar"] and {"lasso_select", "box_select"} <= set(opts["tools"])
    assert _opts(img, "style")["cmap"] == "RdYlBu_r" and opts["clim"] == (-1.0, 1.0)


def test_density_counts_every_star_and_categories_shade_to_rgb(frame):
    spec = plots.view_specs(PS1, has_gaia=False)[0]
    img = plots.shade(plots.points(frame, spec), plots.ColourBy("n", None, "count"), spec, dynamic=False)
    assert np.nansum(img.dimension_values(2)) == len(frame)
    assert _opts(img)["cnorm"] == "log"
    cats = pd.Categorical(np.where(frame["g_i"] > 1.5, "red", "blue"), categories=["blue", "red"])
    rgb = plots.shade(plots.points(frame, spec, values=cats), plots.ColourBy("c", "c", "category"), spec,
                      dynamic=False, categories=["blue", "red"])  # fmt: skip
    assert isinstance(rgb, hv.RGB)
    assert plots.category_key(["blue", "red"]) == {"blue": plots.CATEGORY_PALETTE[0], "red": plots.CATEGORY_PALETTE[1]}


def _selection(frame, n, active=True, width=60, height=40):
    return plots.selection_image(frame["latent_x"][:n], frame["latent_y"][:n], ("latent_x", "latent_y"),
                                 active=active, x_range=(frame["latent_x"].min(), frame["latent_x"].max()),
                                 y_range=(frame["latent_y"].min(), frame["latent_y"].max()),
                                 width=width, height=height)  # fmt: skip


def test_selection_image_marks_selected_pixels_and_veils_the_rest(frame):
    img = _selection(frame, 20)
    values = img.dimension_values(2, flat=False)
    assert values.shape == (40, 60) and values.dtype == np.int8
    lit = values == 1
    assert 0 < lit.sum() < values.size and np.all((values == 0) | lit)  # no transparent pixel: the rest is veiled
    assert _opts(img, "style")["cmap"] == [plots.VEIL_COLOUR, plots.SELECTION_COLOUR]
    assert _opts(img, "plot")["clim"] == (0, 1)
    # every selected star lies on a lit pixel (grown by a pixel or two around it)
    for xv, yv in zip(frame["latent_x"][:20], frame["latent_y"][:20], strict=True):
        assert img[float(xv), float(yv)] == 1


def test_selection_image_is_transparent_without_a_selection_and_veils_an_empty_one(frame):
    off = _selection(frame, 0, active=False)
    assert (off.dimension_values(2) == -1).all() and _opts(off, "plot")["clipping_colors"] == {"min": "transparent"}
    empty = _selection(frame, 0, active=True)  # a selection with no star in this view still dims the catalog
    assert (empty.dimension_values(2) == 0).all()


def _star(**over):
    base = {"obj_id": 7, **{b: 15.0 + k * 0.1 for k, b in enumerate(PS1.names)}}
    base.update({f"{b}_rec": base[b] + 0.02 for b in PS1.names})
    base.update({f"{b}_err": 0.01 for b in PS1.names})
    base.update({f"{b}_res": -0.02 for b in PS1.names})
    base.update(over)
    return base


def test_sed_overlay_normalises_to_g_with_error_bars_and_reconstruction():
    rows = pd.DataFrame([_star(), _star(obj_id=8, g=14.0)])
    ov = plots.sed_overlay(rows, PS1)
    errs, obs, rec = ov
    assert isinstance(errs, hv.ErrorBars) and isinstance(obs, hv.Path) and isinstance(rec, hv.Path)
    assert len(obs.data) == 2 and [p["star"] for p in obs.data] == [str(rows["obj_id"][0]), "8"]
    np.testing.assert_array_equal(obs.data[0]["wavelength"], PS1.wavelengths_nm)
    np.testing.assert_allclose(obs.data[0]["m"], [0.0, 0.1, 0.2, 0.3, 0.4])
    # reconstructed is drawn against the same (observed) g, so a uniform 0.02 offset survives normalising
    np.testing.assert_allclose(rec.data[0]["m"], [0.02, 0.12, 0.22, 0.32, 0.42])
    assert len(errs) == 10
    np.testing.assert_allclose(errs.dimension_values("err"), 0.01)
    np.testing.assert_allclose(errs.dimension_values("m")[:5], obs.data[0]["m"])


def test_sed_and_residual_overlays_keep_their_layers_without_stars():
    """A live plot updates layers in place: no stars must give the same layer types, empty."""
    empty = pd.DataFrame([_star()]).iloc[:0]
    for full, none in ((plots.sed_overlay(pd.DataFrame([_star()]), PS1), plots.sed_overlay(empty, PS1)),
                       (plots.residual_overlay(pd.DataFrame([_star()]), PS1, 0.05),
                        plots.residual_overlay(empty, PS1, 0.05))):  # fmt: skip
        assert [type(e) for e in full] == [type(e) for e in none]
        assert all(len(e) == 0 for e in none if not isinstance(e, hv.HSpan))


def test_residual_overlay_and_probe_sed():
    rows = pd.DataFrame([_star(z_res=0.3)])
    ov = plots.residual_overlay(rows, PS1, threshold=0.05)
    path, span = ov
    assert list(span.data) == [-0.05, 0.05]
    np.testing.assert_allclose(path.data[0]["residual"], [-0.02, -0.02, -0.02, 0.3, -0.02])
    probe = plots.probe_sed(np.array([16.0, 15.5, 15.2, 15.0, 14.9]), PS1, (0.1, -0.2))
    np.testing.assert_allclose(probe.dimension_values(1), [0.0, -0.5, -0.8, -1.0, -1.1])
    assert "(0.1, -0.2)" in probe.label
    assert len(plots.probe_marker(None)) == 0 and len(plots.probe_marker((0.1, 0.2))) == 1


def test_category_bars_and_ranges():
    table = pd.DataFrame({"category": ["WD", "RGB"], "selection": [0.7, 0.3], "catalog": [0.1, 0.9]})
    bars = plots.category_bars(table)
    assert len(bars) == 4 and sorted(bars.dimension_values("set").tolist()) == ["catalog"] * 2 + ["selection"] * 2
    assert plots.symmetric_clim(np.array([-0.1, 0.5, np.nan]), quantile=1.0) == (-0.5, 0.5)
    lo, hi = robust_range(np.r_[np.linspace(0, 1, 5000), 1e6])
    assert lo < 0 < 1 < hi < 2  # one wild outlier does not stretch the view
    assert robust_range(np.array([np.nan])) is None


def test_shaded_numbers_are_float32(frame):
    """datashader aggregates in float64; the views send float32 (half the bytes per pan and zoom)."""
    spec = plots.view_specs(PS1, has_gaia=False)[0]
    for colour in (plots.ColourBy("n", None, "count"), plots.ColourBy("m", "c", "mean")):
        pts = plots.points(frame, spec, values=frame["latent_x"].to_numpy() if colour.column else None)
        img = plots.shade(pts, colour, spec, dynamic=False)
        values = img.dimension_values(2)
        assert values.dtype == np.float32 and np.nanmax(values) > 0
