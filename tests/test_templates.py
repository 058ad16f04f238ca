"""The HTML templates (casebook/ui/templates/) and the one stylesheet.

Every template escapes what it is given (a `<script>` in case text or a nickname comes out as
text), a missing variable raises instead of printing nothing, markup passes through only as an
`*_html` fragment one of our templates rendered, no widget carries a `<style>` block, and the
Voila page template links casebook.css exactly once.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace as NS

import jinja2
import pytest
from jinja2 import meta
from voila.configuration import VoilaConfiguration
from widget_tree import by_class, one, synced_state, walk

from casebook.apps import case_app, home_app
from casebook.content.loading import load_library
from casebook.dashboard.page import Dashboard
from casebook.records import store
from casebook.serve.servers import TEMPLATES as VOILA_TEMPLATES
from casebook.serve.servers import LearnerVoila
from casebook.sessions import machine as sessions
from casebook.sessions.console import InstructorConsole
from casebook.sessions.learner import JoinBox
from casebook.ui.render import TEMPLATES, environment, render

SMALL = Path(__file__).parent / "fixtures" / "small_library"
STYLESHEET = VOILA_TEMPLATES / "static" / "casebook.css"
H = "<script>alert('x')</script>"  # what a hostile case file or nickname would carry
SHOWN = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
KEY = "a key for the tests"

TEMPLATE_NAMES = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.j2"))
STATIC = {"sessions/join_intro.html.j2", "sessions/room_ended.html.j2",
          "sessions/console_login.html.j2", "sessions/console_signed_in.html.j2",
          "dashboard/heading.html.j2", "home/heading.html.j2"}
OWN_SCRIPTS = {"busy.html.j2": 1}  # the busy page's retry countdown, inline: nothing fetched
FRAGMENTS_ONLY = {"decision_path.html.j2", "sessions/console_report.html.j2",
                  "home/orphans.html.j2", "home/listing.html.j2"}  # take only *_html fragments


def _option() -> NS:
    return NS(option=H, text=H, verdict=NS(rank=0, value="harmful"),
              judgement=NS(rationale=H, references=[1], evidence=[NS(text=H, references=[2])]))


def _box() -> dict:
    return {"x": 1, "y": 2, "width": 3, "height": 4, "fill": H, "stroke": H, "stroke_width": 1.0,
            "lines": [{"x": 1, "y": 2, "text": H, "bold": True}]}


REFS = {"references": [(1, NS(title=H, source=H)), (2, None)], "unlisted": H}
GUIDELINE = NS(title=H, version=H, review=H, source=NS(title=H, last_updated=H))
CASE = NS(id=H, title=H, question=H, review=H, teaching_points=[NS(text=H, references=[1])])
# One hostile context per template that shows text (the keys are checked against the folder).
CONTEXTS: dict[str, dict] = {
    "notice.html.j2": {"notice": H, "review_line": H},
    "case_header.html.j2": {"case": CASE, "guideline": GUIDELINE, "review_text": str},
    "vignette.html.j2": {"paragraphs": [H]},
    "findings.html.j2": {"recognised": [(H, H, H)]},
    "stage.html.j2": {"stage": NS(title=H, narrative=H, question=H), "number": 1, "total": 2},
    "limit.html.j2": {"over": False, "text": H, "limit": 2},
    "references.html.j2": REFS,
    "safety.html.j2": {"events": [NS(text=H)]},
    "feedback.html.j2": {"events": [NS(text=H)], "too_many": True, "max_choices": 1,
                         "points": 0.5, "scoring_rule": H, "recognised": [(H, H, H)],
                         "options": [{"text": H, "chosen": True, "rank": 0, "value": H,
                                      "verdict": H, "reason": H, "deciding": [H, H],
                                      "evidence": [NS(text=H, references=[1])], "cite": str,
                                      "citations": [H]}],
                         "recommended": [H], "explain": H},
    "score.html.j2": {"label": H, "score": 0.5},
    "summary.html.j2": {"case": CASE, "rows": [(H, H, H, 0.5, H)], "events": [(H, NS(text=H))],
                        "links": [(H, H)], "cite": str, **REFS},
    "error.html.j2": {"message": H, "details": [H]},
    "path.svg.j2": {"width": 10, "height": 10, "title": H, "description": H, "legend_note_x": 1,
                    "legend": [{"x": 1, "fill": H, "stroke": H, "label": H}],
                    "rows": [{"arrow": {"x": 1, "y1": 2, "y2": 3}, "stage": _box(),
                              "options": [({"d": H, "recommended": True}, _box())]}]},
    "sessions/tally.html.j2": {"tally": NS(round=1, voters=3), "rows": [(_option(), 2, 0.5)],
                               "show_key": True},
    "sessions/room_who.html.j2": {"join_code": H, "nickname": H, "rejoin": H},
    "sessions/vote_kept.html.j2": {"round": H},
    "sessions/room_status.html.j2": {"text": H, "live": True},
    "sessions/vote_recorded.html.j2": {"round": H},
    "sessions/not_voted.html.j2": {"recommended": [NS(text=H)]},
    "sessions/room_tally.html.j2": {"tally_html": None, "room_min": H},
    "sessions/csv_link.html.j2": {"name": H, "data": H},
    "sessions/console_title.html.j2": {"join_code": H, "title": H},
    "sessions/presenter_header.html.j2": {"case": CASE, "join_code": H, "address": H,
                                          "qr_html": "", "vignette_html": ""},
    "sessions/presenter_counts.html.j2": {"joined": H, "answered": H, "phase": "voting",
                                          "round": 2},
    "sessions/presenter_stage.html.j2": {"stage_html": "", "options": [H]},
    "sessions/presenter_countdown.html.j2": {"minutes": H, "seconds": 5},
    "sessions/console_people.html.j2": {"names": [H, H]},
    "sessions/console_stage.html.j2": {"stage": NS(title=H), "number": 1, "total": 2, "phase": H,
                                       "round": 2},
    "sessions/console_stats.html.j2": {"t": NS(round=H, voters=1, concordant=1, harmful=1),
                                       "share": H},
    "sessions/report_table.html.j2": {"rows": [{H: H}], "css": H},
    "sessions/report_tables.html.j2": {"join_code": H, "title": H, "stages_html": "",
                                       "options_html": ""},
    "dashboard/empty.html.j2": {"text": H},
    "dashboard/section.html.j2": {"title": H, "plot_html": "", "table_html": ""},
    "dashboard/summary.html.j2": {"answers": H, "people": H, "cases": H},
    "dashboard/figure.html.j2": {"data": H, "alt": H},
    "selfstudy/named.html.j2": {"name": H, "home": H, "restored": None, "stages": 2},
    "selfstudy/anonymous.html.j2": {"refused": H, "home": H},
    "home/case.html.j2": {"case": CASE, "broken": False, "query": H, "stages": 1, "review": H,
                          "mark_html": ""},
    "home/progress_mark.html.j2": {"parts": [H]},
    "home/guideline.html.j2": {"guideline": GUIDELINE, "sections": [(H, [])], "review": H},
    "home/name_form.html.j2": {"refused": H, "param": H, "max_name": H, "level": H,
                               "level_param": H},
    "home/audience_form.html.j2": {"learner": H, "learner_param": H, "level": H, "param": H,
                                   "labels": {H: H}, "levels": [(H, H)]},
    "home/progress.html.j2": {"progress": NS(done=H, cases=[1], safety_events=H,
                                             next=NS(reason=H)),
                              "next_case": NS(id=H, title=H), "query": H},
    "home/visitor.html.j2": {"name": H, "progress_html": ""},
    "busy.html.j2": {"why": H, "limit": H, "pages": H, "retry": H, "stylesheet": H},
}


def variables(name: str) -> set[str]:
    env = environment()
    return meta.find_undeclared_variables(env.parse(env.loader.get_source(env, name)[0]))


def test_every_template_is_covered_here():
    assert set(TEMPLATE_NAMES) == set(CONTEXTS) | STATIC | FRAGMENTS_ONLY
    assert len(TEMPLATE_NAMES) >= 40  # the folder was found and read


@pytest.mark.parametrize("name", sorted(CONTEXTS))
def test_a_template_shows_hostile_text_as_text(name):
    html = render(name, **CONTEXTS[name])
    assert html.count("<script") == OWN_SCRIPTS.get(name, 0) and SHOWN in html
    assert "'x'" not in html  # quotes escaped too: text cannot close an attribute


@pytest.mark.parametrize("name", sorted(STATIC))
def test_a_static_template_takes_no_variables(name):
    assert variables(name) == set() and "<" in render(name)


def test_autoescape_is_on_for_every_template_name():
    env = environment()
    assert all(env.autoescape(name) for name in TEMPLATE_NAMES)


@pytest.mark.parametrize("name", sorted(set(TEMPLATE_NAMES) - STATIC))
def test_a_missing_variable_raises(name):
    assert variables(name)  # the template does take variables...
    with pytest.raises(jinja2.UndefinedError):
        render(name)  # ...and none given is an error, not an empty string


def test_a_misspelt_variable_raises_even_beside_the_right_ones():
    with pytest.raises(jinja2.UndefinedError, match="review_line"):
        render("notice.html.j2", notice="n", review_lines="typo")


def test_markup_passes_only_as_html_fragments_our_templates_rendered():
    found = {name: re.findall(r"{{\s*([\w.]+)\s*\|\s*safe\s*}}", (TEMPLATES / name).read_text())
             for name in TEMPLATE_NAMES}
    assert any(found.values())
    assert all(v.endswith("_html") for names in found.values() for v in names), found
    sources = "".join((TEMPLATES / n).read_text() for n in TEMPLATE_NAMES)
    assert sources.count("|safe") == sum(len(v) for v in found.values())  # no other use
    assert "autoescape false" not in sources and "Markup" not in sources


def test_a_fragment_goes_in_unescaped_and_text_beside_it_escaped():
    html = render("dashboard/section.html.j2", title=H, plot_html="<img alt='p'>",
                  table_html="<table></table>")
    assert "<img alt='p'>" in html and "<table></table>" in html and SHOWN in html


# --- no widget carries a <style> ---------------------------------------------------------


def assert_unstyled(widget) -> None:
    state = synced_state(widget)
    assert "<style" not in state.lower(), "a widget carries a <style> block"
    assert len(list(walk(widget))) > 3  # a real tree was walked


@pytest.fixture
def small(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'casebook.db'}"
    monkeypatch.setenv("CASEBOOK_CASES", str(SMALL))
    monkeypatch.setenv("CASEBOOK_DB", url)
    return url


def test_a_case_app_carries_no_style_block_from_start_to_summary(small):
    player = case_app("knee-simple")
    assert_unstyled(player)
    while player.play.current is not None:
        key = player.play.key(player.play.current.id)
        chosen = {o.option for o in key.recommended[: key.max_choices]}
        for option, control in zip(player.play.current.options,
                                   by_class(player, "cb-option"),
                                   strict=True):
            control.value = option.id in chosen
        one(player, "cb-submit").click()
        assert_unstyled(player)
        one(player, "cb-next").click()
    assert "<svg" in one(player, "cb-path").value
    assert_unstyled(player)
    assert_unstyled(case_app("no-such-case"))  # the error screen


def test_the_home_page_carries_no_style_block(small):
    assert_unstyled(home_app())
    assert_unstyled(home_app(learner="Ana"))


def test_the_console_a_learners_session_and_the_dashboard_carry_no_style_block(small):
    library = load_library(SMALL)
    engine = store.connect(small)
    state = sessions.create(engine, library.cases["knee-simple"], KEY)
    console = InstructorConsole(small, library)
    assert_unstyled(console)
    try:
        assert console.open_session(state.join_code, KEY)
        box = JoinBox(small)
        follower = box.join(state.join_code, "<b>Bea</b>")
        assert follower is not None, one(box, "cb-join-message").value
        who = one(follower, "cb-room-who").value
        assert "<b>" not in who and "&lt;b&gt;Bea&lt;/b&gt;" in who
        assert_unstyled(follower)
        console.act("open")
        console.show_report()
        assert_unstyled(console)
        follower.close()
    finally:
        console.close()
    assert_unstyled(Dashboard(engine, library))
    engine.dispose()


# --- the one stylesheet ------------------------------------------------------------------


def test_the_voila_template_links_the_stylesheet_once():
    page = (VOILA_TEMPLATES / "index.html.j2").read_text()
    links = re.findall(r'<link rel="stylesheet"[^>]*href="([^"]+)"', page)
    assert links == ["{{ resources.base_url }}voila/static/casebook.css"]
    assert page.count("casebook.css") == 2  # the link, and the comment naming it
    assert STYLESHEET.is_file()


def test_the_servers_serve_the_stylesheets_folder_under_voila_static():
    app = LearnerVoila()
    app.voila_configuration = VoilaConfiguration(parent=app)
    app.setup_template_dirs()
    assert str(STYLESHEET.parent) in app.static_paths
    assert app.template_paths[0] == str(VOILA_TEMPLATES)


def test_the_stylesheet_holds_the_widgets_rules_and_names_no_verdict():
    css = STYLESHEET.read_text()
    for selector in ("button.cb-option", ".cb-notice", ".cb-error-box", ".cb-safety-event",
                     ".cb-verdict-rank-0", ".cb-verdict-rank-3", ".cb-identity", ".cb-summary table",
                     ".cb-tally-bar", "img.cb-figure"):
        assert selector in css
    # the page loads it before Submit: not even a comment names a verdict
    assert not re.search(r"recommended|acceptable|not.indicated|harmful", css, re.I)
