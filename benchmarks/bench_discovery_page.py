"""Time the discovery loop in a real browser on a large catalog: answers re-ranking the review table, find
more like these, and stars like a picked one.

    .venv/bin/python benchmarks/bench_discovery_page.py [CATALOG [MODEL_DIR]] [--labels /tmp/bench.sqlite]
        [--positive-class wd_da] [--positives 2000] [--answers 5]

Starts ``panel serve dashboard --args CATALOG MODEL_DIR LABELS`` (a fresh label database: never the one
beside the catalog) and drives Debian's Chromium with Playwright, as the browser tests do. Before the
server starts, ``--positives`` stars of the mock's ``--positive-class`` are labelled in the database (the
labels a user would have made), so "find more like these" trains on them. Each timing is printed with
its ratio to a reference measured in the same run: selecting a preset (a round trip that redraws every
view), since the machine may be shared. The server's own timings (re-ranking, training, scoring, query)
come from its log and status lines.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import expect, sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core import LabelStore, default_model_dir, default_scored_path, read_parquet  # noqa: E402
from tests.ui.test_dashboard_ui import CHROMIUM, CHROMIUM_ARGS, _free_port, _wait_for  # noqa: E402

IDS = ".review-table .tabulator-row .tabulator-cell[tabulator-field='obj_id']"
PRESETS = "select:has(option:text-is('choose a preset...'))"


def _text(page, css: str) -> str:
    """The text of a Panel pane (it lives in the shadow root of the element carrying the CSS class)."""
    return page.locator(css).first.evaluate(
        "el => [...(el.shadowRoot || el).childNodes].filter(n => !['STYLE', 'LINK'].includes(n.nodeName))"
        ".map(n => n.textContent).join('')"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("catalog", nargs="?", type=Path, default=None)
    parser.add_argument("model_dir", nargs="?", type=Path, default=None)
    parser.add_argument("--labels", type=Path, default=Path("/tmp/sedscape_bench_discovery.sqlite"))
    parser.add_argument("--positive-class", default="wd_da")
    parser.add_argument("--positives", type=int, default=2000)
    parser.add_argument("--answers", type=int, default=5)
    args = parser.parse_args()
    catalog = args.catalog or default_scored_path()
    model = args.model_dir or default_model_dir()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{args.labels}{suffix}").unlink(missing_ok=True)
    label = f"{args.positive_class} (bench)"
    truth = read_parquet(catalog, columns=["obj_id", "true_class"])
    members = truth["obj_id"].to_numpy()[truth["true_class"].astype(str).to_numpy() == args.positive_class]
    picked = np.random.default_rng(0).choice(members, min(args.positives, len(members)), replace=False)
    LabelStore(args.labels).add(picked, label, origin={"by": "bench_discovery_page"})
    n_stars = len(truth)
    del truth

    port = _free_port()
    log_path = args.labels.with_suffix(".serve.log")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", SEDSCAPE_PS1_IMAGE_URL=f"http://127.0.0.1:{_free_port()}/x")
    panel = Path(sys.executable).with_name("panel")
    t0 = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(panel), "serve", "dashboard", "--port", str(port), "--address", "127.0.0.1",
             "--allow-websocket-origin", f"127.0.0.1:{port}", "--liveness",
             "--args", str(catalog), str(model), str(args.labels)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    rows = []

    def line(what: str, seconds: float, ref: float | None = None) -> None:
        rows.append((what, seconds, ref))

    try:
        _wait_for(f"http://127.0.0.1:{port}/liveness", proc, timeout=900)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1400})
            page.goto(f"http://127.0.0.1:{port}/dashboard", timeout=900_000)
            page.wait_for_selector(".selection-summary", timeout=900_000)
            line("server start -> first page", time.perf_counter() - t0)

            t = time.perf_counter()
            page.locator(PRESETS).select_option(label="anomalies above the threshold")
            expect(page.locator(".n-selected").first).not_to_have_text("0", timeout=300_000)
            ref = time.perf_counter() - t
            line("reference: preset 'anomalies' -> every view updated", ref)

            page.get_by_text("Anomaly review", exact=True).click()
            t = time.perf_counter()
            page.get_by_role("button", name="Rank the anomaly candidates").click()
            page.wait_for_selector(".review-table .tabulator-row", timeout=600_000)
            line("rank the candidates (forest built once per threshold)", time.perf_counter() - t, ref)
            for k in range(args.answers):
                first = page.locator(IDS).first.text_content()
                t = time.perf_counter()
                name = "Interesting" if k % 2 else "Not interesting"
                page.get_by_role("button", name=name, exact=True).click()
                expect(page.locator(IDS).first).not_to_have_text(first, timeout=120_000)
                line(f"answer {k + 1} -> re-ranked table in the browser", time.perf_counter() - t, ref)
                expect(page.locator(".review-status")).to_contain_text("Re-ranked", timeout=60_000)

            page.get_by_text("Find more like these", exact=True).click()
            page.locator(f"select:has(option:text-is('{label}'))").first.select_option(label=label)
            t = time.perf_counter()
            page.get_by_role("button", name="Find more like these", exact=True).click()
            expect(page.locator(".find-more-status")).to_contain_text("ROC-AUC", timeout=600_000)
            line("find more (first: builds the feature space) -> result shown", time.perf_counter() - t, ref)
            status = _text(page, ".find-more-status")
            t = time.perf_counter()
            page.get_by_role("button", name="Find more like these", exact=True).click()
            # The new status differs from the last one in its timings at least.
            expect(page.locator(".find-more-status")).not_to_have_text(status, timeout=600_000)
            expect(page.locator(".find-more-status")).to_contain_text("ROC-AUC", timeout=600_000)
            line("find more again -> result shown", time.perf_counter() - t, ref)
            status = _text(page, ".find-more-status")

            cell = page.locator(".tabulator-row .tabulator-cell[tabulator-field='ra']").first
            cell.click()
            like = page.get_by_role("button", name=re.compile("^Stars like [0-9]"))
            expect(like).to_be_enabled(timeout=60_000)
            t = time.perf_counter()
            like.click()
            expect(page.locator(".find-more-status")).to_contain_text("are selected", timeout=600_000)
            line("stars like the picked star (first: builds the index) -> selected", time.perf_counter() - t, ref)
            like_status = _text(page, ".find-more-status")
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()

    print(f"{catalog}: {n_stars:,} stars; {len(picked):,} '{args.positive_class}' stars labelled '{label}'")
    for what, seconds, r in rows:
        ratio = f"{seconds / r:6.1f} x reference" if r else ""
        print(f"  {what:<64s} {seconds:7.2f} s  {ratio}")
    server = log_path.read_text()
    refits = [float(v) for v in re.findall(r"re-ranked in ([0-9.]+) s", server)]
    builds = re.findall(r"review: (\d+) candidates.*built in ([0-9.]+) s", server)
    if builds:
        print(f"  server: ranking of {int(builds[0][0]):,} candidates built in {float(builds[0][1]):.1f} s")
    if refits:
        print(f"  server: re-ranking after an answer {np.median(refits):.2f} s median "
              f"({', '.join(f'{v:.2f}' for v in refits)})")  # fmt: skip
    print(f"  find more status: {status}")
    print(f"  neighbours status: {like_status}")
    print(f"  server log: {log_path}")


if __name__ == "__main__":
    main()
