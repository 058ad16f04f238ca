"""The per-browser limit on a real learners' server (casebook/serve/servers.py): one browser
reloading a case page in a loop keeps at most CLIENT_KERNELS kernels (its oldest unconnected
one is shut down for each new page), so ten learners joining meanwhile all get in under a cap
the loop alone would have filled; a browser whose pages are all connected gets the busy page,
saying why, once it asks for one page too many.

Browsers are urllib openers with a cookie jar of their own (the limit follows the
`casebook_client` cookie); every loop is bounded, everything is on loopback."""

from __future__ import annotations

import asyncio
import re
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar

import pytest
from tornado.websocket import websocket_connect
from voila_server import VoilaServer, case_notebooks, shown

CAP = 20
CLIENT_KERNELS = 3
LEARNERS = 10
RELOADS = 24  # alone, the loop would hold more kernels than the cap
SETTINGS = {
    "CASEBOOK_MAX_KERNELS": str(CAP),
    "CASEBOOK_CLIENT_KERNELS": str(CLIENT_KERNELS),
    "CASEBOOK_CULL_UNCONNECTED": "0",  # only the per-browser limit sheds kernels here
    "CASEBOOK_CULL_INTERVAL": "1",
    "CASEBOOK_CULL_IDLE": "600",
    "CASEBOOK_POOL_SIZE": "0",
    "CASEBOOK_POOL": "",
    "CASEBOOK_CLASS_SIZE": "0",
}


class Browser:
    """A client keeping its cookies, as a phone's browser does."""

    def __init__(self):
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, url: str) -> tuple[int, str]:
        assert url.startswith("http://127.0.0.1:"), url
        try:
            with self.opener.open(url, timeout=120) as resp:
                return resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def server():
    with VoilaServer(env=SETTINGS) as s:
        yield s


def kernel_of(html: str) -> str:
    return re.search(r'"kernelId": "([0-9a-f-]{36})"', html).group(1)


def test_one_browsers_reload_loop_does_not_lock_ten_learners_out(server):
    page = server.render_url(f"cases/{case_notebooks()[0]}.ipynb")
    storm, started = Browser(), threading.Event()

    def reload_loop() -> list[int]:
        codes = []
        for n in range(RELOADS):
            codes.append(storm.get(page)[0])
            if n == CLIENT_KERNELS:
                started.set()  # the loop holds its share: the room arrives
        started.set()
        return codes

    with ThreadPoolExecutor(1 + LEARNERS) as pool:
        loop = pool.submit(reload_loop)
        assert started.wait(300)
        learners = list(pool.map(lambda _: Browser().get(page), range(LEARNERS)))
        reloads = loop.result(timeout=600)
    assert [code for code, _ in learners] == [200] * LEARNERS
    assert all(shown(body) == shown(learners[0][1]) != [] for _, body in learners)
    assert "error" not in shown(learners[0][1])
    assert reloads == [200] * RELOADS  # each reload sheds the loop's own oldest page
    assert server.status()["in_use"] == LEARNERS + CLIENT_KERNELS
    assert "shutting down its unconnected kernel" in server.log_text()


def test_a_browser_whose_pages_are_all_connected_gets_the_busy_page_saying_why(server):
    page = server.render_url("index.ipynb")
    browser = Browser()
    opened = [browser.get(page) for _ in range(CLIENT_KERNELS)]
    assert [code for code, _ in opened] == [200] * CLIENT_KERNELS
    channels = [f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_of(html)}/channels"
                for _, html in opened]

    async def while_connected():
        sockets = [await websocket_connect(url) for url in channels]
        try:
            return await asyncio.to_thread(browser.get, page)
        finally:
            for ws in sockets:
                ws.close()

    with ThreadPoolExecutor(1) as pool:  # an event loop of its own
        code, body = pool.submit(asyncio.run, asyncio.wait_for(while_connected(), 300)).result()
    assert code == 503
    assert f"This browser already has {CLIENT_KERNELS} casebook pages open" in body
    assert 'id="cb-busy-countdown"' in body
