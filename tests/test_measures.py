"""Each measure has one definition (`casebook.rules.measures`), so every view of the same records
reports the same figures: the dashboard, the session report, the live tallies (the console's,
and a learner's after the reveal), the home page's progress, `casebook score` and the CSV and
xAPI exports.

One set of records, on SQLite in tmp_path, for the small fixture library's `knee-simple`
(stage `first-visit`: choose one, `rest` recommended, `xray` not indicated, `opioid` harmful;
`after-rest`: up to two, `xray` and `refer` recommended, `rest` acceptable, `opioid` harmful):

- a class session: Ada, Bea, Cy and Dee vote on `first-visit` (Ada harmful); Ada and Cy
  re-vote (Ada to the key, Cy to harm); then Ada, Bea and Cy vote on `after-rest` with the whole
  key, half of it, and half of it plus an acceptable step: the votes that once showed as 100 %
  concordant on the dashboard and 33 % in the session report;
- a self-study learner, Eve, who answers `first-visit` right and `after-rest` with a harmful
  step: a case score of 0.5 and one safety event.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from widget_tree import by_class, one

from casebook.apps import case_app, home_app
from casebook.cli import main
from casebook.content.loading import load_library
from casebook.dashboard import analytics as d
from casebook.dashboard.page import SELF_STUDY, Dashboard, load
from casebook.records import frames as records
from casebook.records import store, xapi
from casebook.rules import measures
from casebook.rules.scoring import answer_key
from casebook.rules.validation import validate
from casebook.selfstudy.identity import page_query
from casebook.sessions import machine as sessions
from casebook.sessions import report as session_report
from casebook.sessions.console import InstructorConsole
from casebook.sessions.learner import JoinBox

SMALL = Path(__file__).parent / "fixtures" / "small_library"
LIBRARY = load_library(SMALL)
CASE = LIBRARY.cases["knee-simple"]
KEYS = answer_key(LIBRARY.guideline_for(CASE), CASE)
KEY = "a key for the tests"


# --- the measures themselves --------------------------------------------------------------------


def test_concordant_means_full_points_and_nothing_but_the_guidelines_steps():
    assert measures.concordant(1.0, ["recommended"])
    assert measures.concordant(1.0, ["recommended", "recommended"])
    assert not measures.concordant(0.5, ["recommended"])  # half of a two-step answer
    assert not measures.concordant(0.5, ["recommended", "acceptable"])
    assert not measures.concordant(1.0, ["recommended", "not_indicated"])  # a spare slot used
    assert not measures.concordant(0.0, ["recommended", "harmful"])
    assert not measures.concordant(0.5, ["acceptable"])


def test_stage_points_case_score_and_safety_events():
    assert measures.stage_points(["acceptable"], 1, 1) == 0.5
    assert measures.stage_points(["recommended"], 2, 2) == 0.5
    assert measures.stage_points(["recommended", "harmful"], 2, 1) == 0.0
    assert measures.stage_points(["recommended"] * 3, 2, 3) == 0.0  # more than allowed
    assert measures.case_score([1.0], 2) == 0.5  # a stage not answered scores 0
    assert measures.case_score([], 0) == 0.0
    assert measures.safety_events(["xray", "opioid"], ["recommended", "harmful"]) == ("opioid",)
    assert measures.unsafe(["harmful"]) and not measures.unsafe(["acceptable"])


def _answer(who, stage, round, minute):
    return SimpleNamespace(attempt_id=who, stage_id=stage, round=round,
                           submitted_at=datetime(2025, 3, 1, 10, minute, tzinfo=UTC))


def test_the_revote_replaces_the_first_vote_and_within_a_round_the_latest_counts():
    first = _answer("a", "s1", 1, 0)
    revote = _answer("a", "s1", 2, 1)
    late_round_1 = _answer("a", "s1", 1, 5)  # later, but round 1
    other_stage, other_person = _answer("a", "s2", 1, 2), _answer("b", "s1", 1, 3)
    again = _answer("b", "s1", 1, 4)
    kept = measures.counted([first, revote, other_stage, other_person, again, late_round_1])
    assert kept == [revote, other_stage, again]


def test_a_tally_is_shown_to_learners_only_after_the_reveal_from_three_votes():
    three = measures.Tally("s", 1, {}, 3, 0, 0)
    two = measures.Tally("s", 1, {}, 2, 0, 0)
    assert measures.tally_shown_to_learners("revealed", three)
    assert not measures.tally_shown_to_learners("revealed", two)
    assert not measures.tally_shown_to_learners("closed", three)


def test_playable_cases_have_no_problem_in_their_file_or_their_guidelines(tmp_path):
    assert measures.playable(LIBRARY, validate(LIBRARY)) == set(LIBRARY.cases)
    root = tmp_path / "content"
    shutil.copytree(SMALL, root)
    path = root / "knee-hot-joint.yaml"
    path.write_text(path.read_text().replace("action: joint_aspiration", "action: aspirin", 1))
    broken = load_library(root)
    assert measures.playable(broken, validate(broken)) == set(broken.cases) - {"knee-hot-joint"}


# --- one set of records, every view ---------------------------------------------------------


def _join(url: str, code: str, nickname: str):
    box, joined = JoinBox(url), []
    box.on_joined(joined.append)
    one(box, "cb-join-code").value = code
    one(box, "cb-join-nickname").value = nickname
    one(box, "cb-join").click()
    return joined[0]


def _choose(page, *option_ids: str) -> None:
    for option, control in zip(page.play.current.options, by_class(page, "cb-option"),
                               strict=True):
        control.value = option.id in option_ids
    one(page, "cb-confidence").value = "unsure"
    one(page, "cb-submit").click()


def _stats(console) -> list[tuple[int, int, int, int]]:
    return [tuple(int(n) for n in m) for m in re.findall(
        r"data-round='(\d)' data-voters='(\d+)' data-concordant='(\d+)' data-harmful='(\d+)'",
        one(console, "cb-console-stats").value)]


def _tally_counts(html: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r'data-option="(\w+)" data-count="(\d+)"', html)}


class Class:
    """The session and Eve's self-study, driven through the pages as people would."""

    def __init__(self, url: str):
        self.url = url
        self.engine = store.connect(url)
        self.session = sessions.create(self.engine, CASE, KEY)
        self.console = InstructorConsole(url, LIBRARY)
        assert self.console.open_session(self.session.join_code, KEY)
        one(self.console, "cb-console-show-key").value = True  # live figures on its own screen
        self.people = {n: _join(url, self.session.join_code, n) for n in ("Ada", "Bea", "Cy", "Dee")}
        self.live: dict[str, list[tuple[int, int, int, int]]] = {}  # the console's, per stage
        self.learner_tally: dict[str, str] = {}  # Ada's cb-room-tally after each reveal

    def act(self, *actions: str) -> None:
        for action in actions:
            assert self.console.act(action), one(self.console, "cb-console-message").value
        for page in self.people.values():
            page.poll()

    def vote(self, **choices: tuple[str, ...]) -> None:
        for name, options in choices.items():
            _choose(self.people[name], *options)

    def run_session(self) -> None:
        self.act("open")
        self.vote(Ada=("opioid",), Bea=("rest",), Cy=("xray",), Dee=("rest",))
        self.act("close", "revote")
        self.vote(Ada=("rest",), Cy=("opioid",))
        self.console.poll()
        self.live["first-visit"] = _stats(self.console)
        self.act("close", "reveal")
        self.learner_tally["first-visit"] = one(self.people["Ada"], "cb-room-tally").value
        self.act("next", "open")
        self.vote(Ada=("xray", "refer"), Bea=("xray",), Cy=("refer", "rest"))  # Dee abstains
        self.console.poll()
        self.live["after-rest"] = _stats(self.console)
        self.act("close", "reveal")
        self.learner_tally["after-rest"] = one(self.people["Ada"], "cb-room-tally").value
        self.act("next")  # the last stage: the session ends

    def self_study(self) -> str:
        """Eve: the key at first-visit, then xray with a harmful opioid; her score shown."""
        player = case_app("knee-simple", learner="Eve")
        _choose(player, "rest")
        one(player, "cb-next").click()
        _choose(player, "xray", "opioid")
        return one(player, "cb-score").value

    def close(self) -> None:
        self.console.close()
        for page in self.people.values():
            page.close()
        self.engine.dispose()


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    """The records, made once: the session, then Eve (views only read them)."""
    folder = tmp_path_factory.mktemp("measures")
    url = f"sqlite:///{folder / 'casebook.db'}"
    patch = pytest.MonkeyPatch()
    patch.setenv("CASEBOOK_DB", url)
    patch.setenv("CASEBOOK_CASES", str(SMALL))
    patch.delenv("QUERY_STRING", raising=False)
    page_query.cache_clear()
    made = Class(url)
    made.run_session()
    made.eve_score = made.self_study()
    yield made
    made.close()
    patch.undo()
    page_query.cache_clear()


@pytest.fixture(scope="module")
def report(room):
    return session_report.build(room.engine, room.session.join_code, LIBRARY)


@pytest.fixture(scope="module")
def in_session(room):
    """The dashboard's answers, filtered to the session."""
    return load(room.engine, None, None, room.session.id)


def test_the_votes_that_used_to_disagree_are_one_third_concordant_everywhere(
        room, report, in_session):
    votes = in_session[in_session["stage_id"] == "after-rest"]
    # every vote chose a recommended step and nothing harmful: the dashboard's old rule said
    # 100 %, the report's said 33 %; only Ada's is the guideline's whole answer
    assert all("recommended" in v and "harmful" not in v for v in votes["verdicts"])
    conc = d.concordance(in_session).set_index("stage_id")
    assert conc.loc["after-rest", "rate"] == pytest.approx(1 / 3)
    (first_vote,) = report.stages[1].rounds
    assert first_vote.share == report.stages[1].counted.share == pytest.approx(1 / 3)
    assert room.live["after-rest"] == [(1, 3, 1, 0)]  # the console: 3 voted, 1 concordant
    row = next(r for r in session_report.summary_rows(report) if r["stage"] == "after-rest")
    assert (row["voters"], row["concordant"], row["concordance"]) == (3, 1, 0.333)
    assert "33%" in session_report.report_html(report)


def test_the_dashboard_and_the_report_count_the_same_votes(room, report, in_session):
    first = report.stages[0]
    assert [(t.round, t.voters, t.concordant, t.harmful) for t in first.rounds] == [
        (1, 4, 2, 1), (2, 2, 1, 1)]
    assert room.live["first-visit"] == [(1, 4, 2, 1), (2, 2, 1, 1)]
    for stage in report.stages:
        counted, mine = stage.counted, in_session[in_session["stage_id"] == stage.key.stage]
        assert counted.voters == len(mine)
        assert counted.concordant == int(mine["concordant"].sum())
        assert counted.harmful == int((mine["harmful"] > 0).sum())
        assert counted.counts == {o.option: sum(o.option in c for c in mine["choices"])
                                  for o in stage.key.options}
    # Ada's re-vote (rest) replaced her harmful first vote; Cy's (opioid) replaced his xray
    assert first.counted.counts == {"rest": 3, "xray": 0, "opioid": 1}
    assert (first.counted.voters, first.counted.concordant, first.counted.harmful) == (4, 3, 1)
    conc = d.concordance(in_session).set_index("stage_id")
    assert conc.loc["first-visit", ["answers", "concordant"]].tolist() == [4, 3]
    shown = [(r["round"], r["voters"], r["concordance"], r["harmful_votes"])
             for r in session_report.summary_rows(report) if r["stage"] == "first-visit"]
    assert shown == [(1, 4, 0.5, 1), (2, 2, 0.5, 1), ("counted", 4, 0.75, 1)]  # as the dashboard
    safety = d.safety_events(in_session)
    assert safety[["stage_id", "option", "events", "people"]].values.tolist() == [
        ["first-visit", "opioid", 1, 1]]
    html = one(Dashboard(room.engine, LIBRARY), "cb-dashboard").value
    assert "9 answered stages by 5 people across 1 case." in html  # 4 + 3 votes, Eve's 2


def test_learners_see_the_tally_the_console_showed_after_the_reveal(room, report):
    # first-visit was revealed after the re-vote, which only 2 cast: too few to show
    assert "once 3 or more have voted" in room.learner_tally["first-visit"]
    shown = room.learner_tally["after-rest"]
    assert 'data-voters="3"' in shown and 'data-round="1"' in shown
    assert _tally_counts(shown) == report.stages[1].rounds[0].counts == {
        "xray": 2, "refer": 2, "rest": 1, "opioid": 0}


def test_eves_score_and_safety_event_agree_on_every_screen(room, capsys):
    assert 'data-score="0.500"' in room.eve_score  # the player, as she finished
    mine = load(room.engine, None, None, SELF_STUDY)
    assert set(mine["who"]) == {"Eve"}
    assert measures.case_score(mine["points"], len(CASE.stages)) == 0.5
    assert int(mine["harmful"].sum()) == 1 and list(mine["concordant"]) == [True, False]
    home = home_app(learner="Eve")
    listing = one(home, "cb-home").value
    assert "done · best 50% · last 50% · safety events in last attempt: 1" in listing
    assert "Safety events (harmful steps chosen, every attempt): 1" in one(
        home, "cb-identity").value
    args = ["score", "knee-simple", "--cases", str(SMALL), "--answers", "first-visit=rest",
            "--answers", "after-rest=xray,opioid"]
    assert main(args) == 0
    assert "score: 0.500   safety events: 1" in capsys.readouterr().out
    assert main([*args, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["score"], printed["safety_events"]) == (0.5, ["after-rest:opioid"])
    assert [r["points"] for r in printed["stages"]] == list(mine["points"])


def test_the_exports_state_the_same_points_success_and_safety_events(room, tmp_path):
    final = d.answers(records.submissions(room.engine))
    attempts_csv, submissions_csv = records.write_csv(room.engine, tmp_path)
    with submissions_csv.open() as f:
        rows = {r["submission_id"]: r for r in csv.DictReader(f)}
    with attempts_csv.open() as f:
        attempts = {r["attempt_id"]: r for r in csv.DictReader(f)}
    statements = {s["id"]: s for s in xapi.statements(room.engine)}
    assert len(rows) == len(statements) == 4 + 2 + 3 + 2  # every vote and answer, both rounds
    for answer in final.itertuples():
        assert rows[answer.submission_id]["concordant"] == str(answer.concordant)
        result = statements[answer.submission_id]["result"]
        assert result["success"] is answer.concordant
        assert result["score"]["raw"] == answer.points
    per_attempt = final.groupby("attempt_id").agg(points=("points", "sum"),
                                                  harmful=("harmful", "sum"))
    for attempt_id, figures in per_attempt.iterrows():
        exported = attempts[attempt_id]
        assert float(exported["points"]) == figures["points"]
        assert int(exported["safety_events"]) == figures["harmful"]
    # Ada's replaced harmful first vote is exported, but counts nowhere
    ada = final[final["who"] == "Ada (session participant)"]
    assert int(attempts[ada["attempt_id"].iloc[0]]["safety_events"]) == 0
