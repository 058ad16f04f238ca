"""The room against real servers, speaking the protocol a page speaks: HTTP, then the kernel's
websocket with raw comm messages (not the page's widgets, which would never send a second
Join), and the instructors' login.

A page's widgets are found as the page finds them: a comm to `jupyter.widget.control` asks
for every model's state (`request_states`), then messages go to a model's comm directly.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from tornado.websocket import websocket_connect
from traitlets.config.loader import PyFileConfigLoader
from voila_server import VoilaServer, get

from casebook.content.loading import load_library
from casebook.records import store
from casebook.serve.servers import CONFIG_DIR
from casebook.sessions import machine as sessions
from casebook.sessions import room

TOKEN = "instructor-token-for-the-tests"
LIBRARY = load_library()
CASE_ID = sorted(LIBRARY.cases)[0]
CASE = LIBRARY.cases[CASE_ID]
STAGES = [s.id for s in CASE.stages]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('room') / 'casebook.db'}"
    env = {"CASEBOOK_DB": url, "CASEBOOK_POOL_SIZE": "0", "CASEBOOK_INSTRUCTOR_TOKEN": TOKEN}
    with VoilaServer(env=env) as server:
        yield server, url


class Page:
    """One case page's kernel, driven over its websocket."""

    def __init__(self, server, path: str):
        code, _, html = get(server.render_url(path), timeout=120)
        assert code == 200, html[:300]
        self.kernel = re.search(r'"kernelId": "([0-9a-f-]{36})"', html)[1]
        self.url = (f"ws://127.0.0.1:{server.port}/api/kernels/{self.kernel}/channels"
                    f"?session_id={uuid.uuid4()}")
        self.session = str(uuid.uuid4())

    async def __aenter__(self) -> Page:
        self.ws = await websocket_connect(self.url)
        self.control = str(uuid.uuid4())
        await self.send("comm_open", {"comm_id": self.control, "data": {},
                                      "target_name": "jupyter.widget.control"},
                        {"version": "1.0.0"})  # the widget control protocol's version
        return self

    async def __aexit__(self, *exc) -> None:
        self.ws.close()

    async def send(self, msg_type: str, content: dict, metadata: dict | None = None) -> None:
        header = {"msg_id": str(uuid.uuid4()), "msg_type": msg_type, "session": self.session,
                  "username": "", "version": "5.3"}
        await self.ws.write_message(json.dumps({
            "header": header, "parent_header": {}, "metadata": metadata or {}, "content": content,
            "channel": "shell", "buffers": []}))

    async def to(self, model: str, data: dict) -> None:
        await self.send("comm_msg", {"comm_id": model, "data": data})

    async def states(self) -> dict[str, dict]:
        """Every widget model's state, by model id, as the page would receive them."""
        await self.to(self.control, {"method": "request_states"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            raw = await asyncio.wait_for(self.ws.read_message(), 60)
            assert raw is not None, "the kernel's websocket closed"
            if not isinstance(raw, str):
                continue
            msg = json.loads(raw)
            data = msg.get("content", {}).get("data", {})
            if msg.get("msg_type") == "comm_msg" and data.get("method") == "update_states":
                return {k: v["state"] for k, v in data["states"].items()}
        raise AssertionError("no update_states reply")

    async def find(self, css: str) -> list[str]:
        return [k for k, s in (await self.states()).items() if css in s.get("_dom_classes", [])]

    async def one(self, css: str) -> str:
        found = await self.find(css)
        assert len(found) == 1, (css, found)
        return found[0]


def click(model: str) -> dict:
    return {"method": "custom", "content": {"event": "click"}}


async def until(check, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the kernel did not act in time"
        await asyncio.sleep(0.3)


async def one_phone(server, engine, session) -> None:
    async with Page(server, f"cases/{CASE_ID}.ipynb?session={session.join_code}") as page:
        states = await page.states()
        code = await page.one("cb-join-code")
        assert states[code]["value"] == session.join_code  # the join address filled it
        join = await page.one("cb-join")
        # No nickname: each join would make one up, so nothing but the page refuses a second.
        for _ in range(6):
            await page.to(join, click(join))
        await until(lambda: len(room.nicknames(engine, session.id)) >= 1)
        await asyncio.sleep(2)  # time for any further join to land
        assert len(room.nicknames(engine, session.id)) == 1

        sessions.advance(engine, session, "open", STAGES)
        deadline = time.monotonic() + 30
        options: list[str] = []
        while not options and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            options = await page.find("cb-option")
        submit = await page.one("cb-submit")
        stage = CASE.stages[0]
        for forged in ("nonsense-option", ["a", "b"], {"id": "x"}):
            await page.to(options[0], {"method": "update", "state": {"value": forged}})
        await page.to(options[0], {"method": "update", "state": {"description": "forged"}})
        await page.to(submit, {"method": "update", "state": {"disabled": False}})
        await page.to(submit, click(submit))  # nothing chosen: no vote
        await asyncio.sleep(1.5)
        assert room.votes(engine, session.id) == []
        await page.to(options[0], {"method": "update", "state": {"value": True}})
        for _ in range(6):
            await page.to(submit, {"method": "update", "state": {"disabled": False}})
            await page.to(submit, click(submit))
        await until(lambda: len(room.votes(engine, session.id)) >= 1)
        await asyncio.sleep(2)
        votes = room.votes(engine, session.id)
        assert len(votes) == 1 and votes[0].choices == (stage.options[0].id,)


def test_one_page_is_one_participant_with_one_vote_over_raw_comm_messages(served):
    server, url = served
    engine = store.connect(url)
    session = sessions.create(engine, CASE, sessions.new_key())
    with ThreadPoolExecutor(1) as pool:  # an event loop of its own
        pool.submit(asyncio.run, asyncio.wait_for(one_phone(server, engine, session),
                                                  240)).result()
    engine.dispose()


def test_the_instructors_server_asks_for_a_login(served):
    server, _ = served
    keys = server.instructor_url + "voila/render/answer-keys.ipynb"
    code, _, body = get(keys)  # redirected to the login page
    assert code == 200 and "Answer keys" not in body and 'name="password"' in body
    for path in ("voila/render/dashboard.ipynb", "voila/render/session.ipynb",
                 "voila/render/presenter.ipynb"):
        code, _, body = get(server.instructor_url + path)
        assert 'name="password"' in body, path
    code, _, body = get(f"{keys}?token={TOKEN}", timeout=120)
    assert code == 200 and "Answer keys" in body
    code, _, body = get(f"{keys}?token=wrong-token")
    assert "Answer keys" not in body
    code, _, _ = get(server.url + f"voila/render/cases/{CASE_ID}.ipynb")
    assert code == 200  # learners need no login


def test_instructor_password_is_stored_hashed_and_configures_the_login(tmp_path, monkeypatch):
    path = tmp_path / "password.json"
    env = {**os.environ, "CASEBOOK_INSTRUCTOR_PASSWORD_FILE": str(path)}
    done = subprocess.run([sys.executable, "-m", "casebook", "instructor-password",
                           "--password-stdin"], input="correct horse battery\n", text=True,
                          capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    stored = json.loads(path.read_text())["hashed_password"]
    assert stored.startswith("argon2:") and "correct horse" not in path.read_text()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    from jupyter_server.auth import passwd_check

    assert passwd_check(stored, "correct horse battery")
    monkeypatch.setenv("CASEBOOK_INSTRUCTOR_PASSWORD_FILE", str(path))
    monkeypatch.delenv("CASEBOOK_INSTRUCTOR_TOKEN", raising=False)
    c = PyFileConfigLoader("voila.py", path=str(CONFIG_DIR)).load_config()
    assert c.InstructorVoila.PasswordIdentityProvider.hashed_password == stored
    assert "auto_token" not in c.InstructorVoila and "token" not in c.LearnerVoila
    short = subprocess.run([sys.executable, "-m", "casebook", "instructor-password",
                            "--password-stdin"], input="short\n", text=True,
                           capture_output=True, env=env, timeout=60)
    assert short.returncode == 1 and "at least 8" in short.stderr


def test_no_password_and_no_token_means_a_random_token(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEBOOK_INSTRUCTOR_PASSWORD_FILE", str(tmp_path / "none.json"))
    monkeypatch.delenv("CASEBOOK_INSTRUCTOR_TOKEN", raising=False)
    c = PyFileConfigLoader("voila.py", path=str(CONFIG_DIR)).load_config()
    assert c.InstructorVoila.auto_token is True
    (tmp_path / "bad.json").write_text("{}")
    monkeypatch.setenv("CASEBOOK_INSTRUCTOR_PASSWORD_FILE", str(tmp_path / "bad.json"))
    with pytest.raises(SystemExit, match="not a casebook instructor password file"):
        PyFileConfigLoader("voila.py", path=str(CONFIG_DIR)).load_config()
