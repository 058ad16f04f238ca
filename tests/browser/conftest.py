"""One real casebook Voila server and one headless Debian Chromium for the whole browser suite.

The server is `python -m casebook.serve.servers` (what `make serve` runs) on free loopback ports with
the shipped config; Chromium is /usr/bin/chromium (never a downloaded build). Every page
aborts and records any request leaving 127.0.0.1, so a test can assert the app ran offline.
Each page is left by navigating away, which fires Voila's unload beacon and frees its kernel.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from voila_server import VoilaServer  # tests/voila_server.py

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
TIMEOUT_MS = 60_000  # a cold kernel on a busy 2-core CI machine
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def server():
    with VoilaServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def playwright():
    """Playwright itself: its device profiles (`playwright.devices["Pixel 5"]`) for phones."""
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright) -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps`", pytrace=False)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=CHROMIUM_ARGS)
    yield browser
    browser.close()


class OfflinePage:
    """A page whose requests off the loopback are aborted and listed in `.outside`."""

    def __init__(self, page: Page):
        self.page = page
        self.outside: list[str] = []
        page.set_default_timeout(TIMEOUT_MS)
        page.route("**/*", self._route)

    def websocket_opened(self, ws) -> None:
        """Websockets do not pass through page.route: record any off the loopback."""
        if urlsplit(ws.url).hostname not in LOOPBACK:
            self.outside.append(ws.url)

    def _route(self, route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).hostname in LOOPBACK:
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()


@pytest.fixture
def offline_page(browser, server):
    context = browser.new_context()
    offline = OfflinePage(context.new_page())
    offline.page.on("websocket", offline.websocket_opened)
    yield offline
    # Leaving the page fires Voila's beacon that shuts its kernel down; a routed beacon
    # sent while navigating to about:blank is lost, so the route goes first.
    offline.page.unroute_all(behavior="wait")
    offline.page.goto("about:blank")
    context.close()
    assert offline.outside == [], f"requests left the machine: {offline.outside}"


@pytest.fixture
def page(offline_page) -> Page:
    return offline_page.page


@pytest.fixture
def axe_violations():
    """A function: axe-core's serious and critical violations on a page as it is now."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make system-deps`", pytrace=False)

    def audit(page: Page) -> list[dict]:
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document)")
        return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                 "nodes": [n["target"] for n in v["nodes"]][:5]}
                for v in result["violations"] if v["impact"] in ("serious", "critical")]

    return audit
