"""A large export in a real browser: a lasso of 300,000+ stars on a catalog of a million, exported on the
server (cancel, then Parquet) and downloaded over plain HTTP; the file holds exactly the selected stars."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.path import Path as MplPath

from core.catalog import write_parquet
from core.export import read_export
from tests._catalogs import make_scored_catalog
from tests.ui.test_dashboard_ui import (
    CHROMIUM,
    CHROMIUM_ARGS,
    _drag_lasso,
    _edge_distance,
    _export_and_download,
    _plot_geometry,
    _serve,
    _to_data,
    playwright_api,
)

pytestmark = [pytest.mark.ui, pytest.mark.slow]

N_STARS = 1_000_000


@pytest.fixture(scope="module")
def big_sky(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-big-sky")
    df = make_scored_catalog(N_STARS, seed=21)
    return df, write_parquet(df, root / "scored.parquet"), root


def test_lasso_of_300k_stars_exports_and_downloads_exactly_the_selection(big_sky, tmp_path):
    df, catalog, root = big_sky
    # The documented route for downloads: Panel's --plugins (the other browser tests use the fallback).
    with _serve([str(catalog)], root, ("--plugins", "dashboard.downloads")) as url, \
            playwright_api.sync_playwright() as p:  # fmt: skip
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1400}, accept_downloads=True)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url, timeout=180_000)  # a million stars: the first page waits for the warm-up
        page.wait_for_selector(".selection-summary", timeout=180_000)
        geom = _plot_geometry(page, "Latent space")

        # A lasso over the left half of the latent plot, top to bottom: about half of the million stars.
        left, top, w, h = geom["left"], geom["top"], geom["width"], geom["height"]
        path_px = np.array([[left + 0.04 * w, top + 0.02 * h], [left + 0.55 * w, top + 0.02 * h],
                            [left + 0.50 * w, top + 0.98 * h], [left + 0.04 * w, top + 0.98 * h]])  # fmt: skip
        _drag_lasso(page, "Latent space", path_px, steps=5)
        summary = page.locator(".n-selected").first
        playwright_api.expect(summary).not_to_have_text("0", timeout=60_000)
        n_shown = int(summary.text_content().replace(",", ""))
        assert n_shown >= 300_000

        # Cancel stops an export on its way; then a Parquet export downloads over HTTP.
        page.get_by_role("button", name="Export selection").click()
        page.get_by_role("button", name="Cancel").click()
        page.get_by_text("Export cancelled.").wait_for(timeout=60_000)
        download = _export_and_download(page, tmp_path / "selection.parquet", fmt="Parquet", timeout=180_000)
        assert download.suggested_filename == "sedscape_selection.parquet"
        assert not errors, errors
        browser.close()

    exported, prov = read_export(tmp_path / "selection.parquet")
    got = exported["obj_id"].to_numpy()
    assert len(got) == n_shown == prov["n_selected"] and len(np.unique(got)) == len(got)
    # Exactly the stars inside the recorded lasso (float32 view coordinates, as plotted), in catalog order ...
    pts = df[["latent_x", "latent_y"]].to_numpy(np.float32).astype(float)
    recorded = np.array(prov["selection"]["vertices"])
    assert got.tolist() == df["obj_id"][MplPath(recorded).contains_points(pts)].tolist()
    # ... and that lasso is the one drawn: the stars clear of its edge by a pixel fall on the same side.
    drawn = np.c_[_to_data(geom, path_px[:, 0], path_px[:, 1])]
    pixel = max(abs(geom["x1"] - geom["x0"]) / geom["width"], abs(geom["y1"] - geom["y0"]) / geom["height"])
    sure = _edge_distance(pts, drawn) > 1.5 * pixel
    inside = MplPath(drawn).contains_points(pts)
    assert set(df["obj_id"][inside & sure]) <= set(got) <= set(df["obj_id"][inside | ~sure])
    assert prov["catalog"] == str(catalog) and prov["format"] == "parquet" and prov["columns"] == "all"
