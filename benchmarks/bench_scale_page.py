"""The dashboard on a large partitioned (HATS) scored catalog, in a real browser, against a reference catalog.

    python benchmarks/tile_hats.py BASE_SCORED_HATS /tmp/sky30m_scored --copies 60
    python benchmarks/bench_scale_page.py /tmp/sky30m_scored data/models/default --reference BASE.parquet

For each catalog (the reference first) it starts ``panel serve dashboard --args CATALOG MODEL`` on a free
loopback port, drives Debian's Chromium (Playwright) and times: server start -> first page with every
view's image; a lasso on the latent space -> summary, first table page, every linked view highlighted;
a wheel zoom and a drag pan of the latent space -> every layer re-rendered; and samples the server's
resident memory (its whole process tree) every 0.2 s. Targets (issue 15, 30M stars): first page < 30 s,
lasso < 3 s, pan/zoom < 2 s, server memory < 8 GB. Times on the shared machine are noisy: the ratios to
the reference measured in the same run are the comparable numbers; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
from playwright.sync_api import expect, sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.bench_dashboard_page import RANGE_JS, ZOOMED_JS  # noqa: E402
from dashboard.plots import SELECTION_COLOUR  # noqa: E402
from tests.ui.test_dashboard_ui import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    HIGHLIGHT_JS,
    _free_port,
    _plot_geometry,
    _select_tool,
    _wait_for,
)

TARGETS = {"first page": 30.0, "lasso": 3.0, "lasso again": 3.0, "zoom": 2.0, "pan": 2.0, "peak RSS GB": 8.0}
IMAGES_JS = """(n) => [...Bokeh.index.all_views()].filter(v => v.frame && v.model.title && v.model.renderers.some(
                       r => r.glyph && r.glyph.type === "Image" && r.data_source.data.image.length)).length >= n"""


class PeakRss:
    """Samples the resident memory of a process and its children until stopped; keeps the peak."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.proc, self.every, self.peak = psutil.Process(pid), every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs if p.is_running()))
            except psutil.Error:
                pass
            self._stop.wait(self.every)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak / 1e9


def _lasso(page, path: np.ndarray, name: str) -> dict[str, float]:
    """Draw the lasso ``path`` (screen pixels); times to the new count, the first table row, every view lit."""
    before = page.locator(".n-selected").first.text_content()
    page.mouse.move(*path[0])
    page.mouse.down()
    for xy in path[1:]:
        page.mouse.move(*xy)
    t1 = time.perf_counter()
    page.mouse.up()
    expect(page.locator(".n-selected").first).not_to_have_text(before, timeout=120_000)
    out = {f"{name}: summary": time.perf_counter() - t1}
    page.locator(".tabulator-row").first.wait_for(timeout=120_000)
    out[f"{name}: table page"] = time.perf_counter() - t1
    page.wait_for_function(f"(c) => ({HIGHLIGHT_JS})(c).every(([t, n]) => n > 0)", arg=SELECTION_COLOUR,
                           timeout=120_000)  # fmt: skip
    out[name] = time.perf_counter() - t1
    print(f"  {name} selected {page.locator('.n-selected').first.text_content()} stars")
    return out


def measure(catalog: str, model: str | None, settle: float, log_path: Path | None) -> dict[str, float]:
    port, closed = _free_port(), _free_port()
    env = dict(os.environ, SEDSCAPE_PS1_IMAGE_URL=f"http://127.0.0.1:{closed}/", TF_CPP_MIN_LOG_LEVEL="2")
    cmd = [str(Path(sys.executable).with_name("panel")), "serve", "dashboard", "--port", str(port),
           "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}", "--liveness",
           "--args", catalog, *([model] if model else [])]  # fmt: skip
    out: dict[str, float] = {}
    log = open(log_path, "w") if log_path else subprocess.DEVNULL  # noqa: SIM115
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    rss = PeakRss(proc.pid)
    try:
        _wait_for(f"http://127.0.0.1:{port}/liveness", proc, timeout=600)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1400})
            page.goto(f"http://127.0.0.1:{port}/dashboard", timeout=600_000)
            page.wait_for_selector(".selection-summary", timeout=600_000)
            geom = _plot_geometry(page, "Latent space")
            page.wait_for_function(IMAGES_JS, arg=5, timeout=600_000)
            out["first page"] = time.perf_counter() - t0
            n_total = page.locator(".sedscape-header").first.text_content()
            print(f"  {n_total.strip()}")

            page.wait_for_timeout(settle * 1000)
            cx, cy = geom["left"] + geom["width"] / 2, geom["top"] + geom["height"] / 2
            ang = np.linspace(0, 2 * np.pi, 24)
            path = np.c_[cx + 0.2 * geom["width"] * np.cos(ang), cy + 0.2 * geom["height"] * np.sin(ang)]
            _select_tool(page, "Latent space", "LassoSelectTool")
            out.update(_lasso(page, path, "lasso"))

            page.wait_for_timeout(2000)
            start = page.evaluate(RANGE_JS, "Latent space")
            page.mouse.move(cx, cy)
            t2 = time.perf_counter()
            page.mouse.wheel(0, -300)
            page.wait_for_function(ZOOMED_JS, arg=["Latent space", start], timeout=120_000)
            out["zoom"] = time.perf_counter() - t2

            page.wait_for_timeout(2000)
            _select_tool(page, "Latent space", "PanTool")
            start = page.evaluate(RANGE_JS, "Latent space")
            page.mouse.move(cx, cy)
            page.mouse.down()
            page.mouse.move(cx + 0.15 * geom["width"], cy + 0.1 * geom["height"], steps=8)
            t3 = time.perf_counter()
            page.mouse.up()
            page.wait_for_function(ZOOMED_JS, arg=["Latent space", start], timeout=120_000)
            out["pan"] = time.perf_counter() - t3

            # Once the background loads after the first page are done: a second lasso, elsewhere.
            page.wait_for_timeout(settle * 1000)
            _select_tool(page, "Latent space", "LassoSelectTool")
            out.update(_lasso(page, path + [0.1 * geom["width"], 0.0], "lasso again"))
            browser.close()
    finally:
        out["peak RSS GB"] = rss.stop()
        proc.terminate()
        proc.wait(timeout=60)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("catalog", help="the large scored HATS catalog")
    parser.add_argument("model_dir", nargs="?")
    parser.add_argument("--reference", help="a small scored catalog measured first in the same run (ratios); a "
                        "Parquet file compares with the in-memory path")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds between the first page and the lasso")
    parser.add_argument("--server-log", type=Path, help="keep the large catalog server's output here")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    ref = None
    if args.reference:
        print(f"reference {args.reference}")
        ref = measure(args.reference, args.model_dir, args.settle, None)
    print(f"catalog {args.catalog}")
    big = measure(args.catalog, args.model_dir, args.settle, args.server_log)
    print(f"load average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(f"{'step':<20}{'measured':>10}{'target':>9}  {'reference':>10}{'ratio':>8}")
    for key, value in big.items():
        target = TARGETS.get(key)
        unit = "" if key.endswith("GB") else " s"
        line = f"{key:<20}{value:>8.2f}{unit:<2}{'' if target is None else f'< {target:g}':>9}"
        if ref is not None:
            line += f"  {ref[key]:>8.2f}{unit:<2}{value / ref[key]:>8.1f}x"
        if target is not None:
            line += "  ok" if value < target else "  MISSED"
        print(line)


if __name__ == "__main__":
    main()
