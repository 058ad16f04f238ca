"""Repeated wrong instructor keys are slowed down and logged: after a few, even the right key
waits, a new page (a new kernel process) does not reset the count, and after the delay the
right key opens the session again."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest
from widget_tree import one

from casebook.content.loading import load_library
from casebook.errors import CasebookError
from casebook.records import key_failures
from casebook.sessions import machine as sessions
from casebook.sessions import throttle
from casebook.sessions.console import InstructorConsole

SMALL = Path(__file__).parent / "fixtures" / "small_library"
CASE = load_library(SMALL).cases["knee-simple"]
KEY = "correct horse battery staple"
REFUSED = "That join code and instructor key do not open a session."


class Clock:
    def __init__(self):
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def room(tmp_path, monkeypatch, connect):
    monkeypatch.setattr(key_failures, "STORE", tmp_path / "casebook-instructor-key-failures.sqlite")
    monkeypatch.setattr(throttle, "_page", {})
    clock = Clock()
    monkeypatch.setattr(throttle, "now", clock)
    url = f"sqlite:///{tmp_path / 'casebook.db'}"
    engine = connect(url)
    return engine, url, sessions.create(engine, CASE, KEY), clock


def refusal(engine, code, key) -> str:
    with pytest.raises(CasebookError) as caught:
        sessions.authenticate(engine, code, key)
    return str(caught.value)


def test_after_a_few_wrong_keys_even_the_right_key_waits_then_works(room, caplog):
    engine, _, session, clock = room
    caplog.set_level(logging.WARNING, logger=throttle.__name__)
    for i in range(throttle.FREE):
        assert refusal(engine, session.join_code, f"guess {i}") == REFUSED
    assert sessions.authenticate(engine, session.join_code, KEY) == session  # clears the count
    for i in range(throttle.FREE + 1):
        assert refusal(engine, session.join_code, f"guess {i}") == REFUSED
    assert "wait 3 s" in refusal(engine, session.join_code, KEY)  # locked: 2 s, rounded up
    failures = [r for r in caplog.records if "wrong instructor key" in r.getMessage()]
    assert len(failures) == 2 * throttle.FREE + 1
    assert session.join_code in failures[-1].getMessage() and KEY not in caplog.text
    clock.t += throttle.BASE_DELAY + 0.1
    assert refusal(engine, session.join_code, "one more guess") == REFUSED
    assert "wait 5 s" in refusal(engine, session.join_code, KEY)  # the lock doubles
    clock.t += 2 * throttle.BASE_DELAY + 0.1
    assert sessions.authenticate(engine, session.join_code, KEY) == session


def test_one_page_trying_many_codes_is_slowed_down_too(room):
    engine, _, session, _ = room
    for code in ("ABCDEF", "GHJKMN", "PQRSTU", "VWXYZ2", "345678", "AAAAAA")[:throttle.FREE + 1]:
        assert refusal(engine, code, KEY) == REFUSED
    assert "Too many wrong keys" in refusal(engine, session.join_code, KEY)


def test_a_new_page_does_not_reset_the_count(room, tmp_path, monkeypatch):
    engine, url, session, _ = room
    monkeypatch.setattr(throttle, "now", time.time)  # the same clock as the other processes
    script = ("import sys\nfrom casebook.records import store\nfrom casebook.sessions import "
              "machine\ntry:\n    machine.authenticate(store.connect(sys.argv[1]), sys.argv[2], "
              "sys.argv[3])\nexcept Exception as exc:\n    print(exc)\n")
    env = {"TMPDIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for i in range(throttle.FREE + 1):  # each guess from a new kernel process, as a new page
        out = subprocess.run([sys.executable, "-c", script, url, session.join_code, f"g{i}"],
                             capture_output=True, text=True, env=env, timeout=60)
        assert out.stdout.strip() == REFUSED, out.stderr
    out = subprocess.run([sys.executable, "-c", script, url, session.join_code, KEY],
                         capture_output=True, text=True, env=env, timeout=60)
    assert "Too many wrong keys" in out.stdout
    throttle._page.clear()  # this process never failed, but the code is locked
    with pytest.raises(throttle.Throttled):
        sessions.authenticate(engine, session.join_code, KEY)


def test_the_instructors_page_says_how_long_to_wait(room):
    _, url, session, clock = room
    console = InstructorConsole(url, load_library(SMALL))
    try:
        for i in range(throttle.FREE + 1):
            assert not console.open_session(session.join_code, f"guess {i}")
        assert not console.open_session(session.join_code, KEY)
        message = one(console, "cb-console-message").value
        assert "Too many wrong keys: wait 3 s" in message and "Traceback" not in message
        clock.t += throttle.BASE_DELAY + 0.1
        assert console.open_session(session.join_code, KEY)
    finally:
        console.close()
