"""Time the dashboard in a real browser: server start -> first page ready, and lasso -> linked updates.

    .venv/bin/python benchmarks/bench_dashboard.py --sizes 3100000 --write /tmp/sky.parquet
    .venv/bin/python benchmarks/bench_dashboard_page.py /tmp/sky.parquet [MODEL_DIR] [--screenshot docs/dashboard.png]
    .venv/bin/python benchmarks/bench_dashboard_page.py            # the default scored mock sky and model

Starts ``panel serve dashboard --args CATALOG [MODEL_DIR]`` on a free loopback port and drives Debian's
Chromium (``/usr/bin/chromium``) with Playwright, as the browser tests do.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import expect, sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

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

RANGE_JS = """(title) => [...Bokeh.index.all_views()].find(v => v.frame && v.model.title
                                                           && v.model.title.text === title).model.x_range.start"""
# True once the x range has moved from ``start`` and every image of the figure covers the new range.
ZOOMED_JS = """([title, start]) => {
  const v = [...Bokeh.index.all_views()].find(v => v.frame && v.model.title && v.model.title.text === title);
  const x0 = v.model.x_range.start, span = v.model.x_range.end - x0;
  if (Math.abs(x0 - start) < 1e-9 * Math.abs(span)) return false;
  const images = v.model.renderers.filter(r => r.glyph && r.glyph.type === "Image");
  return images.length > 0 && images.every(r => Math.abs(r.data_source.data.x[0] - x0) < 1e-6 * Math.abs(span));
}"""


def _py_spy() -> str:
    """py-spy next to this Python (the project's venv), else on PATH."""
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else "py-spy"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("catalog", nargs="?", help="scored catalog (default: the default scored mock sky)")
    parser.add_argument("model_dir", nargs="?")
    parser.add_argument("--screenshot", type=Path)
    parser.add_argument("--server-log", type=Path, help="keep the server's output here")
    parser.add_argument("--profile", type=Path,
                        help="record the server with py-spy during the lasso (speedscope JSON; pip install -e .[profile])")
    parser.add_argument("--profile-start", type=Path,
                        help="record the server's first 20 s with py-spy (speedscope JSON; pip install -e .[profile])")
    parser.add_argument("--js-profile", type=Path, help="record the page's JavaScript during the lasso (.cpuprofile)")
    parser.add_argument("--settle", type=float, default=10.0,
                        help="seconds between the first page and the lasso (the server compiles the other "
                             "colour-by kernels and loads TensorFlow in the background meanwhile; default 10)")  # fmt: skip
    args = parser.parse_args()
    port, closed = _free_port(), _free_port()
    env = dict(os.environ, SEDSCAPE_PS1_IMAGE_URL=f"http://127.0.0.1:{closed}/", TF_CPP_MIN_LOG_LEVEL="2")
    cmd = [str(Path(sys.executable).with_name("panel")), "serve", "dashboard", "--port", str(port),
           "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}", "--liveness",
           *(["--args", args.catalog, *([args.model_dir] if args.model_dir else [])] if args.catalog else [])]  # fmt: skip
    t0 = time.perf_counter()
    log = open(args.server_log, "w") if args.server_log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    if args.profile_start:
        subprocess.Popen([_py_spy(), "record", "--pid", str(proc.pid), "--rate", "100", "--duration", "20", "--threads",
                          "--idle", "--format", "speedscope", "--output", str(args.profile_start)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait_for(f"http://127.0.0.1:{port}/liveness", proc)
        print(f"server start -> liveness: {time.perf_counter() - t0:.1f} s")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1400})
            page.goto(f"http://127.0.0.1:{port}/dashboard", timeout=300_000)
            print(f"server start -> page document loaded: {time.perf_counter() - t0:.1f} s")
            page.wait_for_selector(".selection-summary", timeout=300_000)
            print(f"server start -> widgets rendered: {time.perf_counter() - t0:.1f} s")
            geom = _plot_geometry(page, "Latent space")
            page.wait_for_function(
                "() => [...Bokeh.index.all_views()].some(v => v.model.type === 'Image' || "
                "(v.model.image !== undefined && v.model.image !== null))",
                timeout=120_000,
            )
            ready = time.perf_counter() - t0
            print(f"server start -> first page with plots: {ready:.1f} s")

            page.wait_for_timeout(args.settle * 1000)
            cx, cy = geom["left"] + geom["width"] / 2, geom["top"] + geom["height"] / 2
            ang = np.linspace(0, 2 * np.pi, 24)
            path = np.c_[cx + 0.2 * geom["width"] * np.cos(ang), cy + 0.2 * geom["height"] * np.sin(ang)]
            _select_tool(page, "Latent space", "LassoSelectTool")
            spy = None
            if args.profile:
                spy = subprocess.Popen([_py_spy(), "record", "--pid", str(proc.pid), "--rate", "250", "--duration", "4",
                                        "--format", "speedscope", "--output", str(args.profile), "--threads"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
                time.sleep(1.0)
            cdp = None
            if args.js_profile:
                cdp = page.context.new_cdp_session(page)
                cdp.send("Profiler.enable")
                cdp.send("Profiler.start")
            page.mouse.move(*path[0])
            page.mouse.down()
            for xy in path[1:]:
                page.mouse.move(*xy)
            t1 = time.perf_counter()
            page.mouse.up()
            expect(page.locator(".n-selected").first).not_to_have_text("0", timeout=60_000)
            summary = time.perf_counter() - t1
            page.locator(".tabulator-row").first.wait_for(timeout=60_000)
            table = time.perf_counter() - t1
            page.wait_for_function(f"(c) => ({HIGHLIGHT_JS})(c).every(([t, n]) => n > 0)", arg=SELECTION_COLOUR,
                                   timeout=60_000)  # fmt: skip
            views = time.perf_counter() - t1
            n = page.locator(".n-selected").first.text_content()
            if cdp is not None:
                page.wait_for_timeout(1000)
                args.js_profile.write_text(json.dumps(cdp.send("Profiler.stop")["profile"]))
                print(f"JavaScript profile: {args.js_profile}")
            if spy is not None:
                spy.wait(timeout=60)
                print(f"profile: {args.profile}")
            print(f"lasso {args.settle:g} s after the first page ({n} stars) -> summary updated: {summary:.2f} s; "
                  f"table rows shown: {table:.2f} s; every view highlighted: {views:.2f} s")
            page.wait_for_timeout(2000)
            if args.screenshot:  # the lasso, before the zoom below changes the view
                page.screenshot(path=str(args.screenshot), full_page=True)
                print(f"screenshot: {args.screenshot}")
            start = page.evaluate(RANGE_JS, "Latent space")
            page.mouse.move(cx, cy)
            t2 = time.perf_counter()
            page.mouse.wheel(0, -300)
            page.wait_for_function(ZOOMED_JS, arg=["Latent space", start], timeout=60_000)
            print(f"wheel zoom on the latent space -> every layer re-rendered for the new range: "
                  f"{time.perf_counter() - t2:.2f} s")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
