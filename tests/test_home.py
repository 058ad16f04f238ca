"""The home page: cases grouped by guideline and context, each linked to its app."""

from __future__ import annotations

import shutil
from html import escape
from pathlib import Path

from widget_tree import by_class, one

from casebook.apps import home_app
from casebook.content.loading import SHIPPED_ROOT, case_ids, load_library

SMALL = Path(__file__).parent / "fixtures" / "small_library"


def test_cases_listed_under_guideline_and_context_with_links(monkeypatch):
    monkeypatch.setenv("CASEBOOK_CASES", str(SMALL))
    page = home_app()
    html = one(page, "cb-home").value
    guideline = html.index("<h3>A sore knee in clinic (test fixture) (version 1.2.0)</h3>")
    context = html.index("<h4>Knee pain seen in clinic</h4>")
    hot = html.index('href="cases/knee-hot-joint.ipynb">A knee that turns hot</a>')
    simple = html.index('href="cases/knee-simple.ipynb">A sore knee &lt;that settles&gt;</a>')
    assert guideline < context < hot < simple
    assert "What do you do for a sore knee with no red flags?" in html
    assert "2 stages · review status: in review" in html
    assert "2 stages · review status: draft" in html
    assert "Guideline review status: draft" in html
    assert not [x for x in page.children if "cb-error" in x._dom_classes]


def test_every_screen_carries_the_notice_and_review_status(monkeypatch):
    monkeypatch.setenv("CASEBOOK_CASES", str(SMALL))
    notice = one(home_app(), "cb-notice").value
    assert "Educational use only, not clinical advice." in notice
    assert "Review status: draft; in review" in notice


def test_a_case_failing_validation_is_listed_unlinked_with_its_problem(tmp_path, monkeypatch):
    root = tmp_path / "content"
    shutil.copytree(SMALL, root)
    path = root / "knee-hot-joint.yaml"
    path.write_text(path.read_text().replace("action: joint_aspiration", "action: aspirin", 1))
    monkeypatch.setenv("CASEBOOK_CASES", str(root))
    page = home_app()
    html = one(page, "cb-home").value
    assert "A knee that turns hot <em>(unavailable: fails validation)</em>" in html
    assert 'href="cases/knee-hot-joint.ipynb"' not in html
    assert 'href="cases/knee-simple.ipynb"' in html  # the other case is unaffected
    error = one(page, "cb-error").value
    assert "sore-knee has no action &#39;aspirin&#39;" in error


def test_an_empty_content_folder_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEBOOK_CASES", str(tmp_path))
    assert "There are no cases yet." in one(home_app(), "cb-home").value


def test_every_shipped_case_is_on_the_home_page(monkeypatch):
    monkeypatch.setenv("CASEBOOK_CASES", str(SHIPPED_ROOT))
    page = home_app()
    html = one(page, "cb-home").value
    library = load_library(SHIPPED_ROOT)
    assert sorted(library.cases) == sorted(case_ids(SHIPPED_ROOT)) != []  # every shipped case loads
    assert by_class(page, "cb-error") == []
    for case in library.cases.values():
        assert f'data-case="{case.id}"' in html
        guideline = library.guideline_for(case)
        assert guideline is not None, f"{case.id}: its guideline is not shipped"
        context = guideline.context(case.context)
        assert escape(context.title if context else case.context) in html
