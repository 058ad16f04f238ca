"""What the notebooks call: a notebook cell is a line or two calling one of these.

`case_app` is the learner's start-up path, so this module imports only what a play needs:
no pandas or matplotlib (the instructor functions import pandas when called), and SQLAlchemy
only on a named learner's page, whose answers are recorded (`casebook.selfstudy.study`).
`python -X importtime -c "import casebook.apps"` shows what it costs.
"""

from __future__ import annotations

import logging
from pathlib import Path

import ipywidgets as w

from casebook.content.loading import content_root, load_library
from casebook.errors import CasebookError, ContentError, Problem
from casebook.rules.library import load_case
from casebook.rules.play import Play, Recorder
from casebook.sessions.learner import offer_session
from casebook.ui.markup import NOTICE, review_text
from casebook.ui.player import CasePlayer, ErrorScreen

log = logging.getLogger(__name__)


def _shown(problem: Problem, root: Path) -> str:
    """A problem with its path relative to the content folder, as authors name the files."""
    try:
        path = str(Path(problem.path).resolve().relative_to(root.resolve()))
    except ValueError:
        path = problem.path
    return str(Problem(path, problem.field, problem.message))


def case_app(case_id: str, recorder: Recorder | None = None,
             learner: str | None = None) -> w.VBox:
    """The player for one case, or a clear error screen (class `cb-error`) if it cannot run.

    `recorder` receives every submission before its feedback (see `casebook.rules.play.Play`); without
    one, the answers of the learner named by `learner` (else by the page's `?learner=`) are
    recorded in the store and resumed, and an anonymous page records nothing
    (`casebook.selfstudy.study`).
    """
    root = content_root()
    try:
        case, guideline, related_titles = load_case(case_id)
    except ContentError as exc:
        log.warning("case %r fails validation:\n%s", case_id, exc)
        return ErrorScreen(f"The case {case_id!r} cannot be shown: its content fails "
                           "validation. Please tell the casebook's authors.",
                           [_shown(p, root) for p in exc.problems])
    except CasebookError as exc:
        log.warning("case %r cannot be loaded: %s", case_id, exc)
        return ErrorScreen(str(exc))
    if recorder is not None:
        return CasePlayer(Play(case, guideline, recorder=recorder), related_titles)
    from casebook.selfstudy.study import self_study_player

    return offer_session(self_study_player(case, guideline, related_titles, learner))


def home_app(learner: str | None = None) -> w.VBox:
    """The home page listing every case, with the progress of the learner named by `learner`
    (else by the page's `?learner=`); the content's problems shown, not raised."""
    from casebook.rules.measures import playable
    from casebook.rules.validation import validate
    from casebook.selfstudy.home import HomePage
    from casebook.selfstudy.study import home_visitor

    library = load_library()
    problems = validate(library)
    cases = playable(library, problems)
    return HomePage(library, problems, home_visitor(library, cases, learner),
                    set(library.cases) - cases)


# --- instructor: printed plainly, so nbval can compare the outputs -----------------------


def instructor_header() -> None:
    """The notice, every guideline's and case's review status, and whether content validates."""
    from casebook.rules.validation import validate

    root = content_root()
    library = load_library()
    problems = validate(library)
    lines = [NOTICE]
    lines += [f"guideline {g.id} {g.version}: review {review_text(g.review)}; "
              f"source last updated {g.source.last_updated}"
              for g in sorted(library.guidelines.values(), key=lambda g: (g.id, g.version))]
    lines += [f"case {c.id}: review {review_text(c.review)}"
              for c in sorted(library.cases.values(), key=lambda c: c.id)]
    lines.append(f"content validation: {len(problems)} problem(s)")
    lines += [f"  {_shown(p, root)}" for p in problems]
    print("\n".join(lines))


def _case_and_guideline(case_id: str):
    library = load_library()
    case = library.cases.get(case_id)
    if case is None:
        raise CasebookError(f"no case {case_id!r}")
    guideline = library.guideline_for(case)
    if guideline is None:
        raise CasebookError(f"{case_id}: no guideline {case.guideline.id} {case.guideline.version}")
    return case, guideline


def answer_keys(*case_ids: str) -> None:
    """Print each case's answer key (all cases if none named) as a table, then the rationales.

    Printed in one piece, so the cell's output does not depend on when the kernel flushed.
    """
    print("\n".join(line for case_id in case_ids or sorted(load_library().cases)
                    for line in _key_lines(case_id)))


def _key_lines(case_id: str) -> list[str]:
    import pandas as pd

    from casebook.rules.scoring import answer_key
    from casebook.rules.tables import key_rows

    try:
        case, guideline = _case_and_guideline(case_id)
        rows = key_rows(answer_key(guideline, case))
    except CasebookError as exc:
        return [f"{case_id}: error: {exc}"]
    columns = ["stage", "option", "action", "verdict", "points", "rule", "citations"]
    return [
        f"{case.id}: {case.title} ({guideline.id} {guideline.version})",
        pd.DataFrame(rows)[columns].to_string(index=False),
        "rationales:",
        *(f"  {r['stage']}/{r['option']}: {r['rationale']} {r['citations']}" for r in rows),
    ]


def recommended_play(case_id: str) -> None:
    """Print the score of a play-through choosing the guideline's recommended options."""
    import pandas as pd

    from casebook.rules.scoring import answer_key, score_case
    from casebook.rules.tables import result_rows

    try:
        case, guideline = _case_and_guideline(case_id)
        keys = answer_key(guideline, case)
        answers = {k.stage: [o.option for o in k.recommended][: k.max_choices] for k in keys}
        result = score_case(guideline, case, answers)
    except CasebookError as exc:
        print(f"{case_id}: error: {exc}")
        return
    print(f"{case.id}: choosing the recommended options\n"
          f"{pd.DataFrame(result_rows(result)).to_string(index=False)}\n"
          f"score: {result.score:.3f}   safety events: {len(result.safety_events)}")
