"""The second level of validation: the meaning of files that already have the right shape.

Synthea's module checks are the model: every reference resolves, every branch ends, every
option gets a verdict, and every problem is reported at once with its file and field.
Rule conflicts and the red-flag guarantee are proved by enumerating the declared values of
the findings involved, so no play-through can reach a contradiction the check missed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from casebook.content.loading import Library
from casebook.content.models import (
    All,
    Any_,
    Case,
    Condition,
    Context,
    FindingValue,
    Guideline,
    In,
    Is,
    None_,
    Review,
    ReviewStatus,
    Rule,
    Verdict,
)
from casebook.errors import CasebookError, Problem
from casebook.rules.engine import (
    condition_findings,
    domain,
    evaluate,
    fits,
    holds,
    matching_rules,
    red_flag_names,
)
from casebook.rules.scoring import answer_key, max_choices, stage_findings
from casebook.rules.teaching import check_audience, check_story, check_urgent_contexts_taught

MAX_COMBINATIONS = 250_000


def validate(library: Library) -> list[Problem]:
    """Every problem in the library: structural ones from loading, then graph checks."""
    problems = list(library.problems)
    for guideline in library.guidelines.values():
        problems += check_guideline(guideline, library.path_of(guideline))
    for case in library.cases.values():
        problems += check_case(case, library)
    problems += check_rules_exercised(library)
    problems += check_urgent_contexts_taught(library)
    return problems


# --- guidelines -----------------------------------------------------------------------------


def check_guideline(g: Guideline, path: str) -> list[Problem]:
    found: list[Problem] = []

    def problem(field: str, message: str) -> None:
        found.append(Problem(path, field, message))

    for field, ids in [
        ("references", [r.number for r in g.references]),
        ("findings", [f.name for f in g.findings]),
        ("actions", [a.id for a in g.actions]),
        ("contexts", [c.id for c in g.contexts]),
        ("rules", [r.id for r in g.rules]),
    ]:
        for dup in sorted({i for i in ids if ids.count(i) > 1}, key=str):
            problem(field, f"{dup!r} is declared more than once")
    for i, f in enumerate(g.findings):
        if f.default is not None and not fits(g, f.name, f.default):
            problem(f"findings[{i}].default", f"{f.default!r} is not one of its values")
    _check_review(g.review, problem)
    for i, c in enumerate(g.contexts):
        _check_condition(g, c.when, f"contexts[{i}].when", problem)
        _check_citations(g, c.default, f"contexts[{i}].default", problem)
    for i, r in enumerate(g.rules):
        if r.context is not None and g.context(r.context) is None:
            problem(f"rules[{i}].context", f"unknown context {r.context!r}")
        for action in r.actions:
            if g.action(action) is None:
                problem(f"rules[{i}].actions", f"unknown action {action!r}")
        if r.when is not None:
            _check_condition(g, r.when, f"rules[{i}].when", problem)
        _check_citations(g, r, f"rules[{i}]", problem)
    if found:  # the enumerations below assume every name resolves
        return found
    _check_contexts_exclusive(g, problem)
    for context in g.contexts:
        _check_conflicts(g, context, problem)
        _check_red_flags(g, context, problem)
        _check_urgent_delays(g, context, problem)
    return found


def _check_review(review: Review, problem) -> None:
    if review.status is ReviewStatus.approved:
        if not review.reviewers:
            problem("review.reviewers", "approved content names its reviewers")
        if not review.last_reviewed:
            problem("review.last_reviewed", "approved content gives the date it was reviewed")


def _check_condition(g: Guideline, cond: Condition, field: str, problem) -> None:
    match cond:
        case Is(finding=name, equals=value):
            _check_value(g, name, [value], field, problem)
        case In(finding=name, one_of=values):
            _check_value(g, name, values, field, problem)
        case All(all=parts) | Any_(any=parts) | None_(none=parts):
            key = type(cond).__name__.lower().rstrip("_")
            for i, part in enumerate(parts):
                _check_condition(g, part, f"{field}.{key}[{i}]", problem)


def _check_value(g: Guideline, name: str, values: list, field: str, problem) -> None:
    if g.finding(name) is None:
        problem(field, f"unknown finding {name!r}")
        return
    for value in values:
        if not fits(g, name, value):
            problem(field, f"{name!r} cannot be {value!r}; allowed: {domain(g, name)}")



def _check_citations(g: Guideline, judged, field: str, problem) -> None:
    cited = list(judged.references) + [n for e in judged.evidence for n in e.references]
    for number in cited:
        if g.reference(number) is None:
            problem(f"{field}.references", f"cites [{number}], which the guideline does not list")



def combinations(g: Guideline, names: set[str]) -> Iterator[dict[str, FindingValue]]:
    """Every assignment of declared values to `names`."""
    ordered = sorted(names)
    size = 1
    for name in ordered:
        size *= len(domain(g, name))
    if size > MAX_COMBINATIONS:
        raise CasebookError(f"{size} combinations of {ordered} are too many to enumerate")
    for values in itertools.product(*(domain(g, n) for n in ordered)):
        yield dict(zip(ordered, values, strict=True))


def _enumerate(g: Guideline, conditions: list[Condition | None], problem, field: str):
    flags = red_flag_names(g)
    names = set().union(*(condition_findings(c, flags) for c in conditions))
    try:
        yield from combinations(g, names)
    except CasebookError as exc:
        problem(field, str(exc))


def _check_contexts_exclusive(g: Guideline, problem) -> None:
    flags = red_flag_names(g)
    for findings in _enumerate(g, [c.when for c in g.contexts], problem, "contexts"):
        hits = [c.id for c in g.contexts if holds(c.when, findings, flags)]
        if len(hits) > 1:
            problem("contexts", f"{' and '.join(hits)} both apply when {_show(findings)}")
            return


def _rules_in(g: Guideline, context: Context) -> list[tuple[int, Rule]]:
    return [(i, r) for i, r in enumerate(g.rules) if r.context in (None, context.id)]


def _check_conflicts(g: Guideline, context: Context, problem) -> None:
    flags = red_flag_names(g)
    rules = _rules_in(g, context)
    for (i, a), (_, b) in itertools.combinations(rules, 2):
        shared = set(a.actions) & set(b.actions)
        if not shared or a.verdict is b.verdict:
            continue
        conds = [context.when, a.when, b.when]
        for findings in _enumerate(g, conds, problem, f"rules[{i}]"):
            if all(c is None or holds(c, findings, flags) for c in conds):
                problem(
                    f"rules[{i}].verdict",
                    f"{a.id} ({a.verdict.value}) and {b.id} ({b.verdict.value}) both judge "
                    f"{sorted(shared)} in context {context.id} when {_show(findings)}",
                )
                break


def _first_not_harmful(g: Guideline, context: Context, findings: dict[str, FindingValue],
                       actions: list[str]) -> tuple[str, Verdict] | None:
    """The first of `actions` these findings do not make harmful, with its verdict."""
    given = matching_rules(g, context, findings)
    for action in actions:
        verdicts = {r.verdict for r in given if action in r.actions}
        verdict = verdicts.pop() if len(verdicts) == 1 else context.default.verdict
        if verdict is not Verdict.harmful:
            return action, verdict
    return None


def _check_red_flags(g: Guideline, context: Context, problem) -> None:
    """Wherever a red flag is present, conservative care alone must come out harmful."""
    flags = red_flag_names(g)
    conservative = [a.id for a in g.actions if a.conservative_only]
    if not flags or not conservative:
        return
    conds = [context.when, *(r.when for _, r in _rules_in(g, context))]
    for findings in _enumerate(g, conds + [All(all=[Is(finding=f, equals=True) for f in flags])],
                               problem, f"contexts.{context.id}"):
        if not holds(context.when, findings, flags) or not any(findings[f] for f in flags):
            continue
        if found := _first_not_harmful(g, context, findings, conservative):
            problem(f"contexts.{context.id}",
                    f"conservative-only {found[0]!r} is {found[1].value}, not harmful, "
                    f"when red flags are present ({_show(findings)})")
            return


def _check_urgent_delays(g: Guideline, context: Context, problem) -> None:
    """Wherever an urgent context applies, every action that delays must come out harmful."""
    delays = [a.id for a in g.actions if a.delays]
    if not context.urgent or not delays:
        return
    flags = red_flag_names(g)
    conds = [context.when, *(r.when for _, r in _rules_in(g, context))]
    for findings in _enumerate(g, conds, problem, f"contexts.{context.id}"):
        if not holds(context.when, findings, flags):
            continue
        if found := _first_not_harmful(g, context, findings, delays):
            problem(f"contexts.{context.id}",
                    f"{found[0]!r} delays but is {found[1].value}, not harmful, in urgent "
                    f"context {context.id} ({_show(findings) or 'any findings'})")
            return


def _show(findings: dict[str, FindingValue]) -> str:
    return ", ".join(f"{k}={v}" for k, v in findings.items())


# --- cases ----------------------------------------------------------------------------------


def check_case(case: Case, library: Library) -> list[Problem]:
    path = library.path_of(case)
    found: list[Problem] = []

    def problem(field: str, message: str) -> None:
        found.append(Problem(path, field, message))

    _check_review(case.review, problem)
    check_story(case, problem)
    check_audience(case, problem)
    for i, related in enumerate(case.related):
        if related in library.unloaded:
            continue  # its own file's problems say why it is missing; this case still plays
        if related == case.id or related not in library.cases:
            problem(f"related[{i}]", f"no other case {related!r}")
    g = library.guideline_for(case)
    if g is None:
        known = sorted(f"{i} {v}" for i, v in library.guidelines)
        problem("guideline", f"no guideline {case.guideline.id} {case.guideline.version}; "
                f"known: {', '.join(known) or 'none'}")
        return found
    if g.context(case.context) is None:
        problem("context", f"{g.id} has no context {case.context!r}")
    for i, point in enumerate(case.teaching_points):
        for number in point.references:
            if g.reference(number) is None:
                problem(f"teaching_points[{i}].references", f"[{number}] is not in {g.id}")
    for s, stage in enumerate(case.stages):
        field = f"stages[{s}]"
        ids = [o.id for o in stage.options]
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            problem(f"{field}.options", f"option id {dup!r} repeats")
        for o, option in enumerate(stage.options):
            if g.action(option.action) is None:
                problem(f"{field}.options[{o}].action", f"{g.id} has no action {option.action!r}")
        for name, value in stage.reveal.items():
            if g.finding(name) is None:
                problem(f"{field}.reveal.{name}", f"{g.id} declares no finding {name!r}")
            elif not fits(g, name, value):
                problem(f"{field}.reveal.{name}", f"cannot be {value!r}; allowed: {domain(g, name)}")
        if stage.select.mode == "up_to" and max_choices(stage) > len(stage.options):
            problem(f"{field}.select.max", f"allows {stage.select.max} of {len(stage.options)} options")
    if not found:
        _check_stage_keys(g, case, problem)
    return found


def _check_stage_keys(g: Guideline, case: Case, problem) -> None:
    try:
        keys = answer_key(g, case)
    except CasebookError as exc:
        stage = _first_failing_stage(g, case)
        problem(f"stages[{stage}].reveal", str(exc))
        return
    if keys[0].context != case.context:
        problem("context", f"the first stage's findings put the case in {keys[0].context!r}")
    for s, key in enumerate(keys):
        verdicts = {o.verdict for o in key.options}
        if Verdict.recommended not in verdicts:
            problem(f"stages[{s}].options", "no option is recommended by the guideline")
        if not verdicts & {Verdict.not_indicated, Verdict.harmful}:
            problem(f"stages[{s}].options", "no tempting wrong option (not indicated or harmful)")


def _first_failing_stage(g: Guideline, case: Case) -> int:
    for s, stage in enumerate(case.stages):
        try:
            evaluate(g, stage_findings(case, stage.id))
        except CasebookError:
            return s
    return 0


def check_rules_exercised(library: Library) -> list[Problem]:
    """Every rule must be reached by some case stage that offers one of its actions.

    Not judged for a guideline that a case file which failed to load may belong to: that file
    reports its own problems, and must not take its guideline's other cases out with it."""
    unsure = set(library.unloaded.values())
    exercised: set[tuple[str, str, str]] = set()
    for case in library.cases.values():
        g = library.guideline_for(case)
        if g is None:
            continue
        for stage in case.stages:
            try:
                findings = evaluate(g, stage_findings(case, stage.id))
            except CasebookError:
                continue
            offered = {o.action for o in stage.options}
            for r in matching_rules(g, g.context(findings.context), findings.findings):
                if offered & set(r.actions):
                    exercised.add((g.id, g.version, r.id))
    return [
        Problem(library.path_of(g), f"rules[{i}]", f"rule {r.id!r} is exercised by no case stage")
        for g in library.guidelines.values() if not unsure & {None, g.id}
        for i, r in enumerate(g.rules)
        if (g.id, g.version, r.id) not in exercised
    ]
