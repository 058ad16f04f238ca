"""The room, headless: one page is one participant, a reload rejoins, the join address fills the
code, Enter joins, the console keeps the key off its screen and asks before ending, a signed-in
instructor needs no key, and the presenter view shows no verdict before the reveal.

Comm messages are fed to the widgets as the kernel receives them from a page
(`Widget._handle_msg`), so a click the page's widgets would never send is tested too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from widget_tree import by_class, one, synced_state

from casebook.content.loading import load_library
from casebook.records import store
from casebook.sessions import machine as sessions
from casebook.sessions import room
from casebook.sessions.console import InstructorConsole
from casebook.sessions.learner import JoinBox, RoomFollower, offer_session
from casebook.sessions.presenter import PresenterView, join_address, public_base, qr_svg
from casebook.ui.player import CasePlayer

SMALL = Path(__file__).parent / "fixtures" / "small_library"
LIBRARY = load_library(SMALL)
CASE = LIBRARY.cases["knee-simple"]
STAGES = [s.id for s in CASE.stages]
KEY = "a key for the tests"
VERDICT_WORDS = re.compile(r"recommended|not_indicated|acceptable|harmful|guideline's step",
                           re.IGNORECASE)


@pytest.fixture
def url(tmp_path, monkeypatch):
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


def comm(widget, data: dict) -> None:
    """A comm message from the page, as ipykernel hands it to the widget."""
    widget._handle_msg({"content": {"data": data}, "buffers": []})


def click_from_page(button) -> None:
    comm(button, {"method": "custom", "content": {"event": "click"}})


def box_for(url: str, code: str, nickname: str = "") -> tuple[JoinBox, list[RoomFollower]]:
    box, joined = JoinBox(url), []
    box.on_joined(joined.append)
    comm(one(box, "cb-join-code"), {"method": "update", "state": {"value": code}})
    comm(one(box, "cb-join-nickname"), {"method": "update", "state": {"value": nickname}})
    return box, joined


def test_six_join_clicks_from_one_page_make_one_participant(url, engine, session):
    box, joined = box_for(url, session.join_code, "")  # a made-up nickname per join
    for _ in range(6):
        click_from_page(one(box, "cb-join"))
    assert len(joined) == 1
    assert len(room.nicknames(engine, session.id)) == 1
    assert "already joined" in one(box, "cb-join-message").value
    assert one(box, "cb-join").disabled
    for follower in joined:
        follower.close()


def test_enter_in_the_code_or_nickname_field_joins(url, engine, session):
    box, joined = box_for(url, session.join_code, "")
    comm(one(box, "cb-join-nickname"), {"method": "custom", "content": {"event": "submit"}})
    comm(one(box, "cb-join-code"), {"method": "custom", "content": {"event": "submit"}})
    assert len(joined) == 1 and len(room.nicknames(engine, session.id)) == 1


def open_voting(engine, session) -> None:
    sessions.advance(engine, session, "open", STAGES)


def test_a_replayed_submit_counts_once_and_says_already_voted(url, engine, session):
    box, joined = box_for(url, session.join_code, "Ada")
    click_from_page(one(box, "cb-join"))
    ada = joined[0]
    open_voting(engine, session)
    ada.poll()
    rest = by_class(ada, "cb-option")[0]
    comm(rest, {"method": "update", "state": {"value": True}})
    submit = one(ada, "cb-submit")
    for _ in range(6):
        comm(submit, {"method": "update", "state": {"disabled": False}})  # a forged enable
        click_from_page(submit)
    assert len(room.votes(engine, session.id)) == 1
    assert "Your vote is recorded" in one(ada, "cb-room-ack").value
    ada._vote(["rest"], None)  # past the form's own check: the follower refuses too
    assert "already voted" in one(ada, "cb-room-ack").value
    assert len(room.votes(engine, session.id)) == 1


@pytest.mark.parametrize("forged", [["nonsense"], ["rest", "rest"], [], ["<script>"]])
def test_an_option_the_stage_does_not_offer_is_refused(url, engine, session, forged):
    box, joined = box_for(url, session.join_code, "Ada")
    click_from_page(one(box, "cb-join"))
    ada = joined[0]
    open_voting(engine, session)
    ada.poll()
    ada._vote(forged, None)
    assert "not one of this stage" in one(ada, "cb-room-ack").value
    assert room.votes(engine, session.id) == []


def test_a_reload_rejoins_as_the_same_participant_with_the_same_vote(url, engine, session):
    box, joined = box_for(url, session.join_code, "Ada")
    click_from_page(one(box, "cb-join"))
    ada = joined[0]
    open_voting(engine, session)
    ada.poll()
    ada._vote(["opioid"], "certain")
    query = ada.rejoin_query
    assert query.startswith(f"?session={session.join_code}&rejoin=")
    assert f'data-cb-address="{query.replace("&", "&amp;")}"' in one(ada, "cb-room-who").value
    token = query.split("rejoin=")[1]
    stored = store.connect(url)
    assert token not in repr(room.nicknames(stored, session.id))

    page = offer_session(CasePlayer(_play()), url, query=query[1:])  # the reloaded page
    again = page.children[0]
    assert isinstance(again, RoomFollower)
    assert again._participant.id == ada._participant.id
    assert room.nicknames(engine, session.id) == ["Ada"]  # counted once
    assert "already voted" in one(again, "cb-room-ack").value
    assert one(again, "cb-submit").disabled
    again._vote(["rest"], None)
    assert [v.choices for v in room.votes(engine, session.id)] == [("opioid",)]
    sessions.advance(engine, sessions.state(engine, session.id), "close", STAGES)
    sessions.advance(engine, sessions.state(engine, session.id), "reveal", STAGES)
    again.poll()
    assert "Points for this stage" in one(again, "cb-feedback").value  # the vote's feedback


def _play():
    from casebook.rules.play import Play

    return Play(LIBRARY.cases["knee-hot-joint"], LIBRARY.guideline_for(
        LIBRARY.cases["knee-hot-joint"]))


def test_the_join_address_fills_the_code_and_a_bad_token_offers_the_form(url, session):
    page = offer_session(CasePlayer(_play()), url, query=f"session={session.join_code}")
    assert one(page, "cb-join-code").value == session.join_code
    bad = offer_session(CasePlayer(_play()), url,
                        query=f"session={session.join_code}&rejoin=A{'b' * 30}")
    assert "rejoin link is not valid" in one(bad, "cb-join-message").value
    assert isinstance(bad, CasePlayer) and one(bad, "cb-join").disabled is False


def test_the_console_marks_nothing_before_the_reveal_unless_asked(url, engine, session):
    console = InstructorConsole(url, LIBRARY)
    assert console.open_session(session.join_code, KEY)
    box, joined = box_for(url, session.join_code, "Ada")
    click_from_page(one(box, "cb-join"))
    open_voting(engine, session)
    joined[0].poll()
    joined[0]._vote(["opioid"], None)
    console.poll()
    shown = one(console, "cb-histogram").value + one(console, "cb-console-stats").value
    assert 'data-count="1"' in shown and not VERDICT_WORDS.search(shown)
    one(console, "cb-console-show-key").value = True
    assert "(harmful)" in one(console, "cb-histogram").value
    one(console, "cb-console-show-key").value = False
    one(console, "cb-action-end").click()  # asks first
    assert not sessions.state(engine, session.id).ended
    one(console, "cb-end-cancel").click()
    one(console, "cb-action-end").click()
    one(console, "cb-end-confirm").click()
    assert sessions.state(engine, session.id).ended
    console.close()


def test_a_signed_in_instructor_starts_and_reopens_without_a_key(url, engine, session):
    console = InstructorConsole(url, LIBRARY, signed_in=True)
    assert session.join_code in [v for _, v in one(console, "cb-console-running").options]
    one(console, "cb-start-case").value = "knee-simple"
    one(console, "cb-start-session").click()
    code = re.search(r"cb-join-code-shown'>(\w+)<", one(console, "cb-console-title").value)[1]
    assert code != session.join_code and not sessions.find(engine, code).ended
    other = InstructorConsole(url, LIBRARY, signed_in=True)  # a reload
    assert other.reopen(code) and code in one(other, "cb-console-title").value
    plain = InstructorConsole(url, LIBRARY)
    assert not plain.reopen(code) and not plain.new_session("knee-simple")
    for c in (console, other, plain):
        c.close()


def test_the_presenter_shows_no_verdict_until_the_reveal(url, engine, session):
    view = PresenterView(session.join_code, url, LIBRARY, base="http://10.1.2.3:8866/",
                         countdown=90)
    learners = []
    for name in ("Ada Nick", "Bea Nick", "Cy Nick"):
        box, joined = box_for(url, session.join_code, name)
        click_from_page(one(box, "cb-join"))
        learners += joined
    open_voting(engine, session)
    for learner, choice in zip(learners, ("rest", "opioid", "rest"), strict=True):
        learner.poll()
        learner._vote([choice], None)
    view.poll()
    state = synced_state(view)
    assert not VERDICT_WORDS.search(state) and "data-count" not in state
    assert 'data-joined=\\"3\\"' in state and 'data-answered=\\"3\\"' in state
    assert "Time left: 1:30" in one(view, "cb-presenter-countdown").value
    address = f"http://10.1.2.3:8866/voila/render/cases/knee-simple.ipynb?session={session.join_code}"
    assert address in one(view, "cb-presenter-header").value and "<svg" in state
    assert "Nick" not in state  # no names on the projector
    for action in ("close", "reveal"):
        sessions.advance(engine, sessions.state(engine, session.id), action, STAGES)
    view.poll()
    results = one(view, "cb-presenter-results").value
    assert 'data-option="rest" data-count="2"' in results and "(harmful)" in results
    view.close()


def test_the_join_address_base_and_qr():
    assert public_base({"CASEBOOK_PUBLIC_URL": "http://ward.example:80"}) == \
        "http://ward.example:80/"
    assert public_base({"SERVER_NAME": "192.168.1.20", "SERVER_PORT": "8867"}) == \
        "http://192.168.1.20:8866/"
    assert public_base({"SERVER_NAME": "evil\"><script>", "SERVER_PORT": "x"}) == \
        "http://127.0.0.1:8866/"
    address = join_address("http://h:1/", "a b", "K7Q2MX")
    assert address == "http://h:1/voila/render/cases/a%20b.ipynb?session=K7Q2MX"
    svg = qr_svg(address)
    assert svg.startswith("<svg") and "http" not in svg.split(">", 1)[1]  # drawn, not linked


def test_a_hostile_address_is_ignored(url, session):
    crowded = "&".join(f"x{n}=1" for n in range(50)) + f"&session={session.join_code}"
    page = offer_session(CasePlayer(_play()), url, query=crowded)
    assert one(page, "cb-join-code").value == ""
    from casebook.sessions.presenter import presenter_view

    view = presenter_view(url, query=crowded)
    assert "presenter link" in one(view, "cb-presenter-message").value
    view.close()
