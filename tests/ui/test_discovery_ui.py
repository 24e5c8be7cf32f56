"""Browser tests of the discovery loop on a real ``panel serve dashboard``: a labelled lasso survives the
server being killed (SIGKILL) and comes back as a preset, an answer re-ranks the review table, and
"find more like these" colours the latent space. One server (restarted once, for real) serves the module.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.catalog import band_set_of, read_parquet
from core.labels import LabelStore
from core.selection import selection_mask
from tests.dashboard._sky import make_scored_sky

pytestmark = [pytest.mark.ui, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api")

from tests.ui.test_dashboard_ui import (  # noqa: E402  (after the skips: it needs Chromium too)
    CHROMIUM_ARGS,
    REPO,
    _drag_lasso,
    _free_port,
    _plot_geometry,
    _wait_for,
)

LABEL = "lasso stars"
PRESET_SELECT = "select:has(option:text-is('choose a preset...'))"
REVIEW_IDS = ".review-table .tabulator-row .tabulator-cell[tabulator-field='obj_id']"
COLOUR_BAR_JS = """
(title) => {
  for (const v of Bokeh.index.all_views()) {
    if (v.frame && v.model.title && v.model.title.text === title) {
      const side = [...v.model.right, ...v.model.left, ...v.model.center, ...v.model.below, ...v.model.above];
      return side.filter(r => r.type === "ColorBar").map(r => r.title);
    }
  }
  return null;
}
"""


class Server:
    """``panel serve dashboard --args CATALOG MODEL LABELS`` on a free loopback port, which a test may kill."""

    def __init__(self, args: list[str], root: Path) -> None:
        self.args, self.root, self.proc, self.url, self.log = args, root, None, "", root / "serve.log"

    def start(self) -> str:
        port, closed = _free_port(), _free_port()  # nothing listens on ``closed``: the archives are offline
        env = dict(os.environ, SEDSCAPE_PS1_IMAGE_URL=f"http://127.0.0.1:{closed}/cgi-bin",
                   SEDSCAPE_CACHE_DIR=str(self.root / "cache"), SEDSCAPE_GENERATED_DIR=str(self.root / "generated"),
                   TF_CPP_MIN_LOG_LEVEL="2")  # fmt: skip
        panel = Path(sys.executable).with_name("panel")
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [str(panel), "serve", "dashboard", "--port", str(port), "--address", "127.0.0.1",
                 "--allow-websocket-origin", f"127.0.0.1:{port}", "--liveness", "--args", *self.args],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        _wait_for(f"http://127.0.0.1:{port}/liveness", self.proc)
        self.url = f"http://127.0.0.1:{port}/dashboard"
        return self.url

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, exactly as a crash or the OOM killer would stop it."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def sky(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-discovery")
    catalog, model = make_scored_sky(root, n=3000, seed=5)
    return catalog, model, root, root / "labels" / "discovery.sqlite"


@pytest.fixture(scope="module")
def server(sky):
    catalog, model, root, labels = sky
    srv = Server([str(catalog), str(model), str(labels)], root)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser, url: str):
    context = browser.new_context(viewport={"width": 1600, "height": 1400})
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto(url, timeout=180_000)  # the first page waits for the server's warm-up (slow on a loaded machine)
    pg.wait_for_selector(".selection-summary", timeout=120_000)
    _plot_geometry(pg, "Latent space")
    return pg


def _n_selected(page) -> int:
    return int(page.locator(".n-selected").first.text_content().replace(",", ""))


def _lasso(page) -> None:
    geom = _plot_geometry(page, "Latent space")
    cx, cy = geom["left"] + geom["width"] * 0.5, geom["top"] + geom["height"] * 0.5
    angles = np.linspace(0, 2 * np.pi, 6)[:-1] + 0.3
    path = np.c_[cx + 0.2 * geom["width"] * np.cos(angles), cy + 0.2 * geom["height"] * np.sin(angles)]
    _drag_lasso(page, "Latent space", path)
    playwright_api.expect(page.locator(".n-selected").first).not_to_have_text("0", timeout=60_000)


def _label(page, name: str) -> int:
    n = _n_selected(page)
    page.get_by_placeholder("label name, e.g. BHB candidate").fill(name)
    page.get_by_role("button", name="Label selection").click()
    playwright_api.expect(page.locator(".label-status")).to_contain_text(f"Labelled {n:,} stars '{name}'",
                                                                         timeout=60_000)  # fmt: skip
    return n


@pytest.fixture(scope="module")
def labelled(browser, server, sky):
    """Label a lasso selection in the browser, then SIGKILL the server right after and start it again."""
    page = _open(browser, server.url)
    _lasso(page)
    n = _label(page, LABEL)
    assert n > 50 and not page.errors, page.errors
    page.context.close()
    server.kill()  # no clean shutdown, nothing gets a chance to flush: as a crash or the OOM killer would stop it
    members = LabelStore(sky[3]).members(LABEL)
    server.start()
    return n, members


@pytest.fixture(scope="module")
def page(browser, server, labelled):
    """One page on the restarted server, shared by the tests (each page load costs many seconds here)."""
    pg = _open(browser, server.url)
    yield pg
    pg.context.close()


def test_a_labelled_lasso_survives_killing_the_server_and_comes_back_as_a_preset(page, labelled, sky):
    catalog, _, _, labels = sky
    n, members = labelled
    origin = json.loads(LabelStore(labels).table(LABEL)["origin"].iloc[0])
    assert len(members) == n and origin["selection"]["kind"] == "lasso"
    df = read_parquet(catalog)
    again = selection_mask(df, origin["selection"], band_set_of(df))  # the recorded lasso picks the same stars
    assert set(df["obj_id"][again]) == set(members.tolist())
    page.locator(PRESET_SELECT).select_option(label=f"label: {LABEL}")
    playwright_api.expect(page.locator(".n-selected").first).to_have_text(f"{n:,}", timeout=60_000)
    cell = page.locator(".tabulator-row .tabulator-cell[tabulator-field='obj_id']").first
    cell.wait_for(timeout=30_000)
    assert int(cell.text_content()) in set(members.tolist())
    assert not page.errors, page.errors


def test_an_answer_re_ranks_the_review_table(page, sky):
    page.get_by_text("Anomaly review", exact=True).click()
    page.get_by_role("button", name="Rank the anomaly candidates").click()
    page.wait_for_selector(".review-table .tabulator-row", timeout=120_000)
    first_cell = page.locator(REVIEW_IDS).first
    first = first_cell.text_content()
    assert first == page.locator(".candidate-id").text_content()
    t0 = time.perf_counter()
    page.get_by_role("button", name="Not interesting", exact=True).click()
    playwright_api.expect(first_cell).not_to_have_text(first, timeout=60_000)
    print(f"answer -> re-ranked table in the browser: {time.perf_counter() - t0:.2f} s")
    playwright_api.expect(page.locator(".review-status")).to_contain_text("Re-ranked", timeout=30_000)
    ids = [c.text_content() for c in page.locator(REVIEW_IDS).all()]
    assert first not in ids  # the answered star left the table
    assert LabelStore(sky[3]).answers() == {int(first): False}
    assert not page.errors, page.errors


def test_find_more_like_these_colours_the_latent_space(page):
    page.get_by_text("Find more like these", exact=True).click()
    page.locator(f"select:has(option:text-is('{LABEL}'))").first.select_option(label=LABEL)
    page.get_by_role("button", name="Find more like these", exact=True).click()
    playwright_api.expect(page.locator(".find-more-status")).to_contain_text("ROC-AUC", timeout=120_000)
    page.wait_for_function(f"() => JSON.stringify(({COLOUR_BAR_JS})('Latent space')).includes(\"P(like '{LABEL}')\")",
                           timeout=60_000)  # fmt: skip
    auc = float(page.locator(".find-more-auc").text_content())
    assert 0.5 < auc <= 1.0  # a lasso region of the latent map is learnable from the features
    assert not page.errors, page.errors
