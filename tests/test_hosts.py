"""Both servers answer only requests addressed to this machine: a foreign Host (what a
DNS-rebinding page in a learner's browser sends) is refused with 403 on every path, and so is a
websocket whose Origin matches such a Host, or any foreign Origin; 127.0.0.1 is served."""

from __future__ import annotations

import asyncio
import http.client
import http.cookiejar
import re
import urllib.request
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


def request(port: int, path: str, host: str, token: str | None = None) -> int:
    """The status of a GET sent to 127.0.0.1 with this Host (and the instructors' login)."""
    headers = {"Host": host} | ({"Authorization": f"token {token}"} if token else {})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path, headers=headers)
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
    token = None if learner else server.instructor_token  # signed in: the Host alone refuses
    assert request(port, path, f"{FOREIGN}:{port}", token) == 403
    assert request(port, path, FOREIGN, token) == 403
    assert request(port, path, f"127.0.0.1:{port}", token) in (200, 301)
    assert request(port, path, f"localhost:{port}", token) in (200, 301)


def signed_in(url: str) -> tuple[str, str]:
    """(page HTML, the login cookies): what a browser holds after the instructor signed in.
    A rebinding page rides on those cookies; it cannot know the token, and a request carrying
    the token itself is exempt from Jupyter's origin check by design."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(url, timeout=120) as resp:
        html = resp.read().decode()
    return html, "; ".join(f"{c.name}={c.value}" for c in jar)


def _connect(port: int, kernel_id: str, host: str, origin: str, cookie: str | None) -> str:
    url = f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels"
    headers = {"Host": host, "Origin": origin} | ({"Cookie": cookie} if cookie else {})

    async def attempt() -> str:
        try:
            ws = await websocket_connect(HTTPRequest(url, headers=headers))
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
    if learner:
        code, _, html = get(f"{server.url}voila/render/{page}", timeout=120)
        assert code == 200
        token = None
    else:
        html, token = signed_in(server.instructor_render_url(page))
        assert "username-" in token  # the login cookie
    kernel_id = re.search(r'"kernelId": "([0-9a-f-]{36})"', html).group(1)
    here = f"127.0.0.1:{port}"
    assert _connect(port, kernel_id, f"{FOREIGN}:{port}", f"http://{FOREIGN}:{port}", token) == "403"
    assert _connect(port, kernel_id, here, f"http://{FOREIGN}", token) == "403"
    assert _connect(port, kernel_id, here, f"http://{here}", token) == "open"
