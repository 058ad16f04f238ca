"""Both servers answer only requests addressed to this machine: a foreign Host (what a
DNS-rebinding page in a learner's browser sends) is refused with 403 on every path, and so is a
websocket whose Origin matches such a Host, or any foreign Origin; 127.0.0.1 is served."""

from __future__ import annotations

import asyncio
import http.client
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect
from voila_server import VoilaServer, get

FOREIGN = "attacker.example"


@pytest.fixture(scope="module")
def server():
    with VoilaServer(env={"CASEBOOK_POOL_SIZE": "0", "CASEBOOK_CULL_UNCONNECTED": "120"}) as s:
        yield s


def request(port: int, path: str, host: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path, headers={"Host": host})
        return conn.getresponse().status
    finally:
        conn.close()


PATHS = {  # (learner?, path)
    "answer keys": (False, "/voila/render/answer-keys.ipynb"),
    "instructor status": (False, "/casebook/status"),
    "instructor tree": (False, "/"),
    "instructor static": (False, "/voila/static/voila.js"),
    "home page": (True, "/voila/render/index.ipynb"),
    "learner status": (True, "/casebook/status"),
    "learner redirect": (True, "/"),
    "learner static": (True, "/voila/static/voila.js"),
}


@pytest.mark.parametrize("name", PATHS)
def test_a_foreign_host_is_refused_on_both_servers(server, name):
    learner, path = PATHS[name]
    port = server.port if learner else server.instructor_port
    assert request(port, path, f"{FOREIGN}:{port}") == 403
    assert request(port, path, FOREIGN) == 403
    assert request(port, path, f"127.0.0.1:{port}") in (200, 301)
    assert request(port, path, f"localhost:{port}") in (200, 301)


def _connect(port: int, kernel_id: str, host: str, origin: str) -> str:
    url = f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels"

    async def attempt() -> str:
        try:
            ws = await websocket_connect(HTTPRequest(url, headers={"Host": host,
                                                                   "Origin": origin}))
        except HTTPClientError as err:
            return str(err.code)
        ws.close()
        return "open"

    # In a thread of its own: Playwright's sync API may hold this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(attempt(), 60)).result()


@pytest.mark.parametrize("learner", [True, False], ids=["learners", "instructors"])
def test_a_rebinding_or_foreign_origin_websocket_is_refused(server, learner):
    port = server.port if learner else server.instructor_port
    page = "index.ipynb" if learner else "answer-keys.ipynb"
    base = server.url if learner else server.instructor_url
    code, _, html = get(f"{base}voila/render/{page}", timeout=120)
    assert code == 200
    kernel_id = re.search(r'"kernelId": "([0-9a-f-]{36})"', html).group(1)
    here = f"127.0.0.1:{port}"
    assert _connect(port, kernel_id, f"{FOREIGN}:{port}", f"http://{FOREIGN}:{port}") == "403"
    assert _connect(port, kernel_id, here, f"http://{FOREIGN}") == "403"
    assert _connect(port, kernel_id, here, f"http://{here}") == "open"
