"""A class session headless: the instructor's console and learners' pages sharing one SQLite
database in tmp_path, each widget with its own engine as each Voila kernel would have. Driven
by clicks and by calling each page's poll step directly (and once by the real asyncio poller).

The case is the small fixture library's `knee-simple` (see tests/test_sessions.py).
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from widget_tree import by_class, one, synced_state, visible

from casebook.apps import case_app
from casebook.content.loading import load_library
from casebook.records import store
from casebook.sessions import machine as sessions
from casebook.sessions import room
from casebook.sessions.console import InstructorConsole
from casebook.sessions.learner import JoinBox, RoomFollower
from casebook.sessions.polling import POLL_SECONDS, Poller
from casebook.ui.player import CasePlayer

SMALL = Path(__file__).parent / "fixtures" / "small_library"
LIBRARY = load_library(SMALL)
CASE = LIBRARY.cases["knee-simple"]
KEY = "a key for the tests"
VERDICT_TOKENS = ("recommended", "not_indicated", "not indicated", "acceptable", "harmful")


@pytest.fixture
def url(tmp_path, monkeypatch):
    """The database; also the one a case app's JoinBox (no url given) and its content use."""
    url = f"sqlite:///{tmp_path / 'casebook.db'}"
    monkeypatch.setenv("CASEBOOK_DB", url)
    monkeypatch.setenv("CASEBOOK_CASES", str(SMALL))
    return url


@pytest.fixture
def engine(url):
    engine = store.connect(url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    return sessions.create(engine, CASE, KEY)


@pytest.fixture
def console(url, session):
    console = InstructorConsole(url, LIBRARY)
    one(console, "cb-console-code").value = session.join_code
    one(console, "cb-console-key").value = KEY
    one(console, "cb-console-open").click()
    one(console, "cb-console-show-key").value = True  # the instructor's own screen
    yield console
    console.close()


def join(url: str, code: str, nickname: str = "") -> tuple[JoinBox, RoomFollower | None]:
    """Type the code and nickname into a learner's JoinBox and click Join."""
    box, joined = JoinBox(url), []
    box.on_joined(joined.append)
    one(box, "cb-join-code").value = code
    one(box, "cb-join-nickname").value = nickname
    one(box, "cb-join").click()
    return box, (joined[0] if joined else None)


def click(console: InstructorConsole, *actions: str) -> None:
    for action in actions:
        one(console, f"cb-action-{action}").click()


def choose(follower: RoomFollower, *option_ids: str, confidence: str | None = None) -> None:
    stage = follower.play.current
    for option, control in zip(stage.options, by_class(follower, "cb-option"), strict=True):
        control.value = option.id in option_ids
    if confidence:
        one(follower, "cb-confidence").value = confidence
    one(follower, "cb-submit").click()


def text(widget) -> str:
    return re.sub(r"<style>.*?</style>", "", widget.value, flags=re.S)


def rationales() -> set[str]:
    g = LIBRARY.guideline_for(CASE)
    return {r.rationale for r in g.rules} | {c.default.rationale for c in g.contexts}


def counts(console: InstructorConsole, round: int) -> dict[str, int]:
    table = one(console, "cb-histogram").value.split(f'data-round="{round}"')[1].split("</table>")[0]
    return {m[0]: int(m[1]) for m in re.findall(r'data-option="(\w+)" data-count="(\d+)"', table)}


def stats(console: InstructorConsole) -> list[tuple[int, int, int, int]]:
    return [tuple(int(n) for n in m) for m in re.findall(
        r"data-round='(\d)' data-voters='(\d+)' data-concordant='(\d+)' data-harmful='(\d+)'",
        one(console, "cb-console-stats").value)]


# --- the instructor's key ----------------------------------------------------------------------


def test_the_console_opens_only_with_the_sessions_key(url, session):
    console = InstructorConsole(url, LIBRARY)
    assert not visible(console._room) and one(console, "cb-console-message").value == ""
    assert not console.open_session(session.join_code, "not the key")
    assert "do not open a session" in one(console, "cb-console-message").value
    assert not visible(console._room)
    one(console, "cb-console-key").value = KEY
    one(console, "cb-console-code").value = session.join_code.lower()
    one(console, "cb-console-open").click()
    assert visible(console._room) and not visible(console._login)
    assert one(console, "cb-console-key").value == ""  # the key is not kept in the page
    assert KEY not in synced_state(console)
    assert session.join_code in one(console, "cb-console-title").value
    console.close()


def test_nothing_touches_the_database_before_a_session_is_opened(tmp_path):
    missing = tmp_path / "nowhere" / "casebook.db"
    InstructorConsole(f"sqlite:///{missing}", LIBRARY).close()
    JoinBox(f"sqlite:///{missing}").close()
    assert not missing.exists()


# --- a whole class, by clicks and polls --------------------------------------------------------


def test_a_class_votes_discusses_revotes_and_sees_the_answer_after_the_reveal(
        url, engine, session, console, monkeypatch):
    _, ada = join(url, session.join_code, "Ada")
    _, bea = join(url, session.join_code.lower(), "")
    console.poll()
    people = one(console, "cb-console-people").value
    assert "2 joined" in people and "Ada" in people and bea._participant.nickname in people
    assert "Ada" not in synced_state(bea)

    choose(ada, "rest")  # waiting: no vote can be cast yet
    assert one(ada, "cb-submit").disabled and room.votes(engine, session.id) == []
    assert "Waiting for your instructor" in text(one(ada, "cb-room-status"))

    click(console, "open")
    for learner in (ada, bea):
        assert learner.poll()
    assert not one(ada, "cb-submit").disabled  # her choice was kept while she waited

    acknowledged_when_recorded = []
    record = room.record_vote

    def watched(engine_, who, submission, round_):
        acknowledged_when_recorded.append(text(one(ada, "cb-room-ack")))
        return record(engine_, who, submission, round_)

    monkeypatch.setattr(room, "record_vote", watched)
    one(ada, "cb-submit").click()
    assert acknowledged_when_recorded == [""]  # recorded first, acknowledged after
    assert "Your vote is recorded" in text(one(ada, "cb-room-ack"))
    assert one(ada, "cb-submit").disabled
    choose(bea, "opioid", confidence="certain")

    for learner, other in ((ada, bea), (bea, ada)):  # before the reveal: no key, no room
        state = synced_state(learner)
        assert not [t for t in VERDICT_TOKENS if t in state]
        assert not [r for r in rationales() if r[:40] in state]
        assert other.play.results and other._participant.nickname not in state
        assert one(learner, "cb-feedback").value == one(learner, "cb-room-tally").value == ""

    console.poll()
    assert counts(console, 1) == {"rest": 1, "xray": 0, "opioid": 1}
    assert stats(console) == [(1, 2, 1, 1)]

    click(console, "close", "revote")
    ada.poll(), bea.poll()
    assert one(bea, "cb-submit").disabled and "re-vote" in text(one(bea, "cb-room-status"))
    assert one(bea, "cb-room-ack").value == ""  # a fresh form for round 2
    choose(bea, "rest", confidence="fairly sure")
    console.poll()
    assert counts(console, 1) == {"rest": 1, "xray": 0, "opioid": 1}  # round 1 is kept
    assert counts(console, 2) == {"rest": 1, "xray": 0, "opioid": 0}
    assert stats(console) == [(1, 2, 1, 1), (2, 1, 1, 0)]

    click(console, "close", "reveal")
    ada.poll(), bea.poll()
    for learner in (ada, bea):
        feedback = one(learner, "cb-feedback").value
        assert "Points for this stage: 1.00 of 1.00" in feedback  # Bea's re-vote counts
        assert 'data-verdict="recommended"' in feedback
        assert "once 3 or more have voted" in one(learner, "cb-room-tally").value

    click(console, "next")
    ada.poll(), bea.poll()
    assert ada.play.current.id == "after-rest" and one(ada, "cb-feedback").value == ""
    click(console, "open")
    ada.poll()
    choose(ada, "xray", "refer")
    click(console, "end")  # before the reveal: asked, then confirmed
    one(console, "cb-end-confirm").click()
    assert not ada.poll()  # polling stops
    summary = one(ada, "cb-summary").value
    assert "The session has ended" in one(ada, "cb-room-status").value
    assert "First visit" in summary and "After rest" not in summary  # never revealed
    assert by_class(ada, "cb-option") == [] and one(ada, "cb-feedback").value == ""


def test_the_room_tally_is_shown_after_the_reveal_once_three_have_voted(
        url, engine, session, console):
    learners = [join(url, session.join_code, n)[1] for n in ("A", "B", "C")]
    click(console, "open")
    for learner, option in zip(learners, ("rest", "rest", "xray"), strict=True):
        learner.poll()
        choose(learner, option)
    click(console, "close", "reveal")
    learners[0].poll()
    tally = one(learners[0], "cb-room-tally").value
    assert 'data-voters="3"' in tally and 'data-option="rest" data-count="2"' in tally
    assert not any(n in tally for n in ("A</", "B</", "C</"))  # no names


def test_a_vote_sent_after_voting_closed_is_refused_and_not_acknowledged(
        url, engine, session, console):
    _, ada = join(url, session.join_code, "Ada")
    click(console, "open")
    ada.poll()
    click(console, "close")  # Ada's page has not seen this yet
    choose(ada, "rest")
    assert "Voting on this stage is closed" in one(ada, "cb-room-ack").value
    assert "recorded</strong>" not in one(ada, "cb-room-ack").value
    assert room.votes(engine, session.id) == [] and ada.play.results == {}
    ada.poll()
    assert one(ada, "cb-submit").disabled


def test_a_stale_instructor_tab_is_told_and_catches_up(url, session, console):
    other = InstructorConsole(url, LIBRARY)
    assert other.open_session(session.join_code, KEY)
    click(console, "open")
    assert not other.act("open")  # its view still said "waiting"
    assert "changed meanwhile" in one(other, "cb-console-message").value
    assert "data-phase='voting'" in one(other, "cb-console-stage").value
    other.close()


# --- hostile input -----------------------------------------------------------------------------


@pytest.mark.parametrize("code, nickname, message", [
    ("", "Ada", "Enter the join code"),
    ("<script>alert(1)</script>", "", "A join code is 6 letters and digits"),
    ("'; DROP TABLE teaching_sessions;--", "", "A join code is 6"),
    ("Z" * 50_000, "", "A join code is 6"),
    ("ZZZZZZ", "", "No session has the code ZZZZZZ"),
    (None, "n" * 25, "at most 24 characters"),
    (None, "x" * 200_000, "at most 24 characters"),
    (None, "rtl\u202eevil", "invisible or control characters"),
    (None, "=cmd|' /C calc'!A0", "cannot start with"),
])
def test_hostile_codes_and_nicknames_get_a_clear_message(url, session, code, nickname, message):
    box, follower = join(url, session.join_code if code is None else code, nickname)
    assert follower is None
    shown = text(one(box, "cb-join-message"))
    assert message in shown.replace("&#39;", "'")
    assert "<script" not in shown and "DROP" not in shown and len(shown) < 400


def test_a_markup_nickname_is_shown_escaped_to_its_owner_and_the_instructor(
        url, session, console):
    nasty = "<img src=x onerror=1>"
    _, eve = join(url, session.join_code, nasty)
    console.poll()
    for widget in (one(eve, "cb-room-who"), one(console, "cb-console-people")):
        assert "&lt;img src=x onerror=1&gt;" in widget.value and "<img" not in widget.value
    _, again = join(url, session.join_code, nasty)
    assert again is None


def test_the_session_closed_before_joining(url, engine, session):
    sessions.advance(engine, session, "end", [s.id for s in CASE.stages])
    box, follower = join(url, session.join_code, "Ada")
    assert follower is None and "has ended" in one(box, "cb-join-message").value


# --- from a case app, polling by itself, and the page's other tools -----------------------------


def test_joining_from_a_case_app_hands_the_page_to_the_session(url, session):
    player = case_app("knee-hot-joint")  # any case app is a way in; the session's case shows
    assert isinstance(player, CasePlayer) and by_class(player, "cb-option")
    one(player, "cb-join-code").value = session.join_code
    one(player, "cb-join").click()
    [follower] = player.children
    assert isinstance(follower, RoomFollower) and follower.play.case.id == "knee-simple"
    assert follower.play.current.id == "first-visit"
    follower.close()


def off_the_main_thread(func):
    """Run `func` on a thread with no event loop: the browser tests' Playwright (sync API) keeps
    one running on pytest's main thread for the whole session."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(func).result()


def test_a_learner_page_follows_the_room_within_two_seconds_and_stops_when_closed(
        url, engine, session):
    assert POLL_SECONDS <= 1.0

    async def scenario() -> float:
        _, ada = join(url, session.join_code, "Ada")  # polling every POLL_SECONDS
        assert ada.start() and ada.following
        started = time.monotonic()
        sessions.advance(engine, session, "open", [s.id for s in CASE.stages])
        while "Voting is open" not in one(ada, "cb-room-status").value:
            assert time.monotonic() - started < 2, "the page did not follow"
            await asyncio.sleep(0.01)
        ada.close()
        await asyncio.sleep(0.1)
        assert not ada.following
        return time.monotonic() - started

    assert off_the_main_thread(lambda: asyncio.run(scenario())) < 2


def test_polling_is_bounded():
    assert not off_the_main_thread(Poller(lambda: True).start)  # no running loop: nothing starts
    calls = []

    async def scenario() -> None:
        until_false = Poller(lambda: calls.append(1) or len(calls) < 3, every=0.01)
        timed = Poller(lambda: True, every=0.01, limit=0.05)
        assert until_false.start() and timed.start()
        await asyncio.sleep(0.3)
        assert not until_false.running and not timed.running

    off_the_main_thread(lambda: asyncio.run(scenario()))
    assert len(calls) == 3


def test_a_lost_database_is_said_and_retried(url, session, monkeypatch):
    _, ada = join(url, session.join_code, "Ada")

    def unreachable(*_args):
        raise store.StoreError("cannot read the session: sqlite:///x: disk I/O error")

    monkeypatch.setattr(sessions, "state", unreachable)
    assert ada.poll()  # keeps polling
    assert "Lost contact" in one(ada, "cb-room-status").value
    assert "disk" not in one(ada, "cb-room-status").value


def test_the_report_with_its_figure_and_csv_files(url, engine, session, console):
    _, ada = join(url, session.join_code, "Ada")
    click(console, "open")
    ada.poll()
    choose(ada, "opioid", confidence="guessing")
    click(console, "close", "revote")
    ada.poll()
    choose(ada, "rest", confidence="certain")
    one(console, "cb-report-button").click()
    report = one(console, "cb-report").value
    assert 'class="cb-report-stages"' in report and "<svg" in report
    files = dict(re.findall(r'download="([^"]+)" href="data:text/csv;charset=utf-8;base64,([^"]+)"',
                            report))
    assert sorted(files) == [f"session-{session.join_code}-{n}.csv"
                             for n in ("options", "stages", "votes")]
    votes = list(csv.DictReader(io.StringIO(base64.b64decode(
        files[f"session-{session.join_code}-votes.csv"]).decode())))
    assert [(v["nickname"], v["round"], v["choices"], v["confidence"]) for v in votes] == [
        ("Ada", "1", '["opioid"]', "guessing"), ("Ada", "2", '["rest"]', "certain")]


def test_a_new_session_from_the_console_under_the_same_key(url, engine, session, console):
    one(console, "cb-new-case").value = "knee-hot-joint"
    one(console, "cb-new-session").click()
    title = one(console, "cb-console-title").value
    code = re.search(r"cb-join-code-shown'>(\w+)<", title)[1]
    assert code != session.join_code
    assert sessions.authenticate(engine, code, KEY).case_id == "knee-hot-joint"
    assert join(url, code, "Ada")[1].play.case.id == "knee-hot-joint"
