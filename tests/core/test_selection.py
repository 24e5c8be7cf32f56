"""Geometry selections on the full catalog: polygon (lasso), box and sky cone."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from matplotlib.path import Path as MplPath

from core.bands import PS1
from core.selection import PRESET_FIELDS, box_mask, cone_mask, polygon_mask, selection_mask, view_coordinate


def test_polygon_mask_matches_matplotlib_on_a_concave_polygon():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-1, 2, 20_000), rng.uniform(-1, 2, 20_000)
    star = np.array([[0, 0], [1, 0.2], [0.4, 0.4], [1.2, 1.1], [0.1, 0.9], [0.3, 0.5]])  # concave
    got = polygon_mask(x, y, star)
    want = MplPath(star).contains_points(np.c_[x, y])
    assert got.sum() > 1000
    assert np.array_equal(got, want)


def test_polygon_mask_accepts_closed_polygons_float32_and_nan():
    x = np.array([0.5, 0.5, np.nan, 3.0], dtype=np.float32)
    y = np.array([0.5, np.nan, 0.5, 3.0], dtype=np.float32)
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]])
    assert polygon_mask(x, y, square).tolist() == [True, False, False, False]


def test_polygon_mask_rejects_bad_shapes_and_degenerate_polygons():
    with pytest.raises(ValueError, match=r"\(M, 2\)"):
        polygon_mask(np.zeros(3), np.zeros(3), np.zeros(6))
    assert not polygon_mask(np.zeros(3), np.zeros(3), np.array([[0, 0], [1, 1]])).any()


def test_box_mask_takes_corners_in_any_order():
    x, y = np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0])
    assert box_mask(x, y, (0.5, 0.5, 2.5, 1.5)).tolist() == [False, True, False]
    assert box_mask(x, y, (2.5, 1.5, 0.5, 0.5)).tolist() == [False, True, False]


def test_cone_mask_agrees_with_astropy_separation():
    rng = np.random.default_rng(2)
    ra0, dec0, radius = PRESET_FIELDS["M3"]
    ra = ra0 + rng.uniform(-0.4, 0.4, 5000)
    dec = dec0 + rng.uniform(-0.4, 0.4, 5000)
    sep = SkyCoord(ra * u.deg, dec * u.deg).separation(SkyCoord(ra0 * u.deg, dec0 * u.deg)).deg
    got = cone_mask(ra, dec, ra0, dec0, radius)
    clear = np.abs(sep - radius) > 1e-9
    assert got.sum() > 100
    assert np.array_equal(got[clear], (sep <= radius)[clear])


def test_preset_fields_are_the_papers_radii():
    assert {k: v[2] for k, v in PRESET_FIELDS.items()} == {
        "M3": 0.15, "M53": 0.15, "NGC 5466": 0.15, "NGC 5053": 0.15, "NGC 4147": 0.15, "Leo II": 0.05,
    }  # fmt: skip


def test_another_models_coordinates_and_anomalies_are_found_by_their_prefix():
    import pandas as pd

    rng = np.random.default_rng(1)
    cols = {b: rng.uniform(15, 20, 50) for b in PS1.names}
    cols |= {f"{b}_rec": cols[b] + 0.01 for b in PS1.names}
    cols |= {f"m2__{b}_rec": cols[b] - rng.uniform(0, 0.3, 50) for b in PS1.names}
    cols |= {"max_abs_res": np.full(50, 0.01), "m2__max_abs_res": rng.uniform(0, 0.3, 50), "m2__latent_x": rng.random(50)}
    df = pd.DataFrame(cols)
    gi = view_coordinate(df, "m2__g_i_rec", PS1)
    assert np.array_equal(gi, df["m2__g_rec"].to_numpy(np.float32) - df["m2__i_rec"].to_numpy(np.float32))
    assert np.array_equal(view_coordinate(df, "m2__g_rec", PS1), df["m2__g_rec"].to_numpy(np.float32))
    assert np.array_equal(view_coordinate(df, "m2__latent_x", PS1), df["m2__latent_x"].to_numpy(np.float32))
    assert not np.array_equal(view_coordinate(df, "g_i_rec", PS1), gi)  # the default model's own
    geometry = {"kind": "preset", "preset": "anomalies", "threshold": 0.1}
    assert not selection_mask(df, geometry, PS1).any()
    mask = selection_mask(df, geometry | {"column": "m2__max_abs_res"}, PS1)
    assert np.array_equal(mask, df["m2__max_abs_res"].to_numpy(np.float32) > 0.1) and mask.any()
