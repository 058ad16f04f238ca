"""Class sessions over the database, no widgets: the instructor key, join codes, the state
machine, joining under hostile nicknames, votes only while voting is open, tallies, the report
and `casebook session new|report`. On SQLite in tmp_path and on a real PostgreSQL (`db_url`).

The case is the small fixture library's `knee-simple`: stage `first-visit` (choose one: `rest`
recommended, `xray` not indicated, `opioid` harmful) and `after-rest` (choose up to two: `xray`
and `refer` recommended, `rest` acceptable, `opioid` harmful). Its title holds markup.
"""

from __future__ import annotations

import csv
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from casebook.cli import main
from casebook.content.loading import load_library
from casebook.errors import CasebookError
from casebook.records import database, store
from casebook.rules.scoring import answer_key
from casebook.sessions import machine as sessions
from casebook.sessions import report as session_report
from casebook.sessions import room
from casebook.sessions.machine import SessionError

SMALL = Path(__file__).parent / "fixtures" / "small_library"
LIBRARY = load_library(SMALL)
CASE = LIBRARY.cases["knee-simple"]
GUIDELINE = LIBRARY.guideline_for(CASE)
KEYS = answer_key(GUIDELINE, CASE)
STAGES = [s.id for s in CASE.stages]
KEY = "correct horse battery staple"
ACTIONS = ("open", "close", "revote", "reveal", "next", "end")


@pytest.fixture
def engine(db_url):
    engine = store.connect(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    return sessions.create(engine, CASE, KEY)


def walk(engine, state, *actions):
    for action in actions:
        state = sessions.advance(engine, state, action, STAGES)
    return state


def vote(engine, who, stage, choices, round=1, confidence="unsure"):
    """Score `choices` as the player would and record them as `who`'s vote."""
    play = room.RoomPlay(CASE, GUIDELINE, stage_id=stage,
                         recorder=lambda s: room.record_vote(engine, who, s, round))
    return play.submit(stage, choices, confidence)


def count_votes(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(database.submissions))


# --- the instructor key ------------------------------------------------------------------------


def test_key_is_stored_as_a_salted_scrypt_hash():
    first, second = sessions.hash_key(KEY), sessions.hash_key(KEY)
    assert first != second  # salted
    assert first.startswith("scrypt$16384$8$1$") and KEY not in first
    assert sessions.key_matches(first, KEY) and sessions.key_matches(second, KEY)
    assert not sessions.key_matches(first, KEY + " ")
    assert not sessions.key_matches(first, "")
    for broken in ("", "x", "scrypt$1$2$3$!!$!!", first.replace("scrypt", "md5"), "a$b$c$d$e$f"):
        assert not sessions.key_matches(broken, KEY)


def test_new_keys_are_long_and_random():
    keys = {sessions.new_key() for _ in range(50)}
    assert len(keys) == 50 and all(len(k) >= 20 for k in keys)


def test_only_the_right_key_opens_a_session_and_every_refusal_says_the_same(engine, session):
    opened = sessions.authenticate(engine, f" {session.join_code.lower()[:3]}-"
                                           f"{session.join_code.lower()[3:]} ", KEY)
    assert opened == session
    with engine.connect() as conn:
        stored = conn.scalar(sa.select(database.teaching_sessions.c.instructor_key_hash))
    assert KEY not in stored and sessions.key_matches(stored, KEY)
    other = "ABCDEF" if session.join_code != "ABCDEF" else "GHJKMN"
    messages = set()
    for code, key in ((session.join_code, "wrong"), (session.join_code, ""), (other, KEY),
                      ("not a code", KEY), ("", ""), ("<script>", KEY), ("A" * 10_000, KEY)):
        with pytest.raises(SessionError) as caught:
            sessions.authenticate(engine, code, key)
        messages.add(str(caught.value))
    assert messages == {"That join code and instructor key do not open a session."}


def test_an_ended_session_still_opens_for_its_report(engine, session):
    walk(engine, session, "end")
    assert sessions.authenticate(engine, session.join_code, KEY).ended


# --- join codes ---------------------------------------------------------------------------------


def test_join_codes_are_six_unambiguous_characters():
    for _ in range(500):
        code = sessions.new_code()
        assert len(code) == 6 and set(code) <= set(sessions.ALPHABET)
    assert not set("01ILO") & set(sessions.ALPHABET)


def test_a_taken_code_is_drawn_again(engine, session, monkeypatch):
    drawn = iter([session.join_code, session.join_code, "ZZZZZZ"])
    monkeypatch.setattr(sessions, "new_code", lambda: next(drawn))
    assert sessions.create(engine, CASE, KEY).join_code == "ZZZZZZ"


@pytest.mark.parametrize("typed, expected", [
    ("k7q2mx", "K7Q2MX"), (" K7Q-2MX ", "K7Q2MX"), ("k7 q2 mx", "K7Q2MX")])
def test_typed_codes_are_normalised(typed, expected):
    assert sessions.normalize_code(typed) == expected


@pytest.mark.parametrize("typed, message", [
    ("", "Enter the join code"), ("   ", "Enter the join code"),
    ("K7Q2M", "A join code is 6 letters and digits"),
    ("K7Q2M0", "no 0, 1, I, L or O"), ("<script>alert(1)</script>", "A join code is 6"),
    ("'; DROP TABLE teaching_sessions; --", "A join code is 6"),
    ("ΑΒΓΔΕΖ", "A join code is 6"), ("K" * 100_000, "A join code is 6"),
])
def test_hostile_codes_get_a_clear_message(typed, message):
    with pytest.raises(SessionError, match=message) as caught:
        sessions.normalize_code(typed)
    assert "<" not in str(caught.value) and "DROP" not in str(caught.value)


def test_unknown_and_ended_codes_are_told_apart_for_learners(engine, session):
    with pytest.raises(SessionError, match="No session has the code ZZZZZZ"):
        sessions.find(engine, "zzzzzz")
    assert sessions.find(engine, session.join_code) == session
    walk(engine, session, "end")
    with pytest.raises(SessionError, match=f"Session {session.join_code} has ended"):
        sessions.find(engine, session.join_code)


# --- the state machine --------------------------------------------------------------------------


def test_a_new_session_waits_at_the_first_stage(session):
    assert (session.stage_id, session.phase, session.round, session.ended) == (
        "first-visit", "waiting", 1, False)
    assert [a for a in ACTIONS if session.allows(a)] == ["open", "next", "end"]


def test_vote_discuss_revote_reveal_and_move_on_through_the_case(engine, session):
    path = [("open", "voting", 1), ("close", "closed", 1), ("revote", "voting", 2),
            ("close", "closed", 2), ("reveal", "revealed", 2), ("next", "waiting", 1)]
    state = session
    for action, phase, round_ in path:
        state = sessions.advance(engine, state, action, STAGES)
        assert (state.phase, state.round) == (phase, round_)
        assert sessions.state(engine, session.id) == state
    assert state.stage_id == "after-rest"
    state = walk(engine, state, "open", "close", "reveal")
    assert (state.phase, state.round, state.ended) == ("revealed", 1, False)
    state = walk(engine, state, "next")  # the last stage: the session ends
    assert state.ended and not any(state.allows(a) for a in ACTIONS)


@pytest.mark.parametrize("done, refused", [
    ((), ["close", "revote", "reveal"]),
    (("open",), ["open", "revote", "reveal", "next"]),
    (("open", "close"), ["open", "close", "next"]),
    (("open", "close", "revote"), ["open", "revote", "reveal", "next"]),
    (("open", "close", "revote", "close"), ["open", "close", "revote", "next"]),
    (("open", "close", "reveal"), ["open", "close", "revote", "reveal"]),
])
def test_moves_the_state_does_not_allow_are_refused_and_change_nothing(engine, session, done,
                                                                         refused):
    state = walk(engine, session, *done)
    for action in refused:
        with pytest.raises(SessionError, match=f"Cannot {action} now"):
            sessions.advance(engine, state, action, STAGES)
        assert sessions.state(engine, session.id) == state


def test_a_stage_can_be_skipped_before_voting(engine, session):
    assert walk(engine, session, "next").stage_id == "after-rest"


def test_end_works_from_any_phase(engine, session):
    for done in ((), ("open",), ("open", "close"), ("open", "close", "reveal")):
        state = walk(engine, sessions.create(engine, CASE, KEY), *done)
        ended = walk(engine, state, "end")
        assert ended.ended and (ended.phase, ended.stage_id) == (state.phase, state.stage_id)


def test_a_second_instructor_tab_with_an_old_view_cannot_move_the_room(engine, session):
    moved = walk(engine, session, "open")
    with pytest.raises(SessionError, match="changed meanwhile.*voting at stage first-visit"):
        sessions.advance(engine, session, "next", STAGES)  # session: the tab's stale view
    assert sessions.state(engine, session.id) == moved


# --- joining ------------------------------------------------------------------------------------


def test_joining_makes_an_anonymous_participant_with_an_attempt(engine, session):
    ada = room.join(engine, session, "  Ada   L. ", CASE, GUIDELINE)
    assert ada.nickname == "Ada L."
    with engine.connect() as conn:
        attempt = conn.execute(sa.select(database.attempts)).one()
        person = conn.execute(sa.select(database.session_participants)).one()
    assert (attempt.participant_id, attempt.session_id, attempt.learner_id) == (
        ada.id, session.id, None)
    assert (person.learner_id, attempt.guideline_version) == (None, GUIDELINE.version)


@pytest.mark.parametrize("typed", [None, "", "   ", "\t\n"])
def test_no_nickname_gets_a_made_up_one(engine, session, typed):
    made_up = room.join(engine, session, typed, CASE, GUIDELINE).nickname
    adjective, animal, number = made_up.split()
    assert adjective in room.ADJECTIVES and animal in room.ANIMALS and 10 <= int(number) <= 99


def test_made_up_nicknames_never_clash(engine, session, monkeypatch):
    first = room.join(engine, session, "", CASE, GUIDELINE).nickname
    names = iter([first, first, "Calm Otter 11"])
    monkeypatch.setattr(room, "made_up_nickname", lambda: next(names))
    assert room.join(engine, session, "", CASE, GUIDELINE).nickname == "Calm Otter 11"


def test_a_taken_nickname_is_refused_clearly(engine, session):
    room.join(engine, session, "Ada", CASE, GUIDELINE)
    with pytest.raises(SessionError, match="already has that nickname; choose another"):
        room.join(engine, session, " Ada ", CASE, GUIDELINE)
    assert room.join(engine, sessions.create(engine, CASE, KEY), "Ada", CASE, GUIDELINE)


@pytest.mark.parametrize("typed, kept", [
    ("<script>alert(1)</script", "<script>alert(1)</script"),
    ("<img src=x onerror=1>", "<img src=x onerror=1>"),
    ("Robert'); DROP TABLE x;", "Robert'); DROP TABLE x;"),
    ("Zoë 🦉", "Zoë 🦉"), ("Zoe\u0308", "Zoë"), ("名前", "名前"),
])
def test_markup_sql_and_unicode_nicknames_are_kept_as_text(engine, session, typed, kept):
    joined = room.join(engine, session, typed, CASE, GUIDELINE)
    assert joined.nickname == kept == room.nicknames(engine, session.id)[0]


@pytest.mark.parametrize("typed, message", [
    ("x" * 25, "at most 24 characters; yours has 25"),
    ("x" * 1_000_000, "at most 24 characters"),
    ("evil\u202eman", "invisible or control characters"),
    ("a\u200bb", "invisible or control characters"),
    ("bell\x07", "invisible or control characters"),
    ("=HYPERLINK(1)", r"cannot start with =, \+, - or @"), ("@sum", "cannot start with"),
])
def test_unusable_nicknames_get_a_clear_message(engine, session, typed, message):
    with pytest.raises(SessionError, match=message):
        room.join(engine, session, typed, CASE, GUIDELINE)
    assert room.nicknames(engine, session.id) == []


def test_an_ended_session_takes_no_one(engine, session):
    walk(engine, session, "end")
    with pytest.raises(SessionError, match="has ended"):
        room.join(engine, session, "Ada", CASE, GUIDELINE)


# --- voting -------------------------------------------------------------------------------------


def test_a_vote_is_taken_only_while_voting_is_open_on_its_stage_and_round(engine, session):
    ada = room.join(engine, session, "Ada", CASE, GUIDELINE)
    with pytest.raises(SessionError, match="Voting on this stage is closed"):
        vote(engine, ada, "first-visit", ["rest"])  # waiting
    state = walk(engine, session, "open")
    with pytest.raises(SessionError, match="closed"):
        vote(engine, ada, "after-rest", ["xray"])  # not the room's stage
    with pytest.raises(SessionError, match="closed"):
        vote(engine, ada, "first-visit", ["rest"], round=2)  # not the room's round
    assert count_votes(engine) == 0
    vote(engine, ada, "first-visit", ["opioid"])
    with pytest.raises(SessionError, match="already voted in this round"):
        vote(engine, ada, "first-visit", ["rest"])
    state = walk(engine, state, "close")
    with pytest.raises(SessionError, match="closed"):
        vote(engine, room.join(engine, session, "Bea", CASE, GUIDELINE), "first-visit", ["rest"])
    walk(engine, state, "revote")
    vote(engine, ada, "first-visit", ["rest"], round=2)
    kept = room.votes(engine, session.id)
    assert [(v.round, v.choices, v.harmful, v.concordant) for v in kept] == [
        (1, ("opioid",), True, False), (2, ("rest",), False, True)]


def test_once_closing_returns_no_vote_gets_in(engine, session):
    """Votes race the close: the tally read as the close returns is final, and exactly the
    voters told "recorded" have a vote (the check and the write are one transaction)."""
    people = [room.join(engine, session, f"p{i}", CASE, GUIDELINE) for i in range(24)]
    state = walk(engine, session, "open")
    told: dict[str, bool] = {}

    def cast(who) -> None:
        try:
            vote(engine, who, "first-visit", ["rest"])
            told[who.id] = True
        except SessionError:
            told[who.id] = False

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(cast, who) for who in people]
        while not room.votes(engine, session.id):
            time.sleep(0.001)
        walk(engine, state, "close")
        at_close = {v.participant_id for v in room.votes(engine, session.id)}
        for future in futures:
            future.result()
    assert {v.participant_id for v in room.votes(engine, session.id)} == at_close
    assert at_close == {who for who, recorded in told.items() if recorded}


def test_a_refused_vote_leaves_the_play_unscored(engine, session):
    ada = room.join(engine, session, "Ada", CASE, GUIDELINE)
    play = room.RoomPlay(CASE, GUIDELINE, stage_id="first-visit",
                         recorder=lambda s: room.record_vote(engine, ada, s, 1))
    with pytest.raises(SessionError):
        play.submit("first-visit", ["rest"])
    assert play.results == {} and play.current.id == "first-visit"


def test_learners_read_votes_without_names(engine, session):
    ada = room.join(engine, session, "Ada", CASE, GUIDELINE)
    walk(engine, session, "open")
    vote(engine, ada, "first-visit", ["rest"])
    assert [v.nickname for v in room.votes(engine, session.id)] == ["Ada"]
    assert [v.nickname for v in room.votes(engine, session.id, named=False)] == [""]


# --- tallies and the report ---------------------------------------------------------------------


def made(stage, choices, verdicts, points, who="p1", round=1, confidence=None, safety=()):
    return room.Vote(who, who, stage, round, tuple(choices), tuple(verdicts), points,
                     tuple(safety), confidence, datetime(2025, 3, 1, tzinfo=UTC))


def test_a_tally_counts_options_concordance_and_harm():
    votes = [made("first-visit", ["rest"], ["recommended"], 1.0, "a"),
             made("first-visit", ["opioid"], ["harmful"], 0.0, "b", safety=["opioid"]),
             made("first-visit", ["xray"], ["not_indicated"], 0.0, "c"),
             made("first-visit", ["rest"], ["recommended"], 1.0, "a", round=2),
             made("after-rest", ["xray"], ["recommended"], 0.5, "a")]
    first = room.tally(votes, KEYS[0], 1)
    assert first.counts == {"rest": 1, "xray": 1, "opioid": 1}
    assert (first.voters, first.concordant, first.harmful) == (3, 1, 1)
    assert first.share == pytest.approx(1 / 3)
    assert room.tally(votes, KEYS[0], 2).counts == {"rest": 1, "xray": 0, "opioid": 0}
    assert room.tally([], KEYS[0], 1).share is None


def test_a_multi_answer_vote_is_concordant_only_with_every_keyed_step_and_nothing_else():
    both = made("after-rest", ["xray", "refer"], ["recommended", "recommended"], 1.0)
    half = made("after-rest", ["xray"], ["recommended"], 0.5)
    extra = made("after-rest", ["xray", "rest"], ["recommended", "acceptable"], 0.5)
    assert (both.concordant, half.concordant, extra.concordant) == (True, False, False)
    assert room.tally([both, half, extra], KEYS[1], 1).counts == {
        "xray": 3, "refer": 1, "rest": 1, "opioid": 0}


def test_the_report_compares_the_first_vote_with_the_revote():
    votes = [made("first-visit", ["opioid"], ["harmful"], 0, "a", 1, "certain", ["opioid"]),
             made("first-visit", ["rest"], ["recommended"], 1, "b", 1, "guessing"),
             made("first-visit", ["xray"], ["not_indicated"], 0, "c", 1, "unsure"),
             made("first-visit", ["rest"], ["recommended"], 1, "a", 2, "fairly sure"),
             made("first-visit", ["xray"], ["not_indicated"], 0, "b", 2, "unsure"),
             made("first-visit", ["xray"], ["not_indicated"], 0, "c", 2, None)]
    stage = session_report.stage_report(KEYS[0], "First visit", votes)
    assert [(t.round, t.voters, t.concordant, t.harmful) for t in stage.rounds] == [
        (1, 3, 1, 1), (2, 3, 1, 0)]
    assert stage.median_confidence == {1: "unsure", 2: "unsure"}
    assert (stage.both, stage.changed, stage.to_key, stage.from_key) == (3, 2, 1, 1)
    quiet = session_report.stage_report(KEYS[1], "After rest", votes)
    assert [t.voters for t in quiet.rounds] == [0] and quiet.median_confidence == {1: None}


@pytest.fixture
def voted(engine, session):
    """Ada chose harm then re-voted the key; Bea chose the key; then stage 2 had one vote."""
    ada, bea = (room.join(engine, session, n, CASE, GUIDELINE) for n in ("Ada", "<b>Bea</b>"))
    state = walk(engine, session, "open")
    vote(engine, ada, "first-visit", ["opioid"], confidence="certain")
    vote(engine, bea, "first-visit", ["rest"], confidence="fairly sure")
    state = walk(engine, state, "close", "revote")
    vote(engine, ada, "first-visit", ["rest"], round=2, confidence="unsure")
    state = walk(engine, state, "close", "reveal", "next", "open")
    vote(engine, bea, "after-rest", ["xray", "refer"])
    return walk(engine, state, "close", "reveal", "next")


def test_the_report_of_a_session_as_rows_html_csv_and_a_figure(engine, voted, tmp_path):
    report = session_report.build(engine, voted.join_code.lower(), LIBRARY)
    rows = session_report.summary_rows(report)
    assert [(r["stage"], r["round"], r["voters"], r["concordance"], r["harmful_votes"],
             r["median_confidence"]) for r in rows] == [
        ("first-visit", 1, 2, 0.5, 1, "fairly sure"), ("first-visit", 2, 1, 1.0, 0, "unsure"),
        ("first-visit", "counted", 2, 1.0, 0, "unsure"),  # Ada's re-vote and Bea's vote
        ("after-rest", 1, 1, 1.0, 0, "unsure")]
    assert (rows[1]["changed_on_revote"], rows[1]["to_guideline"]) == (1, 1)
    html = session_report.report_html(report)
    assert "A sore knee &lt;that settles&gt;" in html and "<that" not in html
    assert "<b>" not in html  # nicknames are not in the tables at all
    svg = session_report.report_svg(report)
    assert svg.startswith("<svg") and "first-visit: concordance 50% -&gt; 100%" in svg
    paths = session_report.write_csv(report, tmp_path / "out")
    assert [p.name for p in paths] == [f"session-{voted.join_code}-{n}.csv"
                                      for n in ("stages", "options", "votes")]
    with paths[2].open() as f:
        votes = list(csv.DictReader(f))
    assert [(v["nickname"], v["stage"], v["round"], v["choices"]) for v in votes] == [
        ("Ada", "first-visit", "1", '["opioid"]'), ("<b>Bea</b>", "first-visit", "1", '["rest"]'),
        ("Ada", "first-visit", "2", '["rest"]'), ("<b>Bea</b>", "after-rest", "1",
                                                    '["xray", "refer"]')]


def test_a_report_needs_the_session_case_in_the_content(engine, session):
    other = replace(LIBRARY, cases={})
    with pytest.raises(CasebookError, match="is not in the content any more"):
        session_report.build(engine, session.join_code, other)


# --- the command line ---------------------------------------------------------------------------


def test_session_new_prints_a_code_and_a_key_that_opens_it(db_url, engine, capsys):
    assert main(["session", "new", "knee-simple", "--db", db_url, "--cases", str(SMALL)]) == 0
    out = capsys.readouterr()
    code = out.out.split("join code: ")[1].split()[0]
    key = out.out.split("instructor key: ")[1].split()[0]
    assert "cannot be shown again" in out.err
    state = sessions.authenticate(engine, code, key)
    assert (state.case_id, state.phase) == ("knee-simple", "waiting")
    assert main(["session", "new", "no-such-case", "--db", db_url, "--cases", str(SMALL)]) == 1
    assert "no case 'no-such-case'" in capsys.readouterr().err


def test_session_report_prints_the_tables_and_writes_csv(db_url, voted, tmp_path, capsys):
    args = ["session", "report", voted.join_code, "--db", db_url, "--cases", str(SMALL)]
    assert main([*args, "--csv", str(tmp_path / "csv")]) == 0
    out = capsys.readouterr().out
    assert f"session {voted.join_code}: knee-simple, 4 vote(s)" in out
    assert re.search(r"^first-visit +2 +1 +1 +1.0 +0 +unsure +1 +1 +0 *$", out, re.MULTILINE)
    assert len(list((tmp_path / "csv").glob("*.csv"))) == 3
    assert main(["session", "report", "nope", "--db", db_url, "--cases", str(SMALL)]) == 1
    assert "A join code is 6 letters" in capsys.readouterr().err


def test_both_rounds_are_kept_as_submissions(engine, voted):
    with engine.connect() as conn:
        rounds = sorted(conn.scalars(sa.select(database.submissions.c.round)))
    assert rounds == [1, 1, 1, 2]
