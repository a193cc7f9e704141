"""The close report in a real headless Chromium: it renders, offline, with nothing fetched.

String checks cannot prove a browser shows the file cleanly; this opens the report the way a
controller does (a local file), fails on any console error, script dialog or request other
than the file itself, and leaves a full-page screenshot and a PDF print as test artifacts
(``TIEOUT_TEST_ARTIFACTS``, default ``<pytest tmp>/artifacts``).  Playwright drives the
system Chromium (``executable_path``): no browser is downloaded.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.review.test_report import NOW, PERIOD, build_world
from tieout.config import load_config
from tieout.report import write_report

pytestmark = pytest.mark.slow

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_MS = 15_000


def chromium_binary() -> str | None:
    """The browser to drive: ``TIEOUT_CHROMIUM``, else the first Chromium on the PATH."""
    configured = os.environ.get("TIEOUT_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    found = next((shutil.which(name) for name in CANDIDATES if shutil.which(name)), None)
    return found or ("/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None)


def artifacts_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TIEOUT_TEST_ARTIFACTS") or tmp_path / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.timeout(120)
def test_report_renders_offline_in_chromium(tmp_path: Path) -> None:
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no Chromium binary found (install Debian's chromium or set "
                    "TIEOUT_CHROMIUM)")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    world = build_world(tmp_path / "w")
    report = write_report(load_config(world.config), PERIOD, tmp_path / "close.html", now=NOW)
    url = report.resolve().as_uri()
    control = tmp_path / "control.html"  # proves the listeners would see a stray request
    control.write_text('<!DOCTYPE html><meta http-equiv="Content-Security-Policy" '
                       "content=\"default-src 'none'\"><title>c</title>"
                       '<img src="http://127.0.0.1:9/pixel.png" alt="">')
    out = artifacts_dir(tmp_path)
    screenshot, pdf = out / f"close-{PERIOD}.png", out / f"close-{PERIOD}.pdf"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=binary, timeout=30_000,
            args=["--no-sandbox"] if os.geteuid() == 0 else [])
        try:
            context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            requests: list[str] = []
            problems: list[str] = []
            allowed = {url, control.resolve().as_uri()}
            context.route("**/*", lambda route: route.continue_()
                          if route.request.url in allowed else route.abort())
            page = context.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda message: problems.append(
                f"console {message.type}: {message.text}")
                if message.type in ("error", "warning") else None)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"),
                                              dialog.dismiss()))

            page.goto(control.resolve().as_uri(), wait_until="load")
            assert "http://127.0.0.1:9/pixel.png" in requests and problems, \
                "the request and console listeners must catch a stray resource"
            requests.clear()
            problems.clear()

            page.goto(url, wait_until="load")
            page.screenshot(path=str(screenshot), full_page=True)
            layout = page.evaluate("""() => ({
                title: document.title,
                overflow: document.documentElement.scrollWidth - window.innerWidth,
                charts: [...document.querySelectorAll('svg.chart')].map(svg => ({
                    title: svg.querySelector('title')?.textContent || '',
                    width: svg.getBoundingClientRect().width,
                    height: svg.getBoundingClientRect().height})),
                tables: [...document.querySelectorAll('table')].filter(
                    t => !t.querySelector('th')).length,
            })""")
            page.emulate_media(media="print")
            pdf.write_bytes(page.pdf(format="A4", print_background=True))
        finally:
            browser.close()

    print(f"close report screenshot: {screenshot}\nclose report PDF: {pdf}")
    assert problems == []
    assert requests == [url]
    assert layout["title"].endswith(f"close report {PERIOD}")
    assert layout["overflow"] <= 0, "the report is wider than a 1280 px window"
    assert len(layout["charts"]) == 5
    assert all(c["title"] and c["width"] > 100 and c["height"] > 20 for c in layout["charts"])
    assert layout["tables"] == 0, "every table has header cells"
    assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 10_000
    assert pdf.read_bytes().startswith(b"%PDF")
