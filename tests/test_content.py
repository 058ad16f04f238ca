"""Every shipped guideline and case validates, and the seeds' figures are all carried over."""

import os
import re
from pathlib import Path

import pytest

from casebook.content.loading import SHIPPED_ROOT, load_library
from casebook.rules.validation import validate
from conftest import nonempty

# The guidelines' sources: ../shared/seeds/ beside the repository (CASEBOOK_SEEDS elsewhere).
SEEDS = Path(os.environ.get("CASEBOOK_SEEDS") or Path(__file__).resolve().parents[2] / "shared" / "seeds")
SHIPPED = load_library(SHIPPED_ROOT)
PROBLEMS = [str(p) for p in validate(SHIPPED)]
FILES = nonempty(sorted(SHIPPED_ROOT.rglob("*.yaml")), f"no guideline or case YAML under {SHIPPED_ROOT}")
SEED_TEXTS = nonempty(sorted(SEEDS.glob("*.txt")),
                      f"no seed texts (*.txt) in {SEEDS}: the guidelines' sources are missing "
                      "(../shared/seeds/ beside the repository, or set CASEBOOK_SEEDS to their folder)")
FIGURE = re.compile(
    r"[<≥]?\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)?"
    r"(?:%|-fold|\s(?:mg/day|weeks?|years?|hours?|months?|patients|spinal cord lesions))"
    r"|range \d+-\d+"
)


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(SHIPPED_ROOT).as_posix() for p in FILES])
def test_shipped_file_validates(path):
    assert [p for p in PROBLEMS if p.startswith(f"{path}:")] == []


def test_the_whole_library_validates():
    assert PROBLEMS == []


def test_both_seeds_have_a_guideline_and_every_guideline_has_cases():
    seeds = {g.source.seed for g in SHIPPED.guidelines.values()}
    assert seeds == {p.name for p in SEED_TEXTS}
    for key in SHIPPED.guidelines:
        assert any((c.guideline.id, c.guideline.version) == key for c in SHIPPED.cases.values())


def test_every_context_has_a_case():
    for guideline in SHIPPED.guidelines.values():
        taught = {c.context for c in SHIPPED.cases.values() if c.guideline.id == guideline.id}
        assert taught == {c.id for c in guideline.contexts}


def seed_body(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.index("Personalize")
    return text[start : text.index("\nReferences\n")]


def guideline_text(guideline) -> str:
    parts = [c.default.rationale for c in guideline.contexts]
    for judged in [*guideline.rules, *(c.default for c in guideline.contexts)]:
        parts += [judged.rationale, *(e.text for e in judged.evidence)]
    return "\n".join(parts)


@pytest.mark.parametrize("seed", SEED_TEXTS, ids=lambda p: p.name)
def test_every_figure_in_the_seed_is_encoded_exactly(seed):
    [guideline] = [g for g in SHIPPED.guidelines.values() if g.source.seed == seed.name]
    figures = sorted(set(FIGURE.findall(seed_body(seed))))
    assert len(figures) >= 8
    missing = [f for f in figures if f not in guideline_text(guideline)]
    assert missing == []


@pytest.mark.parametrize("seed", SEED_TEXTS, ids=lambda p: p.name)
def test_references_are_numbered_as_the_seed_lists_them(seed):
    [guideline] = [g for g in SHIPPED.guidelines.values() if g.source.seed == seed.name]
    tail = seed.read_text(encoding="utf-8").split("\nReferences\n")[1].split("Related Questions")[0]
    listed = [r for r in guideline.references if r.listed]
    for ref in listed:
        assert ref.title in tail and ref.source in tail
    cited = {int(n) for n in re.findall(r"(?<=\s)(\d)(?=(?:, \d)*\s*$)", seed_body(seed), re.M)}
    assert {r.number for r in guideline.references} == cited
    assert all(not r.listed for r in guideline.references if r.number > len(listed))


def test_every_urgent_context_has_a_stage_where_delay_is_harmful():
    """Validation proves delays harmful; here every urgent context also puts one to a learner."""
    from casebook.content.models import Verdict
    from casebook.rules.scoring import answer_key

    urgent = {(g.id, c.id) for g in SHIPPED.guidelines.values() for c in g.contexts if c.urgent}
    assert len(urgent) >= 6
    tempted = set()
    for case in SHIPPED.cases.values():
        g = SHIPPED.guideline_for(case)
        delays = {a.id for a in g.actions if a.delays}
        for key in answer_key(g, case):
            if any(o.action in delays and o.verdict is Verdict.harmful for o in key.options):
                tempted.add((g.id, key.context))
    assert urgent - tempted == set()


def test_every_stage_explains_itself_differently_per_level():
    for case in SHIPPED.cases.values():
        for stage in case.stages:
            texts = [stage.explain[lvl] for lvl in ("student", "resident", "attending")]
            assert len(set(texts)) == 3, (case.id, stage.id)


def test_every_action_of_every_guideline_is_put_to_a_learner():
    """Each step the seeds recommend or warn against (pitfalls included) is an option somewhere."""
    for g in SHIPPED.guidelines.values():
        offered = {o.action for c in SHIPPED.cases.values() if c.guideline.id == g.id
                   for s in c.stages for o in s.options}
        assert [a.id for a in g.actions if a.id not in offered] == []


def test_the_library_has_at_least_24_cases():
    assert len(SHIPPED.cases) >= 24
