"""Checks that a case teaches what it scores: recognition from the story, and every audience.

A learner must recognise each finding from the history, examination and imaging, never be
told its name; so every finding a stage reveals carries the sentence of the story that shows
it, and that sentence must already be in the story (the vignette and the narratives up to this
stage). The explanation after the answer is written for each level the seeds ask about, and
every urgent context tempts the learner with a delay somewhere, so urgency is practised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import get_args

from casebook.content.loading import Library
from casebook.content.models import Case, Level
from casebook.errors import CasebookError, Problem
from casebook.rules.engine import evaluate
from casebook.rules.scoring import stage_findings

LEVELS: tuple[str, ...] = get_args(Level)

ProblemSink = Callable[[str, str], None]


def flat(text: str) -> str:
    """Text with every run of whitespace as one space: YAML blocks wrap lines anywhere."""
    return " ".join(text.split())


def check_story(case: Case, problem: ProblemSink) -> None:
    """Every revealed finding has a `shown_by` sentence found verbatim in the story so far."""
    story = flat(case.vignette)
    for s, stage in enumerate(case.stages):
        story += " " + flat(stage.narrative)
        field = f"stages[{s}].shown_by"
        for name in stage.reveal:
            sentence = stage.shown_by.get(name)
            if not sentence or not sentence.strip():
                problem(f"{field}.{name}", "the stage reveals this finding but no sentence of "
                        "the story shows it")
            elif flat(sentence) not in story:
                problem(f"{field}.{name}", f"{sentence.strip()[:60]!r} is not in the vignette "
                        "or the narratives up to this stage")
        for name in sorted(set(stage.shown_by) - set(stage.reveal)):
            problem(f"{field}.{name}", "the stage does not reveal this finding")


def check_audience(case: Case, problem: ProblemSink) -> None:
    """The case says who it suits, and every stage explains itself at every level."""
    if not case.levels:
        problem("levels", f"name the levels the case suits, from {', '.join(LEVELS)}")
    elif len(set(case.levels)) != len(case.levels):
        problem("levels", "a level repeats")
    for s, stage in enumerate(case.stages):
        missing = [lvl for lvl in LEVELS if not stage.explain.get(lvl, "").strip()]
        if missing:
            problem(f"stages[{s}].explain", f"no explanation for {', '.join(missing)}")


def _stage_contexts(library: Library, case: Case) -> Iterator[tuple[str, set[str]]]:
    """(context, actions offered) for each stage of a case whose findings can be judged."""
    g = library.guideline_for(case)
    for stage in case.stages if g else []:
        try:
            context = evaluate(g, stage_findings(case, stage.id)).context
        except CasebookError:
            continue
        yield context, {o.action for o in stage.options}


def check_urgent_contexts_taught(library: Library) -> list[Problem]:
    """Every urgent context is met by some stage that tempts the learner to delay."""
    tempted: set[tuple[str, str, str]] = set()
    for case in library.cases.values():
        g = library.guideline_for(case)
        delays = {a.id for a in g.actions if a.delays} if g else set()
        for context, offered in _stage_contexts(library, case):
            if offered & delays:
                tempted.add((case.guideline.id, case.guideline.version, context))
    return [
        Problem(library.path_of(g), f"contexts[{i}]",
                f"urgent context {c.id!r}: no case stage in it offers an option that delays")
        for g in library.guidelines.values()
        for i, c in enumerate(g.contexts)
        if c.urgent and (g.id, g.version, c.id) not in tempted
    ]
