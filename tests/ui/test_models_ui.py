"""Browser tests of the model switch, the second latent space and the light-curve panel: one real
``panel serve dashboard`` on a catalog scored by two models and a multi-modal VAE, with epochs beside it."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.path import Path as MplPath

from core.catalog import read_parquet
from core.epochs import read_epochs
from dashboard.plots import SELECTION_COLOUR
from dashboard.sky import robust_range
from tests.dashboard._multi_sky import SECOND
from tests.ui.test_dashboard_ui import (
    CHROMIUM,
    CHROMIUM_ARGS,
    HIGHLIGHT_JS,
    _drag_lasso,
    _edge_distance,
    _is_local,
    _plot_geometry,
    _serve,
    _to_data,
    playwright_api,
)

pytestmark = [pytest.mark.ui, pytest.mark.slow]

# A signature of a figure's datashaded catalog layer (not the selection layer): the sum of its pixel values.
BASE_IMAGE_JS = """
([title, colour]) => {
  const v = [...Bokeh.index.all_views()].find(v => v.frame && v.model.title && v.model.title.text === title);
  if (!v) return null;
  for (const r of v.model.renderers) {
    if (!r.glyph || r.glyph.type !== "Image") continue;
    const pal = r.glyph.color_mapper.palette;
    if (String(pal[pal.length - 1]).toLowerCase() === colour) continue;
    const img = r.data_source.data.image[0];
    const arr = img.array !== undefined ? img.array : img;
    let s = 0;
    for (let i = 0; i < arr.length; i++) if (Number.isFinite(arr[i])) s += arr[i];
    return {sum: s, x0: v.model.x_range.start, x1: v.model.x_range.end};
  }
  return null;
}
"""

# The light-curve panel's epoch plots ("obj_id N: K epochs"): [N, K, the points drawn].
LIGHTCURVE_JS = """
() => {
  const out = [];
  for (const v of Bokeh.index.all_views()) {
    if (!v.frame || !v.model.title) continue;
    const m = /^obj_id (\\d+): (\\d+) epochs$/.exec(v.model.title.text);
    if (!m) continue;
    let n = 0;
    for (const r of v.model.renderers) if (r.glyph && r.glyph.type === "Scatter") n += r.data_source.get_length() || 0;
    out.push([m[1], Number(m[2]), n]);  // obj_ids exceed 2**53: kept as text
  }
  return out;
}
"""


@pytest.fixture(scope="module")
def server(multi_paths, tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-models")
    with _serve([str(multi_paths["catalog"]), str(multi_paths["first"])], root) as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1800, "height": 1400})
        pg = context.new_page()
        pg.errors, pg.external = [], []
        pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: pg.errors.append(str(e)))
        pg.on("request", lambda r: None if _is_local(r.url) else pg.external.append(r.url))
        pg.goto(server, timeout=120_000)
        pg.wait_for_selector(".selection-summary", timeout=90_000)
        _plot_geometry(pg, "Latent space")
        yield pg
        browser.close()


def _lasso(page, title: str, fractions=(0.3, 0.7)) -> np.ndarray:
    """Draw a square lasso over the middle of ``title``'s plot; returns its vertices in data coordinates."""
    geom = _plot_geometry(page, title)
    lo, hi = fractions
    px = np.array([[lo, lo], [hi, lo], [hi, hi], [lo, hi]]) * [geom["width"], geom["height"]]
    px += [geom["left"], geom["top"]]
    _drag_lasso(page, title, px)
    return np.c_[_to_data(geom, px[:, 0], px[:, 1])], geom


def test_the_model_switch_changes_the_latent_view(page, multi_paths):
    df = read_parquet(multi_paths["catalog"])
    before = page.evaluate(BASE_IMAGE_JS, ["Latent space", SELECTION_COLOUR])
    assert before is not None and before["sum"] > 0
    page.locator(f"select:has(option:text-is('{SECOND} (pca run 1)'))").select_option(label=f"{SECOND} (pca run 1)")
    # The new map's initial range is that model's latent range (dashboard.sky.robust_range of its column).
    x0, x1 = robust_range(df[f"{SECOND}__latent_x"].to_numpy(np.float32))
    page.wait_for_function(
        f"(a) => {{ const s = ({BASE_IMAGE_JS})(a); return s && Math.abs(s.x0 - {x0}) < 1e-3 * {x1 - x0} "
        f"&& s.sum !== {before['sum']}; }}", arg=["Latent space", SELECTION_COLOUR], timeout=60_000,
    )  # fmt: skip
    count = page.locator(".threshold-count").first
    n_anom = int((df[f"{SECOND}__max_abs_res"].to_numpy(np.float32) > 0.1).sum())
    playwright_api.expect(count).to_contain_text(f"{n_anom:,} anomalies", timeout=30_000)
    assert not page.errors, page.errors


def test_side_by_side_latent_spaces_share_one_selection(page, multi_paths):
    df = read_parquet(multi_paths["catalog"])
    page.locator("select:has(option:text-is('pca (pca run 1) [default]'))").select_option(
        label="pca (pca run 1) [default]")
    page.locator(f"select:has(option:text-is('{SECOND} latent space'))").select_option(label=f"{SECOND} latent space")
    title = f"Latent space of {SECOND}"
    _plot_geometry(page, title)
    poly, geom = _lasso(page, title)
    pts = df[[f"{SECOND}__latent_x", f"{SECOND}__latent_y"]].to_numpy(float)
    pixel = max(abs(geom["x1"] - geom["x0"]) / geom["width"], abs(geom["y1"] - geom["y0"]) / geom["height"])
    sure = _edge_distance(pts, poly) > 1.5 * pixel
    inside = MplPath(poly).contains_points(pts)
    expected, unsure = int((inside & sure).sum()), int((~sure).sum())
    assert expected > 20
    summary = page.locator(".n-selected").first
    playwright_api.expect(summary).not_to_have_text("0", timeout=30_000)
    n_shown = int(summary.text_content().replace(",", ""))
    assert expected <= n_shown <= expected + unsure
    # The same stars light up in the other latent space (the default model's map) and the linked views.
    page.wait_for_function(f"(c) => ({HIGHLIGHT_JS})(c).filter(([t, n]) => (t === 'Latent space' || t === "
                           f"'{title}') && n > 0).length === 2", arg=SELECTION_COLOUR, timeout=60_000)  # fmt: skip
    assert not page.errors, page.errors


def test_the_lightcurve_panel_draws_the_selected_stars(page, multi_paths):
    df = read_parquet(multi_paths["catalog"])
    counts = read_epochs(multi_paths["detections"])["obj_id"].value_counts()
    page.locator(f"select:has(option:text-is('{SECOND} latent space'))").select_option(label="none")
    poly, geom = _lasso(page, "Latent space", fractions=(0.01, 0.99))
    page.wait_for_function(f"(c) => ({HIGHLIGHT_JS})(c).some(([t, n]) => t === 'Latent space' && n > 0)",
                           arg=SELECTION_COLOUR, timeout=60_000)  # fmt: skip
    page.get_by_text("Light curves", exact=True).click()
    page.wait_for_function(f"() => ({LIGHTCURVE_JS})().length === 3", timeout=120_000)
    drawn = page.evaluate(LIGHTCURVE_JS)
    playwright_api.expect(page.get_by_text("Light curves of the 3 most anomalous selected stars")).to_be_visible()
    # Which stars: the three highest multi-modal scores among the lassoed stars with epochs (stars within
    # 1.5 pixels of the lasso's edge may fall either way).
    pts = df[["latent_x", "latent_y"]].to_numpy(float)
    pixel = max(abs(geom["x1"] - geom["x0"]) / geom["width"], abs(geom["y1"] - geom["y0"]) / geom["height"])
    sure = _edge_distance(pts, poly) > 1.5 * pixel
    inside = MplPath(poly).contains_points(pts)
    has = df["obj_id"].isin(counts.index).to_numpy()
    score = df["mm_score"].to_numpy(float)
    maybe = set(df.loc[has & (inside | ~sure), "obj_id"].astype(int))
    third = np.sort(score[has & inside & sure])[-3]
    ids = [int(obj) for obj, _, _ in drawn]
    by_id = dict(zip(df["obj_id"].astype(int), score, strict=True))
    assert len(set(ids)) == 3 and set(ids) <= maybe
    assert all(by_id[i] >= third for i in ids)
    # Each star's own epochs, every one of them, drawn as points (the title's count is the table's).
    assert all(n == k == counts[int(obj)] > 5 for obj, k, n in drawn), (drawn, [counts[int(o)] for o in ids])
    assert not page.errors, page.errors
    assert not page.external, f"the page contacted other hosts: {page.external}"
