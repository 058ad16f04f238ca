"""The audience, as the seeds ask ("Which best describes you?"): asked once on the home page,
carried in the address as `?level=`, kept with a named learner where the records have the
column for it (`learners.audience`, migration 0002), and used by the feedback and by what the
home page suggests. Headless, on the small fixture library and a SQLite file in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from widget_tree import by_class, one

from casebook.apps import case_app, home_app
from casebook.content.loading import load_library
from casebook.records import store
from casebook.selfstudy.identity import level_from_query, link_query, page_query
from casebook.selfstudy.progress import progress

SMALL = Path(__file__).parent / "fixtures" / "small_library"
QUESTION = "Which best describes you?"
WHY = "Your choice helps us use language that's most understandable for you."


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'casebook.db'}"
    monkeypatch.setenv("CASEBOOK_CASES", str(SMALL))
    monkeypatch.setenv("CASEBOOK_DB", url)
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    page_query.cache_clear()
    engine = store.connect(url)
    yield engine
    engine.dispose()
    page_query.cache_clear()


def page(monkeypatch, query: str, app=home_app, *args):
    monkeypatch.setenv("QUERY_STRING", query)
    page_query.cache_clear()
    return app(*args)


def submit_first(player) -> str:
    key = player.play.key(player.play.current.id)
    first = key.recommended[0].option
    ids = [o.id for o in player.play.current.options]
    for control, option_id in zip(by_class(player, "cb-option"), ids, strict=True):
        control.value = option_id == first
    one(player, "cb-submit").click()
    return one(player, "cb-feedback").value


@pytest.mark.parametrize(("query", "level"), [
    ("level=student", "student"), ("learner=Ana&level=attending", "attending"),
    ("level=resident&level=student", "resident"), ("level=admin", None), ("level=", None),
    ("level=Student", None), ("level=<script>", None), ("learner=Ana", None), ("", None)])
def test_only_the_three_levels_are_taken_from_the_address(query, level):
    assert level_from_query(query) == level


def test_links_carry_the_level_beside_the_name():
    assert link_query("Ana B", "attending") == "?learner=Ana%20B&level=attending"
    assert link_query(None, "student") == "?level=student"
    assert link_query("Ana", "admin") == "?learner=Ana"  # never a value not one of the three
    assert link_query(None, None) == link_query(None) == ""


def test_the_home_page_asks_once_which_best_describes_the_learner(db, monkeypatch):
    html = one(page(monkeypatch, ""), "cb-identity").value
    assert QUESTION in html and WHY in html
    for value, label in (("student", "Medical student"), ("resident", "Resident"),
                         ("attending", "Attending")):
        assert f'value="{value}" required> {label}' in html
    assert "checked" not in html


def test_an_anonymous_level_travels_in_every_case_link(db, monkeypatch):
    home = page(monkeypatch, "level=student")
    identity = one(home, "cb-identity").value
    assert 'value="student" checked' in identity and "worded for: <strong>Medical student" in identity
    assert '<input type="hidden" name="level" value="student">' in identity  # the name form keeps it
    assert 'href="cases/knee-simple.ipynb?level=student"' in one(home, "cb-home").value


def test_a_level_not_one_of_the_three_is_ignored_without_an_error(db, monkeypatch):
    home = page(monkeypatch, "learner=Ana&level=superuser")
    assert by_class(home, "cb-error") == []
    assert "checked" not in one(home, "cb-identity").value
    assert 'href="cases/knee-simple.ipynb?learner=Ana"' in one(home, "cb-home").value
    player = page(monkeypatch, "level=superuser", case_app, "knee-simple")
    assert player.level == "resident"
    assert 'href="../index.ipynb"' in one(player, "cb-identity").value


def test_an_anonymous_case_page_links_home_with_its_level(db, monkeypatch):
    player = page(monkeypatch, "level=student", case_app, "knee-simple")
    assert player.level == "student"
    assert 'href="../index.ipynb?level=student"' in one(player, "cb-identity").value


def test_a_student_and_an_attending_page_word_the_same_stage_differently(db, monkeypatch):
    student = submit_first(page(monkeypatch, "level=student", case_app, "knee-simple"))
    attending = submit_first(page(monkeypatch, "level=attending", case_app, "knee-simple"))
    assert "STUDENT-WORDING" in student and "STUDENT-WORDING" not in attending
    assert "ATTENDING-WORDING" in attending and "ATTENDING-WORDING" not in student


def test_a_named_learners_level_is_kept_and_used_on_their_next_pages(db, monkeypatch):
    engine = db
    page(monkeypatch, "learner=Ana&level=attending")  # chosen once, on the home page
    assert store.audience(engine, "Ana") == "attending"
    assert store.audience(engine, "Bea") is None
    later = page(monkeypatch, "learner=Ana")  # another day, the name alone
    assert 'value="attending" checked' in one(later, "cb-identity").value
    assert "?learner=Ana&amp;level=attending" in one(later, "cb-home").value
    player = page(monkeypatch, "learner=Ana", case_app, "knee-simple")
    assert player.level == "attending" and "ATTENDING-WORDING" in submit_first(player)
    with pytest.raises(store.StoreError, match="is not one of"):
        store.set_audience(engine, store.ensure_learner(engine, "Ana"), "admin")


@pytest.mark.parametrize(("level", "suggested"), [
    (None, "knee-hot-joint"),  # the listing's first case, as before
    ("attending", "knee-hot-joint"), ("resident", "knee-hot-joint"),
    ("student", "knee-simple"),  # knee-hot-joint's levels are resident and attending
])
def test_what_next_suggests_a_case_written_for_the_learners_level(level, suggested):
    library = load_library(SMALL)
    shown = progress("Ana", [], library, set(library.cases), level)
    assert shown.next.kind == "new" and shown.next.case_id == suggested
    assert ("written for a student" in shown.next.reason) == (level == "student")


def test_the_home_page_suggests_by_level(db, monkeypatch):
    home = page(monkeypatch, "learner=Ana&level=student")
    assert ('class="cb-next-case" href="cases/knee-simple.ipynb?learner=Ana&amp;level=student"'
            in one(home, "cb-identity").value)
