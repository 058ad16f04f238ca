"""`casebook new`: a new case file that already plays, with only the clinician's words left.

The scaffold picks findings that put the case in the chosen context (as an existing case
in it opens, where there is one) and options whose
verdicts the engine derives (a recommended step and tempting wrong ones in each stage), so
the graph checks hold from the start. Everything a clinician must write is left out, with a
`# TODO field:` line where it goes: `casebook validate` then lists exactly those fields as
"required field is missing", and passes once they are written. It lives beside the engine
because it needs the engine's verdicts; content/ stays below rules/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

from casebook.content.loading import Library, case_ids
from casebook.content.models import SCHEMA_VERSION, Guideline, Level, Verdict
from casebook.errors import CasebookError
from casebook.rules.engine import Evaluation, condition_findings, domain, evaluate, red_flag_names
from casebook.rules.scoring import stage_findings
from casebook.rules.validation import combinations

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
PLAIN = re.compile(r"^[a-z][a-z0-9_-]*$")
YAML_WORDS = {"null", "true", "false", "yes", "no", "on", "off", "y", "n"}
OPTIONS_PER_STAGE = 4
WRONG = (Verdict.harmful, Verdict.not_indicated)
LEVELS = get_args(Level)


def pick_guideline(library: Library, ref: str) -> Guideline:
    """The guideline `ID[@VERSION]` (the newest version when none is given)."""
    gid, _, version = ref.partition("@")
    found = [g for (i, v), g in library.guidelines.items() if i == gid and version in ("", v)]
    if not found:
        known = ", ".join(sorted(f"{i}@{v}" for i, v in library.guidelines)) or "none"
        raise CasebookError(f"no guideline {ref!r}; known: {known}")
    return max(found, key=lambda g: tuple(int(p) for p in g.version.split(".")))


def _teaches(evaluation: Evaluation, context_id: str) -> bool:
    verdicts = {v.verdict for v in evaluation.verdicts.values()}
    return evaluation.context == context_id and Verdict.recommended in verdicts \
        and bool(verdicts & set(WRONG))


def context_findings(g: Guideline, context_id: str, library: Library | None = None
                     ) -> tuple[dict, Evaluation]:
    """Findings that select `context_id` and give a recommended and a wrong step: those an
    existing case in the context opens with (a red-flag context's own flag, say), else what
    the context's condition reads and every finding with no default, other values at default."""
    context = g.context(context_id)
    if context is None:
        raise CasebookError(f"{g.id} has no context {context_id!r}; known: "
                            + ", ".join(c.id for c in g.contexts))
    for case in sorted((library.cases.values() if library else []), key=lambda c: c.id):
        if (case.guideline.id, case.guideline.version, case.context) == (g.id, g.version, context_id):
            opening = stage_findings(case, case.stages[0].id)
            try:
                evaluation = evaluate(g, opening)
            except CasebookError:
                continue
            if _teaches(evaluation, context_id):
                return opening, evaluation
    names = condition_findings(context.when, red_flag_names(g))
    names |= {f.name for f in g.findings if f.default is None}
    for values in combinations(g, names):
        try:
            evaluation = evaluate(g, values)
        except CasebookError:
            continue
        if _teaches(evaluation, context_id):
            reveal = {n: v for n, v in values.items()
                      if n in condition_findings(context.when, frozenset()) or v != g.finding(n).default}
            return reveal, evaluation
    raise CasebookError(f"{g.id}: no findings in context {context_id!r} give both a recommended "
                        "and a wrong step; choose another context")


def pick_options(g: Guideline, evaluation: Evaluation, avoid: set[str]) -> list[str]:
    """Up to four actions in the guideline's order: a recommended one or two, one acceptable,
    the rest wrong (those a rule judges first: they are the tempting ones)."""
    ranked = sorted(evaluation.verdicts.values(),  # harmful before not indicated
                    key=lambda v: (v.action in avoid, v.rule is None, v.verdict.rank))
    by = {verdict: [v.action for v in ranked if v.verdict is verdict] for verdict in Verdict}
    chosen = by[Verdict.recommended][:2] + by[Verdict.acceptable][:1]
    wrong = [v.action for v in ranked if v.verdict in WRONG]
    chosen += wrong[: max(1, OPTIONS_PER_STAGE - len(chosen))]
    order = [a.id for a in g.actions]
    return sorted(chosen, key=order.index)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return text if PLAIN.match(text) and text not in YAML_WORDS else json.dumps(text)


def _flow(mapping: dict) -> str:
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in mapping.items()) + "}"


def _stage(g: Guideline, number: int, reveal: dict, evaluation: Evaluation, actions: list[str]) -> list[str]:
    recommended = [a for a in actions if evaluation.verdicts[a].verdict is Verdict.recommended]
    mode = "{mode: one}" if len(recommended) == 1 else "{mode: all_that_apply}"
    lines = [f"  - id: stage-{number}",
             "    # TODO title: a short heading for this stage",
             "    # TODO narrative: what the learner is told at this stage, in your own words"]
    if reveal:
        lines += [f"    reveal: {_flow(reveal)}   # findings made known here; they accumulate",
                  "    # TODO shown_by: for each revealed finding, the sentence of your story that shows",
                  "    #   it, copied word for word (the learner must recognise it from the story):"]
        lines += [f"    #   {name}: \"...\"" for name in reveal]
    lines += ["    # TODO explain: the teaching after the answer, worded for each level:",
              *(f"    #   {level}: ..." for level in LEVELS)]
    lines += ["    # TODO question: e.g. What is the next step?",
              f"    select: {mode}",
              "    options:   # verdicts come from the guideline: never write them here"]
    for letter, action in zip("abcdefgh", actions, strict=False):
        verdict = evaluation.verdicts[action].verdict.label
        lines.append(f"      - {{id: {letter}, action: {action}}}   # TODO text: worded for this "
                     f"patient ({verdict}; guideline: {g.action(action).label})")
    return lines


def _other_findings(g: Guideline, reveal: dict) -> list[str]:
    lines = ["# Other findings a stage may reveal (each holds its default until revealed):"]
    for f in g.findings:
        if f.name not in reveal:
            values = " | ".join(_scalar(v) for v in domain(g, f.name))
            flag = ", red flag" if f.red_flag else ""
            lines.append(f"#   {f.name}: {values}   (default {_scalar(f.default)}{flag}) {f.label}")
    return lines


def scaffold_text(g: Guideline, case_id: str, context_id: str, library: Library | None = None) -> str:
    """The YAML of a new draft case in `context_id` of guideline `g`."""
    reveal, evaluation = context_findings(g, context_id, library)
    first = pick_options(g, evaluation, set())
    second = pick_options(g, evaluation, set(first))
    numbers = ", ".join(f"[{r.number}]" for r in g.references)
    lines = [
        "# yaml-language-server: $schema=schema/case.schema.json",
        "# A new case, from `casebook new`. Each `# TODO field:` line is a required field still",
        "# to write: remove `# TODO ` and write it in your own words. `casebook validate` lists",
        "# what is left. The answer key is derived from the guideline, never written here.",
        f"schema_version: {SCHEMA_VERSION}",
        f"id: {case_id}",
        "# TODO title: the case's headline",
        "# TODO question: the one-line question shown on the home page",
        f"guideline: {{id: {g.id}, version: {g.version}}}",
        f"context: {context_id}   # {g.context(context_id).title}",
        "# TODO audience: who the case is for, e.g. Residents in emergency medicine",
        f"levels: [resident]   # who the case suits, any of: {', '.join(LEVELS)}",
        "review: {status: draft, reviewers: [], last_reviewed: null, next_review: null}",
        "# TODO vignette: |",
        "#   The patient's story, in your own words.",
        f"# TODO teaching_points:   (cite {g.id}'s references: {numbers})",
        "#   - {text: One point the case teaches., references: [1]}",
        "related: []",
        *_other_findings(g, reveal),
        "stages:",
        *_stage(g, 1, reveal, evaluation, first),
        *_stage(g, 2, {}, evaluation, second),
    ]
    return "\n".join(lines) + "\n"


def write_scaffold(library: Library, case_id: str, guideline: str, context_id: str,
                   folder: Path) -> Path:
    """Write `folder/<case_id>.yaml`; refuse an id that is taken or not a slug."""
    if not SLUG.match(case_id) or len(case_id) > 80:
        raise CasebookError(f"case id {case_id!r} must be lowercase letters, digits, - and _")
    if not folder.is_dir():
        raise CasebookError(f"no folder {folder} to write the case into")
    path = folder / f"{case_id}.yaml"
    taken = case_ids(folder).get(case_id) or (
        library.path_of(library.cases[case_id]) if case_id in library.cases else None)
    if taken or path.exists():
        raise CasebookError(f"case {case_id!r} exists already ({taken or path}); choose another id")
    text = scaffold_text(pick_guideline(library, guideline), case_id, context_id, library)
    path.write_text(text, encoding="utf-8")
    return path
