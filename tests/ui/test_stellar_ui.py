"""In a real browser: the latent space coloured by the stellar model's Teff, and the "poorly fit by any star" preset
drawing each selected star's best-fit stellar SED beside its reconstruction."""

from __future__ import annotations

import pytest

from dashboard.plots import STELLAR_COLOUR
from tests.dashboard._stellar_sky import make_stellar_sky
from tests.ui.test_dashboard_ui import CHROMIUM, CHROMIUM_ARGS, _plot_geometry, _serve, playwright_api

pytestmark = [pytest.mark.ui, pytest.mark.slow]

# The latent figure's colour bar has this title (searched in the document: the figure is replaced on a change).
COLOUR_BAR_JS = """(title) => {
  for (const d of Bokeh.documents) for (const m of d.all_models) {
    if (m.type !== "Figure" || !m.title || m.title.text !== "Latent space") continue;
    if ([...m.right, ...m.left, ...m.above, ...m.below, ...m.center].some(r => r.type === "ColorBar" && r.title === title))
      return true;
  }
  return false;
}"""

# Best-fit curves drawn in the SED plot: the multi-line in the stellar model's colour, its number of stars.
STELLAR_CURVES_JS = """(colour) => {
  const v = [...Bokeh.index.all_views()].find(v => v.frame && v.model.title && v.model.title.text.startsWith("SEDs of"));
  if (!v) return -1;
  const lines = v.model.renderers.filter(r => r.glyph && r.glyph.type === "MultiLine" &&
      String(r.glyph.line_color.value !== undefined ? r.glyph.line_color.value : r.glyph.line_color).toLowerCase() === colour);
  return lines.length ? lines[0].data_source.data.xs.length : -1;
}"""


def test_colour_by_teff_and_the_stellar_sed_overlay(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-stellar-sky")
    catalog, model = make_stellar_sky(root, n=1000, seed=9)
    with _serve([str(catalog), str(model)], root) as url, playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1400})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url, timeout=120_000)
        page.wait_for_selector(".selection-summary", timeout=90_000)
        _plot_geometry(page, "Latent space")

        page.locator("select:has(option:text-is('Teff (stellar model)'))").select_option(label="Teff (stellar model)")
        page.wait_for_function(f"({COLOUR_BAR_JS})('Teff (K)')", timeout=30_000)

        # The SED plot starts with an empty best-fit layer; the preset fills it with the selected stars' fits.
        assert page.evaluate(STELLAR_CURVES_JS, STELLAR_COLOUR) == 0
        page.locator("select:has(option:text-is('poorly fit by any star'))").select_option(label="poorly fit by any star")
        playwright_api.expect(page.locator(".n-selected").first).not_to_have_text("0", timeout=30_000)
        # (the stellar model may still be loading TensorFlow on the server)
        page.wait_for_function(f"({STELLAR_CURVES_JS})({STELLAR_COLOUR!r}) >= 1", timeout=90_000)
        params = page.locator(".stellar-params")
        playwright_api.expect(params).to_contain_text("Teff (K)", timeout=30_000)
        playwright_api.expect(page.locator(".selection-summary")).to_contain_text("preset poorly_fit")
        assert not errors, errors
        browser.close()
