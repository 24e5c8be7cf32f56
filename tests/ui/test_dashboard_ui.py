"""Browser tests: a real ``panel serve dashboard`` on loopback driven by Debian's Chromium through Playwright.

Run with ``pytest tests/ui -m ui``; they need ``/usr/bin/chromium`` (``apt-get install chromium``) and
are skipped without it. Set ``SEDSCAPE_DASHBOARD_SCREENSHOT=docs/dashboard.png`` to keep the screenshot.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from matplotlib.path import Path as MplPath

from core.catalog import read_parquet
from core.export import read_export
from dashboard.plots import SELECTION_COLOUR
from tests.dashboard._sky import make_scored_sky

pytestmark = [pytest.mark.ui, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
REPO = Path(__file__).resolve().parents[2]

if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"panel serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="module")
def sky(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-sky")
    catalog, model = make_scored_sky(root, n=3000, seed=5)
    return catalog, model, root


@contextlib.contextmanager
def _serve(args: list[str], root: Path, panel_args: tuple[str, ...] = ()):
    """``panel serve dashboard [panel_args] --args ...`` on a free loopback port, every archive pointed at a
    closed port."""
    port, closed = _free_port(), _free_port()  # nothing listens on ``closed``: the archives are offline
    env = dict(
        os.environ,
        SEDSCAPE_PS1_IMAGE_URL=f"http://127.0.0.1:{closed}/cgi-bin",
        SEDSCAPE_PS1_TAP_URL=f"http://127.0.0.1:{closed}/tap",
        SEDSCAPE_GAIA_TAP_URL=f"http://127.0.0.1:{closed}/tap",
        SEDSCAPE_SIMBAD_TAP_URL=f"http://127.0.0.1:{closed}/tap",
        SEDSCAPE_CACHE_DIR=str(root / "cache"),
        SEDSCAPE_GENERATED_DIR=str(root / "generated"),
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    panel = Path(sys.executable).with_name("panel")
    with open(root / f"serve-{port}.log", "w") as log:
        proc = subprocess.Popen(
            [str(panel), "serve", "dashboard", "--port", str(port), "--address", "127.0.0.1",
             "--allow-websocket-origin", f"127.0.0.1:{port}", "--liveness", *panel_args, "--args", *args],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _wait_for(f"http://127.0.0.1:{port}/liveness", proc)
            yield f"http://127.0.0.1:{port}/dashboard"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def server(sky):
    catalog, model, root = sky
    with _serve([str(catalog), str(model)], root) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1600, "height": 1400}, accept_downloads=True)
    pg = context.new_page()
    pg.errors = []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.external = []  # the page must load everything from the dashboard's own server
    pg.on("request", lambda r: None if _is_local(r.url) else pg.external.append(r.url))
    pg.goto(server, timeout=120_000)  # the first page waits for the server's warm-up (slow on a loaded machine)
    pg.wait_for_selector(".selection-summary", timeout=90_000)
    _plot_geometry(pg, "Latent space")  # waits until the latent figure has rendered
    yield pg
    context.close()


PLOT_JS = """
(title) => {
  for (const v of Bokeh.index.all_views()) {
    if (v.frame && v.model.title && v.model.title.text === title && v.canvas_view && v.el.isConnected
        && v.frame.bbox.width > 0) {
      const c = v.canvas_view.el.getBoundingClientRect();
      const f = v.frame.bbox;
      return {left: c.left + f.left, top: c.top + f.top, width: f.width, height: f.height,
              x0: v.model.x_range.start, x1: v.model.x_range.end,
              y0: v.model.y_range.start, y1: v.model.y_range.end};
    }
  }
  return null;
}
"""

TOOL_JS = """
([title, toolType]) => {
  let fig = null;
  for (const v of Bokeh.index.all_views()) {
    if (v.frame && v.model.title && v.model.title.text === title) fig = v.model;
  }
  for (const v of Bokeh.index.all_views()) {
    const tool = v.model && v.model.tool;
    if (tool && tool.type === toolType && fig.toolbar.tools.includes(tool) && v.el.isConnected) {
      const r = v.el.getBoundingClientRect();
      if (r.width > 0) return {x: r.left + r.width / 2, y: r.top + r.height / 2};
    }
  }
  return null;
}
"""


def _is_local(url: str) -> bool:
    parsed = urllib.parse.urlsplit(url)
    return parsed.scheme in ("data", "blob") or parsed.hostname in ("127.0.0.1", "localhost")


BACKENDS_JS = "() => [...Bokeh.index.all_views()].filter(v => v.frame).map(v => v.model.output_backend)"


# Per figure with a selection layer (an image whose palette ends in the selection colour): [title, pixels lit].
HIGHLIGHT_JS = """
(colour) => {
  const out = [];
  for (const v of Bokeh.index.all_views()) {
    if (!v.frame || !v.model.title) continue;
    let lit = 0, layers = 0;
    for (const r of v.model.renderers) {
      const mapper = r.glyph && r.glyph.type === "Image" ? r.glyph.color_mapper : null;
      const pal = mapper ? mapper.palette : null;
      if (!pal || String(pal[pal.length - 1]).toLowerCase() !== colour) continue;
      layers++;
      const img = r.data_source.data.image[0];
      const arr = img.array !== undefined ? img.array : img;
      for (let i = 0; i < arr.length; i++) if (arr[i] >= 1) lit++;
    }
    if (layers) out.push([v.model.title.text, lit]);
  }
  return out;
}
"""


# Observed SED curves drawn in the SED plot (one multi-line path per star).
SED_CURVES_JS = """(() => {
  const v = [...Bokeh.index.all_views()].find(v => v.frame && v.model.title && v.model.title.text.startsWith("SEDs of"));
  if (!v) return 0;
  return Math.max(0, ...v.model.renderers.filter(r => r.glyph && r.glyph.type === "MultiLine")
                                     .map(r => r.data_source.data.xs.length));
})()"""


def _plot_geometry(page, title: str) -> dict:
    """The plot's frame on screen and its data ranges, once it is in view and the layout has settled
    (a tab opened below scrolls the page; showing or hiding a view resizes its neighbours)."""
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_function(f"() => ({PLOT_JS})({title!r}) !== null", timeout=60_000)
    geom = page.evaluate(PLOT_JS, title)
    for _ in range(50):
        page.wait_for_timeout(200)
        again = page.evaluate(PLOT_JS, title)
        if again == geom:
            return geom
        geom = again
    raise AssertionError(f"the {title!r} plot kept moving: {geom}")


def _to_pixels(geom: dict, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    px = geom["left"] + (x - geom["x0"]) / (geom["x1"] - geom["x0"]) * geom["width"]
    py = geom["top"] + (geom["y1"] - y) / (geom["y1"] - geom["y0"]) * geom["height"]
    return px, py


def _to_data(geom: dict, px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = geom["x0"] + (px - geom["left"]) / geom["width"] * (geom["x1"] - geom["x0"])
    y = geom["y1"] - (py - geom["top"]) / geom["height"] * (geom["y1"] - geom["y0"])
    return x, y


def _edge_distance(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Distance from each point to the nearest polygon edge (same units as the input)."""
    a, b = poly, np.roll(poly, -1, axis=0)
    ab = b - a
    t = np.clip(((points[:, None, :] - a) * ab).sum(-1) / (ab**2).sum(-1), 0, 1)
    nearest = a + t[..., None] * ab
    return np.sqrt(((points[:, None, :] - nearest) ** 2).sum(-1)).min(axis=1)


def _select_tool(page, title: str, tool: str) -> None:
    pos = page.evaluate(TOOL_JS, [title, tool])
    assert pos is not None, f"no {tool} button in the toolbar of {title!r}"
    page.mouse.click(pos["x"], pos["y"])


def _drag_lasso(page, title: str, path_px: np.ndarray, steps: int = 7) -> None:
    """Draw a closed lasso through ``path_px`` (screen pixels) with the plot's lasso tool, ``steps`` moves an edge."""
    _select_tool(page, title, "LassoSelectTool")
    page.mouse.move(*path_px[0])
    page.mouse.down()
    for a, b in zip(path_px, np.roll(path_px, -1, axis=0), strict=True):
        for t in np.linspace(0, 1, steps + 1)[1:]:
            page.mouse.move(*(a + t * (b - a)))
    page.mouse.up()


def test_page_loads_without_console_errors(page, tmp_path):
    page.wait_for_timeout(1500)  # let the datashaded images arrive
    assert not page.errors, page.errors
    assert not page.external, f"the page contacted other hosts: {page.external}"
    # Datashaded images gain nothing from WebGL, and without a GPU it makes every repaint slow.
    backends = page.evaluate(BACKENDS_JS)
    assert backends and set(backends) == {"canvas"}, backends
    for title in ("Latent space", "Colour-magnitude", "Gaia H-R diagram"):
        assert _plot_geometry(page, title)["width"] > 100
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("SEDSCAPE_DASHBOARD_SCREENSHOT"):
        shutil.copy(shot, REPO / os.environ["SEDSCAPE_DASHBOARD_SCREENSHOT"])


def test_lasso_on_latent_selects_stars_inside_polygon(page, sky, tmp_path):
    catalog, _, _ = sky
    df = read_parquet(catalog)
    geom = _plot_geometry(page, "Latent space")
    # A pentagon around the middle of the latent cloud, drawn in screen pixels.
    cx, cy = geom["left"] + geom["width"] * 0.5, geom["top"] + geom["height"] * 0.5
    angles = np.linspace(0, 2 * np.pi, 6)[:-1] + 0.3
    rx, ry = geom["width"] * 0.25, geom["height"] * 0.25
    path_px = np.c_[cx + rx * np.cos(angles), cy + ry * np.sin(angles)]
    _drag_lasso(page, "Latent space", path_px)

    poly = np.c_[_to_data(geom, path_px[:, 0], path_px[:, 1])]
    pts = df[["latent_x", "latent_y"]].to_numpy(float)
    inside = MplPath(poly).contains_points(pts)
    # Stars within a pixel of the drawn edge may fall either way from screen rounding: leave them out.
    pixel = max(abs(geom["x1"] - geom["x0"]) / geom["width"], abs(geom["y1"] - geom["y0"]) / geom["height"])
    sure = _edge_distance(pts, poly) > 1.5 * pixel
    expected = set(df["obj_id"][inside & sure])
    unsure = set(df["obj_id"][~sure])
    assert len(expected) > 50

    summary = page.locator(".n-selected")
    playwright_api.expect(summary.first).not_to_have_text("0", timeout=30_000)
    n_shown = int(summary.first.text_content().replace(",", ""))
    assert len(expected) <= n_shown <= len(expected) + len(unsure)

    # The table shows the selected stars (most anomalous first): its first obj_id is one of them.
    cell = page.locator(".tabulator-row .tabulator-cell[tabulator-field='obj_id']").first
    cell.wait_for(timeout=30_000)
    assert int(cell.text_content().replace(",", "")) in expected | unsure

    # Every linked view highlights the selection (the H-R diagram only if a selected star has a parallax).
    with contextlib.suppress(playwright_api.TimeoutError):
        page.wait_for_function(f"(c) => ({HIGHLIGHT_JS})(c).filter(([t, n]) => t !== 'Gaia H-R diagram' && n === 0)"
                               ".length === 0", arg=SELECTION_COLOUR, timeout=30_000)  # fmt: skip
    lit = page.evaluate(HIGHLIGHT_JS, SELECTION_COLOUR)
    assert len(lit) == 5 and all(n > 0 for t, n in lit if t != "Gaia H-R diagram"), lit
    # The SEDs tab (shown by default) draws the most anomalous selected stars, a curve each.
    page.wait_for_function(SED_CURVES_JS + " >= 2", timeout=30_000)

    path = tmp_path / "selection.csv"
    _export_and_download(page, path)
    exported, prov = read_export(path)
    got = set(exported["obj_id"])
    assert len(got) == n_shown
    assert expected <= got and got - expected <= unsure
    assert prov["selection"]["kind"] == "lasso" and prov["selection"]["view"] == "latent"
    assert prov["catalog"] == str(catalog)
    assert not page.errors, page.errors


def _export_and_download(page, path: Path, fmt: str | None = None, timeout: float = 120_000):
    """Export the selection in the browser (in ``fmt``, a label of the format selector) and download the
    finished file over HTTP into ``path``; returns the download."""
    if fmt is not None:
        page.locator("select:has(option:text-is('Parquet'))").select_option(label=fmt)
    page.get_by_role("button", name="Export selection").click()
    link = page.locator("a.export-download")
    link.wait_for(timeout=timeout)
    with page.expect_download(timeout=timeout) as dl:
        link.click()
    dl.value.save_as(path)
    assert "/sedscape-exports/" in dl.value.url  # plain HTTP, not the websocket
    return dl.value


def test_latent_probe_and_offline_cutouts(page):
    geom = _plot_geometry(page, "Latent space")
    # Tap near a corner of the plot, where there are no stars: the decoder still answers.
    page.mouse.click(geom["left"] + 8, geom["top"] + 8)
    page.get_by_text("Latent probe", exact=True).click()
    probe = page.get_by_text("Decoded magnitudes")
    probe.wait_for(timeout=30_000)
    mags = [float(v.split()[1]) for v in probe.text_content().split(":", 1)[1].split("|")]
    assert len(mags) == 5 and all(np.isfinite(mags))

    _select_box(page)
    page.get_by_text("Cutouts", exact=True).click()
    placeholder = page.get_by_text("No image")
    placeholder.first.wait_for(timeout=60_000)
    assert page.locator("img[alt='PS1 cutout']").count() == 0
    assert not page.external, f"the page contacted other hosts: {page.external}"
    assert not page.errors, page.errors


def _select_box(page) -> None:
    geom = _plot_geometry(page, "Latent space")
    _select_tool(page, "Latent space", "BoxSelectTool")
    x0, y0 = geom["left"] + geom["width"] * 0.2, geom["top"] + geom["height"] * 0.2
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + geom["width"] * 0.3, y0 + geom["height"] * 0.3, steps=10)
    page.mouse.up()


def test_invalid_catalog_path_shows_an_error_page(browser, tmp_path):
    missing = tmp_path / "no_such_catalog.parquet"
    with _serve([str(missing)], tmp_path) as url:
        pg = browser.new_page()
        pg.goto(url)
        alert = pg.get_by_text("no_such_catalog.parquet")
        alert.first.wait_for(timeout=60_000)
        assert "does not exist" in alert.first.text_content()
        assert pg.get_by_text("cannot open the catalog").count() == 1
        pg.close()
