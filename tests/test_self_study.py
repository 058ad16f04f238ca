"""Self-study through the apps, headless: `case_app` and `home_app` with a learner in the page's
query string and a SQLite database in tmp_path. Rebuilding an app is what a new kernel does (a
reload, or coming back another day)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from widget_tree import by_class, one, synced_state, visible

from casebook.apps import case_app, home_app
from casebook.records import database, store
from casebook.records import frames as records
from casebook.selfstudy.identity import page_query
from casebook.ui.player import CasePlayer

SMALL = Path(__file__).parent / "fixtures" / "small_library"
NOT_SAVED = "Your answer was not saved, try again."
HOSTILE = {
    "script": "<script>alert(1)</script>",
    "html": '<img src=x onerror="alert(1)">',
    "very-long": "A" * 5000,
    "empty": "",
    "right-to-left-override": "\u202egnp.exe",
}


@pytest.fixture
def db(tmp_path, monkeypatch):
    """The small fixture library, records in tmp_path, and a page with no query string yet."""
    url = f"sqlite:///{tmp_path / 'casebook.db'}"
    monkeypatch.setenv("CASEBOOK_CASES", str(SMALL))
    monkeypatch.setenv("CASEBOOK_DB", url)
    monkeypatch.delenv("QUERY_STRING", raising=False)
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    page_query.cache_clear()
    engine = store.connect(url)
    yield engine
    engine.dispose()
    page_query.cache_clear()


def new_page(monkeypatch, query: str | None, app=case_app, *args):
    """A fresh kernel serving a page at `?query`: the app as Voila would build it."""
    if query is None:
        monkeypatch.delenv("QUERY_STRING", raising=False)
    else:
        monkeypatch.setenv("QUERY_STRING", query)
    page_query.cache_clear()
    return app(*args) if args else app("knee-simple") if app is case_app else app()


def choose(player: CasePlayer, chosen: list[str], confidence: str | None = "unsure") -> None:
    ids = [o.id for o in player.play.current.options]
    for control, option_id in zip(by_class(player, "cb-option"), ids, strict=True):
        control.value = option_id in chosen
    one(player, "cb-confidence").value = confidence
    one(player, "cb-submit").click()


def next_stage(player: CasePlayer) -> None:
    one(player, "cb-next").click()


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(table))


def test_each_answer_is_recorded_with_everything_before_its_feedback(db, monkeypatch):
    player = new_page(monkeypatch, "learner=Ana+B")
    seen_at_record: list[str] = []
    record = store.record

    def spy(*args, **kwargs):
        seen_at_record.append(one(player, "cb-feedback").value)
        return record(*args, **kwargs)

    monkeypatch.setattr(store, "record", spy)
    choose(player, ["opioid"], "certain")
    assert seen_at_record == [""]  # nothing shown yet when the write happened
    assert "Safety event" in one(player, "cb-feedback").value
    (row,) = records.submissions(db).itertuples(index=False)
    assert (row.display_name, row.session_id, row.case_id, row.guideline_id,
            row.guideline_version, row.stage_id, row.round) == (
        "Ana B", None, "knee-simple", "sore-knee", "1.2.0", "first-visit", 1)
    assert (row.choices, row.verdicts, row.points, row.safety_events, row.confidence) == (
        ["opioid"], ["harmful"], 0.0, ["opioid"], "certain")
    assert row.seconds_on_stage >= 0 and row.submitted_at <= row.recorded_at


def test_leaving_half_way_and_coming_back_resumes_at_the_next_stage(db, monkeypatch):
    player = new_page(monkeypatch, "learner=Ana")
    choose(player, ["rest"], "fairly sure")
    del player  # the tab is closed; a new kernel serves the page next time

    again = new_page(monkeypatch, "learner=Ana")
    assert again.play.current.id == "after-rest"
    assert again.play.confidence == {"first-visit": "fairly sure"}
    assert "Score so far (1 of 2 stages)" in one(again, "cb-score").value
    assert "Welcome back: your answers to 1 of 2 stages are restored." in one(
        again, "cb-identity").value
    choose(again, ["xray", "refer"])
    next_stage(again)
    assert visible(one(again, "cb-summary"))
    (attempt,) = records.attempts(db).itertuples(index=False)
    assert attempt.stages_answered == 2 and attempt.finished_at is not None

    fresh = new_page(monkeypatch, "learner=Ana")  # a finished case starts afresh
    assert fresh.play.current.id == "first-visit" and not fresh.play.results


def test_try_again_starts_a_new_attempt_and_keeps_the_old(db, monkeypatch):
    player = new_page(monkeypatch, "learner=Ana")
    choose(player, ["opioid"])
    next_stage(player)
    choose(player, ["xray", "refer"])
    next_stage(player)
    one(player, "cb-retry").click()
    assert player.play.current.id == "first-visit"
    choose(player, ["rest"])
    attempts = records.attempts(db).sort_values("started_at")
    assert list(attempts["stages_answered"]) == [2, 1]
    assert attempts["finished_at"].notna().tolist() == [True, False]
    subs = records.submissions(db).sort_values("submitted_at")
    assert [c[0] for c in subs["choices"]] == ["opioid", "xray", "rest"]  # the old kept as is

    back = new_page(monkeypatch, "learner=Ana")  # and the new one is what resumes
    assert back.play.current.id == "after-rest"
    assert back.play.results["first-visit"].points == 1.0


def test_an_attempt_the_case_no_longer_fits_is_kept_and_a_new_one_started(db, monkeypatch):
    from dataclasses import replace

    player = new_page(monkeypatch, "learner=Ana")
    seen = []
    player.play.recorder, keep = (lambda sub: seen.append(sub)), player.play.recorder
    choose(player, ["rest"])
    keep(replace(seen[0], choices=("an-option-since-removed",)))  # as an older case had it
    again = new_page(monkeypatch, "learner=Ana")
    assert again.play.current.id == "first-visit" and not again.play.results
    assert "Welcome back" not in one(again, "cb-identity").value
    choose(again, ["rest"])
    subs = records.submissions(db)
    assert subs["attempt_id"].nunique() == 2
    assert sorted(c[0] for c in subs["choices"]) == ["an-option-since-removed", "rest"]


def refuse_writes(engine) -> None:
    """The database refuses every new answer, as a full disk or a lost lock would."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TRIGGER refuse BEFORE INSERT ON submissions "
                             "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")


def allow_writes(engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER refuse")


def test_a_failed_write_shows_cb_error_and_no_feedback_and_loses_nothing(db, monkeypatch):
    player = new_page(monkeypatch, "learner=Ana")
    choose(player, ["rest"])
    next_stage(player)
    refuse_writes(db)
    choose(player, ["xray", "refer"])
    error = one(player, "cb-error")
    assert visible(error) and NOT_SAVED in error.value
    assert "Traceback" not in error.value and "sqlite" not in error.value
    assert one(player, "cb-feedback").value == "" and not visible(one(player, "cb-feedback"))
    assert "recommended" not in synced_state(player)  # no verdict reached the page
    assert not one(player, "cb-submit").disabled  # the answer is still there to send again
    assert player.play.current.id == "after-rest"
    assert [r.stage_id for r in records.submissions(db).itertuples()] == ["first-visit"]

    allow_writes(db)
    one(player, "cb-submit").click()  # "try again"
    assert visible(one(player, "cb-feedback")) and not visible(one(player, "cb-error"))
    assert one(player, "cb-error").value == ""
    assert [r.stage_id for r in records.submissions(db).itertuples()] == [
        "first-visit", "after-rest"]


def test_an_unreachable_database_still_plays_and_says_what_was_not_saved(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("CASEBOOK_CASES", str(SMALL))
    monkeypatch.setenv("CASEBOOK_DB", f"sqlite:///{tmp_path / 'a-file' / 'casebook.db'}")
    player = new_page(monkeypatch, "learner=Ana")
    assert isinstance(player, CasePlayer)
    assert "could not be loaded" in one(player, "cb-identity").value
    choose(player, ["rest"])
    assert NOT_SAVED in one(player, "cb-error").value
    assert one(player, "cb-feedback").value == ""
    home = new_page(monkeypatch, "learner=Ana", home_app)
    assert "cannot be read" in one(home, "cb-error").value
    assert "Traceback" not in one(home, "cb-error").value


def test_the_same_stage_answered_in_two_tabs_keeps_the_first_answer(db, monkeypatch):
    player = new_page(monkeypatch, "learner=Ana")
    choose(player, ["rest"])
    tab_a, tab_b = new_page(monkeypatch, "learner=Ana"), new_page(monkeypatch, "learner=Ana")
    choose(tab_a, ["xray", "refer"])
    choose(tab_b, ["opioid"])
    assert "already answered" in one(tab_b, "cb-error").value
    assert one(tab_b, "cb-feedback").value == ""
    subs = records.submissions(db)
    assert [c for c in subs["choices"]] == [["rest"], ["xray", "refer"]]


def test_without_a_name_the_case_plays_and_nothing_is_recorded(db, monkeypatch):
    player = new_page(monkeypatch, None)
    assert "Playing without a name: your answers are not saved" in one(
        player, "cb-identity").value
    choose(player, ["rest"])
    assert visible(one(player, "cb-feedback"))
    assert count(db, database.learners) == count(db, database.attempts) == 0


@pytest.mark.parametrize("raw", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_name_never_becomes_markup_and_is_not_recorded(db, monkeypatch, raw):
    from urllib.parse import quote

    player = new_page(monkeypatch, f"learner={quote(raw)}")
    banner = one(player, "cb-identity").value
    assert "cannot be used" in banner and "are not saved" in banner
    state = synced_state(player)
    assert "<script" not in state and "<img" not in state and "\u202e" not in state
    assert len(banner) < 1000
    choose(player, ["rest"])
    assert count(db, database.learners) == 0

    home = new_page(monkeypatch, f"learner={quote(raw)}", home_app)
    identity = one(home, "cb-identity").value
    assert "That name cannot be used." in identity and 'name="learner"' in identity
    assert "<script" not in synced_state(home) and "<img" not in synced_state(home)
    assert "?learner=" not in one(home, "cb-home").value  # links do not carry a refused name


def test_a_unicode_name_is_kept_exactly_and_carried_in_links(db, monkeypatch):
    player = new_page(monkeypatch, "learner=Zo%C3%AB%20%E6%9D%8E")
    choose(player, ["rest"])
    next_stage(player)
    choose(player, ["xray", "refer"])
    next_stage(player)
    assert 'href="./knee-hot-joint.ipynb?learner=Zo%C3%AB%20%E6%9D%8E"' in one(
        player, "cb-summary").value
    assert list(records.attempts(db)["display_name"]) == ["Zoë 李"]


def test_the_home_page_asks_for_a_name_once_and_says_none_is_required(db, monkeypatch):
    page = new_page(monkeypatch, None, home_app)
    identity = one(page, "cb-identity").value
    assert '<form class="cb-name-form" method="get"' in identity
    assert '<label for="cb-learner-name">' in identity and 'name="learner"' in identity
    assert "your real name is not needed" in identity and "no password" in identity
    assert 'href="cases/knee-simple.ipynb"' in one(page, "cb-home").value


def test_the_home_page_shows_progress_and_what_to_try_next(db, monkeypatch):
    player = new_page(monkeypatch, "learner=Ana")
    choose(player, ["opioid"])
    next_stage(player)
    choose(player, ["xray", "refer"])
    hot = new_page(monkeypatch, "learner=Ana", case_app, "knee-hot-joint")
    choose(hot, ["rest"])

    page = new_page(monkeypatch, "learner=Ana", home_app)
    identity = one(page, "cb-identity").value
    assert "Playing as <strong>Ana</strong>" in identity
    assert "Cases done: 1 of 2" in identity
    assert "Safety events (harmful steps chosen, every attempt): 1" in identity
    assert ('href="cases/knee-hot-joint.ipynb?learner=Ana">A knee that turns hot</a>. '
            "You stopped part way") in identity  # rule 1: resume
    listing = one(page, "cb-home").value
    assert "done · best 50% · last 50% · safety events in last attempt: 1" in listing
    assert "unfinished attempt, 1 of 2 stages answered" in listing
    assert 'href="cases/knee-simple.ipynb?learner=Ana"' in listing
    assert not by_class(page, "cb-error")

    hot = new_page(monkeypatch, "learner=Ana", case_app, "knee-hot-joint")
    choose(hot, ["aspirate", "refer"])
    identity = one(new_page(monkeypatch, "learner=Ana", home_app), "cb-identity").value
    assert "Cases done: 2 of 2" in identity
    assert "Your last attempt here chose a harmful step (1 safety event)" in identity  # rule 2


def test_a_named_case_page_loads_no_pandas_or_matplotlib(tmp_path):
    code = ("import sys; from casebook.apps import case_app; "
            "assert type(case_app('knee-simple')).__name__ == 'CasePlayer'; "
            "assert 'sqlalchemy' in sys.modules; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'pandas', 'numpy', 'matplotlib', 'voila', 'jupyter_server', 'nbconvert'}))")
    env = {**os.environ, "CASEBOOK_CASES": str(SMALL), "QUERY_STRING": "learner=Ana",
           "CASEBOOK_DB": f"sqlite:///{tmp_path / 'casebook.db'}"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
