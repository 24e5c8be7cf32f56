"""Browser test of the dashboard on a partitioned (HATS) scored catalog: page, lasso, paged table, export."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from matplotlib.path import Path as MplPath

from core.catalog import read_parquet
from core.export import read_export
from core.partitioned import read_catalog_any, write_hats_frame
from dashboard.plots import SELECTION_COLOUR
from tests.dashboard._sky import make_scored_sky
from tests.ui.test_dashboard_ui import (
    CHROMIUM,
    CHROMIUM_ARGS,
    HIGHLIGHT_JS,
    _drag_lasso,
    _edge_distance,
    _export_and_download,
    _plot_geometry,
    _serve,
    _to_data,
    playwright_api,
)

pytestmark = [pytest.mark.ui, pytest.mark.slow]

OBJ_ID_CELLS = ".tabulator-row .tabulator-cell[tabulator-field='obj_id']"


@pytest.fixture(scope="module")
def hats_sky(tmp_path_factory):
    """~20,000 scored stars in a HATS catalog of several partitions, and the PCA model that scored them."""
    root = tmp_path_factory.mktemp("ui-hats")
    catalog, model = make_scored_sky(root, n=20_000, seed=11)
    hats = root / "scored_hats"
    write_hats_frame(read_parquet(catalog), hats, partition_rows=4000)
    return hats, model, root


@pytest.fixture(scope="module")
def page(hats_sky):
    hats, model, root = hats_sky
    with _serve([str(hats), str(model)], root) as url, playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1600, "height": 1400}, accept_downloads=True)
        pg.errors = []
        pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: pg.errors.append(str(e)))
        pg.goto(url, timeout=120_000)
        pg.wait_for_selector(".selection-summary", timeout=90_000)
        yield pg
        browser.close()


def test_lasso_on_a_partitioned_catalog_selects_pages_and_exports_its_stars(page, hats_sky, tmp_path):
    hats, _, _ = hats_sky
    df = read_catalog_any(hats)  # rows in the catalog's partition order, as the dashboard numbers them
    assert page.get_by_text(f"({len(df):,} stars)").count() == 1
    geom = _plot_geometry(page, "Latent space")
    cx, cy = geom["left"] + geom["width"] * 0.5, geom["top"] + geom["height"] * 0.5
    angles = np.linspace(0, 2 * np.pi, 6)[:-1] + 0.3
    path_px = np.c_[cx + geom["width"] * 0.25 * np.cos(angles), cy + geom["height"] * 0.25 * np.sin(angles)]
    _drag_lasso(page, "Latent space", path_px)

    poly = np.c_[_to_data(geom, path_px[:, 0], path_px[:, 1])]
    pts = df[["latent_x", "latent_y"]].to_numpy(float)
    inside = MplPath(poly).contains_points(pts)
    pixel = max(abs(geom["x1"] - geom["x0"]) / geom["width"], abs(geom["y1"] - geom["y0"]) / geom["height"])
    sure = _edge_distance(pts, poly) > 1.5 * pixel
    expected, unsure = set(df["obj_id"][inside & sure]), set(df["obj_id"][~sure])
    assert len(expected) > 500

    summary = page.locator(".n-selected")
    playwright_api.expect(summary.first).not_to_have_text("0", timeout=30_000)
    n_shown = int(summary.first.text_content().replace(",", ""))
    assert len(expected) <= n_shown <= len(expected) + len(unsure)

    # The table holds one page of the selection, read from the partitions; the pager reads the next one.
    cells = page.locator(OBJ_ID_CELLS)
    cells.first.wait_for(timeout=30_000)
    first_page = [int(c) for c in cells.all_text_contents()]
    assert len(first_page) == 12 and set(first_page) <= expected | unsure
    pages = page.locator(".table-page")
    assert pages.text_content().strip().startswith("page 1 of ")
    page.get_by_role("button", name="next >").click()
    playwright_api.expect(pages).to_contain_text("page 2 of ", timeout=30_000)
    playwright_api.expect(cells.first).not_to_have_text(str(first_page[0]), timeout=30_000)
    second_page = [int(c) for c in cells.all_text_contents()]
    assert set(second_page) <= expected | unsure and not set(second_page) & set(first_page)
    # Most anomalous first, across pages.
    res = df.set_index("obj_id")["max_abs_res"]
    shown = res.loc[first_page + second_page].to_numpy()
    assert (np.diff(shown) <= 0).all()

    with contextlib.suppress(playwright_api.TimeoutError):
        page.wait_for_function(f"(c) => ({HIGHLIGHT_JS})(c).filter(([t, n]) => t !== 'Gaia H-R diagram' && n === 0)"
                               ".length === 0", arg=SELECTION_COLOUR, timeout=30_000)  # fmt: skip
    lit = page.evaluate(HIGHLIGHT_JS, SELECTION_COLOUR)
    assert len(lit) == 5 and all(n > 0 for t, n in lit if t != "Gaia H-R diagram"), lit

    path = tmp_path / "selection.csv"
    _export_and_download(page, path)
    exported, prov = read_export(path)
    got = set(exported["obj_id"])
    assert len(got) == n_shown and expected <= got and got - expected <= unsure
    assert prov["selection"]["kind"] == "lasso" and prov["catalog"] == str(hats)
    assert not page.errors, page.errors
