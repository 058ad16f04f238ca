"""Instructor analytics on a SQLite database filled through the store API: concordance, missed
decisions, what was chosen instead, safety events, calibration, who may need help, the
filters, the plots, and the dashboard widget."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from widget_tree import one, visible

from casebook.content.loading import load_library
from casebook.dashboard import analytics as d
from casebook.dashboard.page import ALL, SELF_STUDY, Dashboard, dashboard_app, load, sessions
from casebook.records import database, store
from casebook.records import frames as records
from casebook.rules.play import Play

SMALL = Path(__file__).parent / "fixtures" / "small_library"
HOSTILE_NICKNAME = '<img src=x onerror="alert(1)">'


def march(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 3, day, hour, tzinfo=UTC)


@pytest.fixture(scope="module")
def library():
    return load_library(SMALL)


class Course:
    """Fills a database through the store API, dating each attempt and its answers."""

    def __init__(self, engine, library):
        self.engine, self.library = engine, library

    def play(self, who: str, case_id: str, answers, day: int, confidence="certain",
             session: str | None = None, participant: str | None = None) -> str:
        case = self.library.cases[case_id]
        guideline = self.library.guideline_for(case)
        learner = None if participant else store.ensure_learner(self.engine, who)
        attempt = store.start_attempt(self.engine, learner, case, guideline, session, participant)
        run = Play(case, guideline, recorder=store.recorder(self.engine, attempt))
        for stage_id, chosen in answers.items():
            run.submit(stage_id, chosen, confidence)
        self.redate(attempt, day)
        return attempt

    def redate(self, attempt: str, day: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(database.attempts.update().where(database.attempts.c.id == attempt)
                         .values(started_at=march(day, 9)))
            conn.execute(database.submissions.update()
                         .where(database.submissions.c.attempt_id == attempt)
                         .values(submitted_at=march(day)))

    def session(self, session_id: str, code: str, nickname: str, day: int) -> str:
        with self.engine.begin() as conn:
            conn.execute(database.teaching_sessions.insert().values(
                id=session_id, join_code=code, instructor_key_hash="x", case_id="knee-simple",
                phase="revealed", round=1, created_at=march(day), updated_at=march(day)))
            conn.execute(database.session_participants.insert().values(
                id=f"p-{session_id}", session_id=session_id, nickname=nickname,
                joined_at=march(day)))
        return f"p-{session_id}"


@pytest.fixture
def course(tmp_path, library):
    """Ana: perfect (1 March). Bo: harmful twice (2 March). Cy: four weak stages, unsure
    (3 March). In session K7Q2 (4 March) a participant with a hostile nickname chose harm twice."""
    engine = store.connect(f"sqlite:///{tmp_path / 'casebook.db'}")
    c = Course(engine, library)
    c.play("Ana", "knee-simple", {"first-visit": ["rest"], "after-rest": ["xray", "refer"]}, 1)
    c.play("Bo", "knee-simple", {"first-visit": ["opioid"], "after-rest": ["opioid", "xray"]}, 2)
    c.play("Cy", "knee-simple", {"first-visit": ["xray"], "after-rest": ["rest"]}, 3, "unsure")
    c.play("Cy", "knee-hot-joint", {"first-visit": ["aspirate"], "hot-knee": ["refer"]}, 3,
           "unsure")
    participant = c.session("s1", "K7Q2", HOSTILE_NICKNAME, 4)
    c.play("", "knee-simple", {"first-visit": ["opioid"], "after-rest": ["opioid"]}, 4,
           "guessing", "s1", participant)
    yield c
    engine.dispose()


@pytest.fixture
def final(course):
    return d.answers(records.submissions(course.engine))


def test_answers_name_people_and_mark_concordance_and_harm(final):
    assert len(final) == 10
    assert sorted(set(final["who"])) == sorted(
        {"Ana", "Bo", "Cy", f"{HOSTILE_NICKNAME} (session participant)"})
    bo = final[final["who"] == "Bo"].set_index("stage_id")
    # opioid + xray: a recommended option, but also a harmful one: not concordant
    assert bo.loc["after-rest", "verdicts"] == ["harmful", "recommended"]
    assert not bo.loc["after-rest", "concordant"] and bo.loc["after-rest", "harmful"] == 1


def test_a_re_vote_replaces_the_first_vote(course, library):
    attempt = course.play("Dee", "knee-simple", {"first-visit": ["opioid"]}, 5)
    case = library.cases["knee-simple"]
    Play(case, library.guideline_for(case), recorder=store.recorder(
        course.engine, attempt, round=2)).submit("first-visit", ["rest"])
    dee = d.answers(records.submissions(course.engine)).query("who == 'Dee'")
    assert list(dee["choices"]) == [["rest"]] and list(dee["concordant"]) == [True]


def test_concordance_per_case_and_stage(final):
    table = d.concordance(final).set_index(["case_id", "stage_id"])
    assert table.loc[("knee-simple", "first-visit"), ["answers", "concordant"]].tolist() == [4, 1]
    assert table.loc[("knee-simple", "after-rest"), "rate"] == 0.25
    # Cy chose one of hot-knee's two recommended steps (0.5 points): half the guideline's
    # answer is not concordant (`measures.concordant`), though it chose nothing unrecommended
    assert table.loc[("knee-hot-joint", "hot-knee"), ["answers", "concordant"]].tolist() == [1, 0]


def test_most_missed_decisions_come_first(final):
    table = d.most_missed(final)
    assert list(zip(table["case_id"], table["stage_id"], strict=True)) == [
        ("knee-hot-joint", "first-visit"), ("knee-hot-joint", "hot-knee"),
        ("knee-simple", "after-rest"), ("knee-simple", "first-visit")]
    assert table.loc[2, ["answers", "missed"]].tolist() == [4, 3]


def test_the_options_chosen_instead(final):
    table = d.chosen_instead(final)
    top = table.iloc[0]
    assert (top.case_id, top.stage_id, top.option, top.verdict, top.times) == (
        "knee-simple", "after-rest", "opioid", "harmful", 2)
    assert top.share == pytest.approx(0.5)
    assert "recommended" not in set(table["verdict"])
    assert set(table["option"]) == {"opioid", "xray", "rest", "aspirate"}


def test_safety_events_by_option_and_people(final):
    table = d.safety_events(final)
    assert table[["stage_id", "option", "events", "people"]].values.tolist() == [
        ["after-rest", "opioid", 2, 2], ["first-visit", "opioid", 2, 2]]


def test_calibration_confidence_against_correctness(final):
    table = d.calibration(final).set_index("confidence")
    assert list(table.index) == ["guessing", "unsure", "fairly sure", "certain", "not given"]
    assert table.loc["certain", "answers"] == 4 and table.loc["certain", "concordance"] == 0.5
    assert table.loc["unsure", "answers"] == 4 and table.loc["unsure", "concordance"] == 0.0
    assert table.loc["guessing", "answers"] == 2 and table.loc["guessing", "concordance"] == 0.0
    assert table.loc["fairly sure", "answers"] == 0


def test_who_may_need_help_follows_the_documented_rule(final):
    table = d.needs_help(final)
    participant = f"{HOSTILE_NICKNAME} (session participant)"
    assert list(table["who"]) == [participant, "Bo", "Cy"]
    assert table.loc[1, "reasons"] == "2 safety events"  # too few stages to judge the score
    # 4 stages, 0.75 points: 0.5 (one of hot-knee's two keyed steps) + 0.25 (after-rest's
    # acceptable rest, half of one of two keyed steps; 0 under scoring rule "1")
    assert table.loc[2, "reasons"] == "mean points 0.19"
    assert list(d.needs_help(final, safety=3)["who"]) == ["Cy"]
    assert list(d.needs_help(final, safety=3, min_stages=5)["who"]) == []
    assert "Ana" not in set(d.needs_help(final, safety=1, score=1.0)["who"])  # all 1.0


def test_filters_by_date_and_session(course):
    def who(**filters):
        return sorted(set(load(course.engine, **filters)["who"]))

    assert who(since=None, until=None, session=ALL) == sorted(
        ["Ana", "Bo", "Cy", f"{HOSTILE_NICKNAME} (session participant)"])
    assert who(since=date(2025, 3, 2), until=date(2025, 3, 3), session=ALL) == ["Bo", "Cy"]
    assert who(since=None, until=None, session=SELF_STUDY) == ["Ana", "Bo", "Cy"]
    assert who(since=None, until=None, session="s1") == [
        f"{HOSTILE_NICKNAME} (session participant)"]
    assert sessions(course.engine) == [("Session K7Q2: knee-simple, 2025-03-04", "s1")]


def test_figures_plot_the_tables(final):
    table = d.concordance(final)
    fig = d.concordance_figure(table)
    widths = [bar.get_width() for bar in fig.axes[0].patches]
    assert widths == pytest.approx(list(table["rate"]))
    assert d.figure_html(fig, "a <chart>").startswith('<img src="data:image/png;base64,')
    assert 'alt="a &lt;chart&gt;"' in d.figure_html(fig, "a <chart>")
    fig = d.calibration_figure(d.calibration(final.iloc[0:0]))
    assert fig.axes[0].texts[0].get_text() == "No answers in these records"


def test_every_table_copes_with_no_answers(final):
    empty = final.iloc[0:0]
    for table in (d.concordance(empty), d.most_missed(empty), d.chosen_instead(empty),
                  d.safety_events(empty), d.needs_help(empty)):
        assert isinstance(table, pd.DataFrame) and table.empty
    assert d.calibration(empty)["answers"].sum() == 0


def test_labels_name_cases_stages_and_options(final, library):
    table = d.labelled(d.chosen_instead(final), library)
    row = table.iloc[0]
    assert (row.case, row.stage, row.stage_no, row.option_text) == (
        "A sore knee <that settles>", "Six weeks later", 2, "Prescribe a strong opioid")


def test_the_dashboard_widget_filters_and_escapes(course, library):
    board = Dashboard(course.engine, library)
    notice = one(board, "cb-notice").value
    assert "Educational use only, not clinical advice." in notice
    assert "Review status: draft; in review" in notice
    html = one(board, "cb-dashboard").value
    assert "10 answered stages by 4 people across 2 cases." in html
    for section in ("Concordance per case and stage", "Most-missed decisions",
                    "Options most often chosen instead", "Safety events",
                    "Confidence against correctness", "Who may need help"):
        assert section in html
    assert html.count('<img src="data:image/png;base64,') == 4
    assert "<img src=x" not in html and "&lt;img src=x onerror=" in html
    assert "A sore knee &lt;that settles&gt;" in html
    assert not visible(one(board, "cb-error"))

    controls = {c.description: c for c in board.children[2].children}
    controls["Records"].value = "s1"
    assert "2 answered stages by 1 person across 1 case." in one(board, "cb-dashboard").value
    controls["Records"].value = ALL
    controls["From"].value = date(2025, 3, 10)
    assert "0 answered stages by 0 people" in one(board, "cb-dashboard").value
    assert "None in these records." in one(board, "cb-dashboard").value


def test_an_unreadable_database_shows_cb_error_with_the_notice(tmp_path, monkeypatch, library):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("CASEBOOK_CASES", str(SMALL))
    monkeypatch.setenv("CASEBOOK_DB", f"sqlite:///{tmp_path / 'a-file' / 'casebook.db'}")
    screen = dashboard_app()
    assert "The records cannot be read." in one(screen, "cb-error").value
    assert "Review status: draft; in review" in one(screen, "cb-notice").value


def test_records_failing_after_start_show_cb_error(course, library):
    board = Dashboard(course.engine, library)
    with course.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE submissions")
    board.refresh()
    assert visible(one(board, "cb-error"))
    assert "The records cannot be read." in one(board, "cb-error").value
    assert one(board, "cb-dashboard").value == ""
