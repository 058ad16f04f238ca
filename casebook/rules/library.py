"""The case a learner's page shows: loaded, validated and playable, with its guideline.

Both the case app (`casebook.apps.case_app`) and the class session's join box
(`casebook.sessions.learner`) open a case by id; this is their one way to do it, so neither
imports the other. (`casebook.content.loading.load_case`, the package's public `load_case`,
reads one case file and checks nothing else.)
"""

from __future__ import annotations

from casebook.content.loading import case_ids, content_root, load_library
from casebook.content.models import Case, Guideline
from casebook.errors import CasebookError, ContentError
from casebook.rules import measures


def load_case(case_id: str) -> tuple[Case, Guideline, dict[str, str]]:
    """A playable case (`measures.playable`), its guideline and the titles of its related cases.

    The whole library loads and validates in tens of milliseconds, so the learner's app
    checks everything and reports the problems in this case's own file and its guideline's.
    """
    from casebook.rules.validation import validate

    library = load_library()
    case = library.cases.get(case_id)
    if case is None:
        declared = case_ids()  # read again only on this error path, to tell broken from absent
        named = content_root() / f"{case_id}.yaml"  # a file too broken to say its id
        path = declared.get(case_id) or (named if named.is_file() else None)
        if path is not None:
            raise ContentError([p for p in library.problems if p.path == str(path)])
        known = ", ".join(sorted(declared)) or "none"
        raise CasebookError(f"There is no case {case_id!r}. Known cases: {known}.")
    problems = measures.case_problems(library, case, validate(library))
    if problems:
        raise ContentError(problems)
    related = {r: library.cases[r].title for r in case.related if r in library.cases}
    return case, library.guideline_for(case), related
