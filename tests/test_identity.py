"""How a page knows its learner: names checked and bounded, carried in links, and read from the
page's query string, waiting for Voila's request info in a preheated kernel."""

from __future__ import annotations

import json
import os
import threading
from html import escape

import pytest
from websockets.sync.server import serve

from casebook.selfstudy import identity
from casebook.selfstudy.identity import (
    MAX_NAME,
    NameRejected,
    clean_name,
    learner_from_query,
    link_query,
    page_query,
)

HOSTILE = {
    "script": "<script>alert(1)</script>",
    "html": '<img src=x onerror="alert(1)">',
    "attribute-breakout": '" onmouseover="alert(1)',
    "too-long": "a" * (MAX_NAME + 1),
    "very-long": "x" * 100_000,
    "empty": "",
    "blank": " \t\n ",
    "right-to-left-override": "\u202eevil",
    "zero-width-space": "Ana\u200b",
    "nul": "An\x00a",
    "newline-injection": "Ana\r\nSet-Cookie: x=1",
    "emoji": "Ana 🙂",
    "punctuation-only": "...",
    "url": "http://evil.example/",
}


@pytest.fixture(autouse=True)
def fresh_page(monkeypatch):
    """Each test is a new kernel: no query string read yet, none cached; and the request info
    a test's page_query puts into os.environ is taken out again."""
    for name in ("QUERY_STRING", "VOILA_PREHEAT", "VOILA_KERNEL_ID", "VOILA_APP_PORT",
                 "VOILA_WS_BASE_URL", "VOILA_SERVER_URL", "VOILA_APP_IP", "VOILA_WS_PROTOCOL"):
        monkeypatch.delenv(name, raising=False)
    saved = dict(os.environ)
    page_query.cache_clear()
    yield
    page_query.cache_clear()
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.parametrize(("raw", "kept"), [
    ("Ana", "Ana"),
    ("  José   María ", "José María"),
    ("李雷", "李雷"),
    ("O'Brien", "O'Brien"),
    ("Dr. A-B_c 2", "Dr. A-B_c 2"),
    ("Zoe\u0308", "Zoë"),  # decomposed: stored composed (NFC), so both spellings match
    ("Ω" * MAX_NAME, "Ω" * MAX_NAME),
])
def test_a_good_name_is_kept_normalised(raw, kept):
    assert clean_name(raw) == kept


@pytest.mark.parametrize("raw", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_name_is_refused_with_a_reason_that_shows_safely(raw):
    with pytest.raises(NameRejected) as caught:
        clean_name(raw)
    reason = str(caught.value)
    assert reason and len(reason) < 200  # bounded, whatever came in
    shown = escape(reason, quote=True)
    assert "<" not in shown and '"' not in shown and "\x00" not in shown


def test_refused_characters_are_named_when_invisible():
    with pytest.raises(NameRejected, match="RIGHT-TO-LEFT OVERRIDE"):
        clean_name("\u202eevil")
    with pytest.raises(NameRejected, match=r"not: \( < >"):
        clean_name("<x>(")


@pytest.mark.parametrize(("query", "name"), [
    ("", None),
    (None, None),
    ("case=1&other=x", None),
    ("learner=Ana", "Ana"),
    ("learner=Ana+B", "Ana B"),  # how a GET form sends a space
    ("learner=Ana%20B&learner=Bo", "Ana B"),  # the first one counts
    ("learner=Zo%C3%AB", "Zoë"),
])
def test_the_learner_is_read_from_the_query_string(query, name):
    assert learner_from_query(query) == name


@pytest.mark.parametrize("query", ["learner=", "learner=%3Cscript%3E", "learner=" + "a" * 5000])
def test_a_bad_learner_in_the_query_string_is_refused(query):
    with pytest.raises(NameRejected):
        learner_from_query(query)


@pytest.mark.parametrize("name", ["Ana", "José María", "O'Brien", "李雷", "a.b-c_d"])
def test_a_link_carries_the_name_back_unchanged(name):
    query = link_query(name)
    assert query.startswith("?learner=") and " " not in query and "'" not in query
    assert learner_from_query(query[1:]) == name
    assert link_query(None) == "" and link_query("") == ""


def test_without_preheating_the_query_string_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("QUERY_STRING", "learner=Ana")
    monkeypatch.setenv("VOILA_PREHEAT", "False")
    assert page_query() == "learner=Ana"
    assert learner_from_query(page_query()) == "Ana"


def test_outside_voila_there_is_no_query_string():
    assert page_query() == ""


class FakeVoila:
    """Voila's request-info websocket: sends one kernel's request info to whoever connects."""

    def __init__(self, payload: dict):
        self.paths: list[str] = []
        self.payload = payload
        self.server = serve(self._handle, "127.0.0.1", 0)
        self.port = self.server.socket.getsockname()[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handle(self, connection) -> None:
        self.paths.append(connection.request.path)
        connection.send(json.dumps(self.payload))

    def __enter__(self) -> FakeVoila:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


def preheated(monkeypatch, port: int, kernel: str = "k-1") -> None:
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    monkeypatch.setenv("VOILA_KERNEL_ID", kernel)
    monkeypatch.setenv("VOILA_APP_PORT", str(port))
    monkeypatch.setenv("VOILA_SERVER_URL", "/")


def test_a_preheated_kernel_waits_for_its_request_once(monkeypatch):
    payload = {"QUERY_STRING": "learner=Ana+B", "SCRIPT_NAME": "/voila/render/index.ipynb"}
    with FakeVoila(payload) as voila:
        preheated(monkeypatch, voila.port)
        assert page_query() == "learner=Ana+B"
        assert page_query() == "learner=Ana+B"  # cached: Voila sends a request once
        assert voila.paths == ["/voila/query/k-1"]
    assert learner_from_query(page_query()) == "Ana B"
    assert os.environ["SCRIPT_NAME"] == "/voila/render/index.ipynb"  # as voila.utils sets it


def test_a_preheated_kernel_that_cannot_reach_voila_plays_anonymously(monkeypatch):
    with FakeVoila({}) as voila:
        port = voila.port
    preheated(monkeypatch, port)  # the server is gone: the connection is refused
    assert page_query() == ""


@pytest.mark.parametrize("env", [
    {},
    {"VOILA_SERVER_URL": "/casebook/", "VOILA_APP_PORT": "9000"},
    {"VOILA_WS_BASE_URL": "/proxy/", "VOILA_SERVER_URL": "/x/", "VOILA_APP_IP": "10.0.0.2",
     "VOILA_WS_PROTOCOL": "wss"},
])
def test_the_websocket_address_is_the_one_voila_utils_uses(monkeypatch, env):
    """voila.utils.get_query_string() is what Voila documents; page_query must reach the same
    websocket. Checked against the installed Voila, so an upgrade that moves it fails here."""
    import voila.utils

    monkeypatch.setenv("VOILA_PREHEAT", "True")
    monkeypatch.setenv("VOILA_KERNEL_ID", "k-2")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    asked: list[str] = []

    async def fake_request_info(ws_url):
        asked.append(ws_url)
        return json.dumps({"QUERY_STRING": "learner=X"})

    monkeypatch.setattr(voila.utils, "_get_request_info", fake_request_info)
    assert voila.utils.get_query_string() == "learner=X"
    assert asked == [identity._request_info_url()]
