"""The casebook's home page: every case, grouped by guideline and clinical context.

Each case links to its app (`cases/<id>.ipynb`, relative to the index notebook, which Voila
serves at /voila/render/index.ipynb). A case whose content fails validation is listed, not
linked, and its problems are shown in `cb-error`, so an author sees what to fix and a
learner never meets a broken app.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import ipywidgets as w

from .errors import Problem
from .loading import Library
from .markup import STYLE, error_html, esc, notice_html, review_text
from .models import Case, Guideline
from .validation import check_case, check_guideline


def _case_html(case: Case, broken: bool) -> str:
    title = (f"{esc(case.title)} <em>(unavailable: fails validation)</em>" if broken else
             f'<a class="cb-case-link" href="cases/{esc(case.id)}.ipynb">{esc(case.title)}</a>')
    stages = f"{len(case.stages)} stage{'s' if len(case.stages) != 1 else ''}"
    return (f'<li class="cb-case" data-case="{esc(case.id)}">{title}<br>{esc(case.question)}'
            f"<br><small>{stages} · review status: {esc(review_text(case.review))}</small></li>")


def _guideline_html(guideline: Guideline, cases: list[Case], broken: set[str]) -> str:
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
        items = "".join(_case_html(c, c.id in broken)
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


def listing_html(library: Library, broken: set[str]) -> str:
    """The grouped listing; `broken` names the cases that fail validation."""
    groups: dict[tuple[str, str], list[Case]] = defaultdict(list)
    orphans = []
    for case in library.cases.values():
        if library.guideline_for(case) is None:
            orphans.append(case)
        else:
            groups[(case.guideline.id, case.guideline.version)].append(case)
    body = "".join(_guideline_html(library.guidelines[key], groups[key], broken)
                   for key in sorted(groups))
    if orphans:
        body += _orphans_html(orphans)
    return body or "<p>There are no cases yet.</p>"


def broken_cases(library: Library) -> set[str]:
    """The cases a learner cannot play: the checks `case_app` makes before showing a case
    (its file and its guideline's load, `check_guideline`, `check_case`) find problems."""
    bad_paths = {p.path for p in library.problems}
    guideline_ok = {
        key: not check_guideline(g, library.path_of(g)) and library.path_of(g) not in bad_paths
        for key, g in library.guidelines.items()
    }
    return {
        case.id for case in library.cases.values()
        if not guideline_ok.get((case.guideline.id, case.guideline.version), False)
        or library.path_of(case) in bad_paths or check_case(case, library)
    }


class HomePage(w.VBox):
    """The home page; `library` is the one public value, its problems handed in beside it."""

    def __init__(self, library: Library, problems: Sequence[Problem] = ()):
        super().__init__()
        self.library = library
        statuses = sorted({review_text(g.review) for g in library.guidelines.values()}
                          | {review_text(c.review) for c in library.cases.values()})
        notice = w.HTML(notice_html("; ".join(statuses) or "no content yet"))
        notice.add_class("cb-notice")
        listing = w.HTML(f"{STYLE}<h2>Clinical casebook</h2>"
                         "<p>Work through each case and choose the next step; every choice is "
                         "scored against the guideline's algorithm, with its sources.</p>"
                         + listing_html(library, broken_cases(library)))
        listing.add_class("cb-home")
        children = [notice, listing]
        if problems:
            error = w.HTML(error_html(f"{len(problems)} problem(s) in the content; the cases "
                                      "they affect are not linked.", [str(p) for p in problems]))
            error.add_class("cb-error")
            children.append(error)
        self.children = children
