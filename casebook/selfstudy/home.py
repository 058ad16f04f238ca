"""The casebook's home page: every case, grouped by guideline and clinical context.

Each case links to its app (`cases/<id>.ipynb`, relative to the index notebook, which Voila
serves at /voila/render/index.ipynb). A case whose content fails validation is listed, not
linked, and its problems are shown in `cb-error`, so an author sees what to fix and a
learner never meets a broken app.

The page also asks for a display name once (a plain GET form, so the name lands in the address
as `?learner=`, see `casebook.selfstudy.identity`), then shows that learner's progress and what to try
next (`casebook.selfstudy.progress`), and every case link carries the name on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import ipywidgets as w

from casebook.content.loading import Library
from casebook.content.models import Case, Guideline
from casebook.errors import Problem
from casebook.rules.measures import playable
from casebook.rules.validation import validate
from casebook.selfstudy.identity import LEVEL_LABELS, LEVEL_PARAM, LEVELS, MAX_NAME, PARAM, link_query
from casebook.selfstudy.study import Visitor
from casebook.ui.markup import error_html, notice_html, review_text
from casebook.ui.render import render

if TYPE_CHECKING:
    from casebook.selfstudy.progress import CaseProgress, Progress

Marks = Mapping[str, "CaseProgress"]


def _case_html(case: Case, broken: bool, query: str = "", mark: CaseProgress | None = None) -> str:
    return render("home/case.html.j2", case=case, broken=broken, query=query,
                  stages=len(case.stages), review=review_text(case.review),
                  mark_html=_mark_html(mark, len(case.stages)))


def _mark_html(mark: CaseProgress | None, stages: int) -> str:
    """A case's progress under its listing: done and scores, or in progress, or nothing."""
    if mark is None or not (mark.done or mark.answered):
        return ""
    parts = []
    if mark.done:
        parts += ["done", f"best {mark.best:.0%}", f"last {mark.last:.0%}",
                  f"safety events in last attempt: {mark.last_safety_events}"]
    if mark.answered:
        parts.append(f"unfinished attempt, {mark.answered} of {stages} stages answered")
    return render("home/progress_mark.html.j2", parts=parts)


def _guideline_html(guideline: Guideline, cases: list[Case], broken: set[str],
                    query: str = "", marks: Marks | None = None) -> str:
    by_context: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        by_context[case.context].append(case)
    order = [c.id for c in guideline.contexts] + sorted(set(by_context) - {
        c.id for c in guideline.contexts})
    sections = []
    for context_id in order:
        if context_id not in by_context:
            continue
        context = guideline.context(context_id)
        items = [_case_html(c, c.id in broken, query, (marks or {}).get(c.id))
                 for c in sorted(by_context[context_id], key=lambda c: c.id)]
        sections.append((context.title if context else context_id, items))
    return render("home/guideline.html.j2", guideline=guideline, sections=sections,
                  review=review_text(guideline.review))


def _orphans_html(cases: list[Case]) -> str:
    items = [_case_html(c, True) for c in sorted(cases, key=lambda c: c.id)]
    return render("home/orphans.html.j2", cases_html=items)


def listing_html(library: Library, broken: set[str], query: str = "",
                 marks: Marks | None = None) -> str:
    """The grouped listing; `broken` names the cases that fail validation, `query` ends every
    case link, and `marks` holds the learner's progress per case."""
    groups: dict[tuple[str, str], list[Case]] = defaultdict(list)
    orphans = []
    for case in library.cases.values():
        if library.guideline_for(case) is None:
            orphans.append(case)
        else:
            groups[(case.guideline.id, case.guideline.version)].append(case)
    body = [_guideline_html(library.guidelines[key], groups[key], broken, query, marks)
            for key in sorted(groups)]
    if orphans:
        body.append(_orphans_html(orphans))
    return render("home/listing.html.j2", sections_html=body)


def name_form_html(refused: str | None = None, level: str | None = None) -> str:
    """Asks for a display name: a GET form, so the name lands in the address (`?learner=`)."""
    return render("home/name_form.html.j2", refused=refused, param=PARAM, max_name=MAX_NAME,
                  level=level, level_param=LEVEL_PARAM)


def audience_form_html(learner: str | None, level: str | None) -> str:
    """Asks once "Which best describes you?": a GET form, so the answer lands in the address
    (`?level=`) beside the name; a named learner's answer is kept (`study.home_visitor`)."""
    return render("home/audience_form.html.j2", learner=learner, learner_param=PARAM,
                  level=level, param=LEVEL_PARAM, labels=LEVEL_LABELS,
                  levels=[(v, LEVEL_LABELS[v]) for v in LEVELS])


def progress_html(progress: Progress, library: Library, query: str) -> str:
    """Cases done, safety events, and what to try next (the rule is in `casebook.selfstudy.progress`)."""
    suggestion = progress.next
    case = library.cases[suggestion.case_id] if suggestion.case_id is not None else None
    return render("home/progress.html.j2", progress=progress, next_case=case, query=query)


def visitor_html(visitor: Visitor, library: Library) -> str:
    audience = audience_form_html(visitor.name, visitor.level)
    if visitor.name is None:
        return name_form_html(visitor.refused, visitor.level) + audience
    query = link_query(visitor.name, visitor.level)
    progress = "" if visitor.progress is None else progress_html(visitor.progress, library, query)
    return render("home/visitor.html.j2", name=visitor.name, progress_html=progress) + audience


class HomePage(w.VBox):
    """The home page; `library` is the one public value, handed in with its problems, the
    visitor (their name and progress) and the cases that cannot be played (by default, those
    not `measures.playable`)."""

    def __init__(self, library: Library, problems: Sequence[Problem] = (),
                 visitor: Visitor | None = None, broken: set[str] | None = None):
        super().__init__()
        self.library = library
        visitor = visitor or Visitor()
        if broken is None:
            broken = set(library.cases) - playable(library, problems or validate(library))
        statuses = sorted({review_text(g.review) for g in library.guidelines.values()}
                          | {review_text(c.review) for c in library.cases.values()})
        marks = visitor.progress.cases if visitor.progress is not None else None
        children = [
            _classed(w.HTML(notice_html("; ".join(statuses) or "no content yet")), "cb-notice"),
            w.HTML(render("home/heading.html.j2")),
            _classed(w.HTML(visitor_html(visitor, library)), "cb-identity"),
            _classed(w.HTML(listing_html(library, broken,
                                         link_query(visitor.name, visitor.level), marks)),
                     "cb-home"),
        ]
        if visitor.error:
            children.append(_classed(w.HTML(error_html(visitor.error)), "cb-error"))
        if problems:
            children.append(_classed(w.HTML(error_html(
                f"{len(problems)} problem(s) in the content; the cases they affect are not "
                "linked.", [str(p) for p in problems])), "cb-error"))
        self.children = children


def _classed(widget: w.Widget, css: str) -> w.Widget:
    widget.add_class(css)
    return widget
