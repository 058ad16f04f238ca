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
from casebook.selfstudy.identity import MAX_NAME, PARAM, link_query
from casebook.selfstudy.study import Visitor
from casebook.ui.markup import STYLE, error_html, esc, notice_html, review_text

if TYPE_CHECKING:
    from casebook.selfstudy.progress import CaseProgress, Progress

Marks = Mapping[str, "CaseProgress"]


def _case_html(case: Case, broken: bool, query: str = "", mark: CaseProgress | None = None) -> str:
    title = (f"{esc(case.title)} <em>(unavailable: fails validation)</em>" if broken else
             f'<a class="cb-case-link" href="cases/{esc(case.id)}.ipynb{esc(query)}">'
             f"{esc(case.title)}</a>")
    stages = f"{len(case.stages)} stage{'s' if len(case.stages) != 1 else ''}"
    return (f'<li class="cb-case" data-case="{esc(case.id)}">{title}<br>{esc(case.question)}'
            f"<br><small>{stages} · review status: {esc(review_text(case.review))}</small>"
            f"{_mark_html(mark, len(case.stages))}</li>")


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
    return f'<br><small class="cb-case-progress">Your progress: {" · ".join(parts)}</small>'


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
        items = "".join(_case_html(c, c.id in broken, query, (marks or {}).get(c.id))
                        for c in sorted(by_context[context_id], key=lambda c: c.id))
        sections.append(f"<h4>{esc(context.title if context else context_id)}</h4>"
                        f"<ul>{items}</ul>")
    return (f"<section><h3>{esc(guideline.title)} (version {esc(guideline.version)})</h3>"
            f"<p><small>Guideline review status: {esc(review_text(guideline.review))}; "
            f"source last updated {esc(guideline.source.last_updated)}</small></p>"
            f"{''.join(sections)}</section>")


def _orphans_html(cases: list[Case]) -> str:
    items = "".join(_case_html(c, True) for c in sorted(cases, key=lambda c: c.id))
    return f"<section><h3>Cases whose guideline is missing</h3><ul>{items}</ul></section>"


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
    body = "".join(_guideline_html(library.guidelines[key], groups[key], broken, query, marks)
                   for key in sorted(groups))
    if orphans:
        body += _orphans_html(orphans)
    return body or "<p>There are no cases yet.</p>"


def name_form_html(refused: str | None = None) -> str:
    """Asks for a display name: a GET form, so the name lands in the address (`?learner=`)."""
    alert = (f'<div class="cb-error-box" role="alert"><strong>That name cannot be used.</strong> '
             f"{esc(refused)} Please choose another.</div>" if refused else "")
    return (
        f"<h3>Your name in the casebook</h3>{alert}"
        "<p>Choose a display name to keep your progress: each answer is saved under it, and "
        "coming back with the same name carries on where you left off.</p>"
        "<p>A nickname is enough: your real name is not needed. There is no password, so anyone "
        "who types the same name shares its record; pick one others will not. Without a name "
        "you can still play any case, but nothing is saved.</p>"
        '<form class="cb-name-form" method="get">'
        f'<label for="cb-learner-name">Display name</label> <input id="cb-learner-name" '
        f'name="{PARAM}" type="text" maxlength="{MAX_NAME}" required autocomplete="nickname" '
        'spellcheck="false"> <button type="submit">Start</button></form>'
    )


def progress_html(progress: Progress, library: Library, query: str) -> str:
    """Cases done, safety events, and what to try next (the rule is in `casebook.selfstudy.progress`)."""
    suggestion = progress.next
    if suggestion.case_id is not None:
        case = library.cases[suggestion.case_id]
        target = (f'<a class="cb-next-case" href="cases/{esc(case.id)}.ipynb{esc(query)}">'
                  f"{esc(case.title)}</a>. ")
    else:
        target = ""
    return (f"<h3>Your progress</h3><ul><li>Cases done: {progress.done} of "
            f"{len(progress.cases)}</li><li>Safety events (harmful steps chosen, every attempt): "
            f"{progress.safety_events}</li></ul>"
            f"<p><strong>Try next:</strong> {target}{esc(suggestion.reason)}</p>")


def visitor_html(visitor: Visitor, library: Library) -> str:
    if visitor.name is None:
        return name_form_html(visitor.refused)
    query = link_query(visitor.name)
    html = (f"<p>Playing as <strong>{esc(visitor.name)}</strong>. Bookmark this page to come "
            'back to your progress. <a href="index.ipynb">Not you? Choose another name</a>.</p>')
    if visitor.progress is not None:
        html += progress_html(visitor.progress, library, query)
    return html


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
            w.HTML(f"{STYLE}<h2>Clinical casebook</h2><p>Work through each case and choose the "
                   "next step; every choice is scored against the guideline's algorithm, with "
                   "its sources.</p>"),
            _classed(w.HTML(visitor_html(visitor, library)), "cb-identity"),
            _classed(w.HTML(listing_html(library, broken, link_query(visitor.name), marks)),
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
