"""The shapes of guideline and case files.

These pydantic models are the first level of validation (structure); the graph checks in
`casebook.rules.validation` are the second. Every model forbids unknown keys so that a misspelt
field in a YAML file is reported rather than silently ignored. `casebook schema` exports
them as JSON Schema for editors.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION = 1

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=80)]
IsoDate = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
SemVer = Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]
FindingValue = bool | str


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Verdict(StrEnum):
    """The four verdicts, ordered from worst to best by `rank`."""

    harmful = "harmful"
    not_indicated = "not_indicated"
    acceptable = "acceptable"
    recommended = "recommended"

    @property
    def rank(self) -> int:
        return list(Verdict).index(self)

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class ReviewStatus(StrEnum):
    draft = "draft"
    in_review = "in_review"
    approved = "approved"


class Review(Strict):
    """Who checked the content and when, as OpenPrescribing's measure files record it."""

    status: ReviewStatus
    reviewers: list[str] = []
    last_reviewed: IsoDate | None = None
    next_review: IsoDate | None = None


# --- conditions: a small fixed vocabulary, interpreted by casebook.rules.engine ------------------


class Is(Strict):
    """A finding equals one value."""

    finding: Slug
    equals: FindingValue


class In(Strict):
    """A finding takes one of several values."""

    finding: Slug
    one_of: list[FindingValue] = Field(min_length=1)


class RedFlags(Strict):
    """Any declared red-flag finding is present (or, with `absent`, none is)."""

    red_flags: Literal["present", "absent"]


class All(Strict):
    all: list[Condition] = Field(min_length=1)


class Any_(Strict):
    any: list[Condition] = Field(min_length=1)


class None_(Strict):
    none: list[Condition] = Field(min_length=1)


Condition = Is | In | RedFlags | All | Any_ | None_
for _model in (All, Any_, None_):
    _model.model_rebuild()


# --- guidelines ---------------------------------------------------------------------------


class Source(Strict):
    """The seed article a guideline algorithm is built from."""

    seed: str
    title: str
    last_updated: IsoDate


class Reference(Strict):
    """A numbered reference as the seed article gives it.

    Seeds cite numbers their reference list does not contain; those are kept with
    `listed: false` and no title, never completed from elsewhere.
    """

    number: int = Field(ge=1)
    listed: bool
    title: str | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _listed_has_title(self) -> Reference:
        if self.listed and not (self.title and self.source):
            raise ValueError("a listed reference needs its title and source")
        if not self.listed and (self.title or self.source):
            raise ValueError("an unlisted reference has no title or source in the seed")
        return self


class Finding(Strict):
    name: Slug
    label: str
    type: Literal["boolean", "choice"]
    values: dict[str, str] = Field(
        default_factory=dict, description="choice findings: value -> label shown to learners"
    )
    default: FindingValue | None = Field(
        None, description="the value assumed while a case has not revealed this finding"
    )
    red_flag: bool = False

    @model_validator(mode="after")
    def _values_fit_type(self) -> Finding:
        if self.type == "choice" and not self.values:
            raise ValueError("a choice finding lists its values")
        if self.type == "boolean" and self.values:
            raise ValueError("a boolean finding has no values list")
        if self.red_flag and self.type != "boolean":
            raise ValueError("a red flag is a boolean finding")
        if self.red_flag and self.default is not False:
            raise ValueError("a red flag defaults to false")
        return self


class Category(StrEnum):
    imaging = "imaging"
    medication = "medication"
    procedure = "procedure"
    referral = "referral"
    disposition = "disposition"
    observation = "observation"


class Action(Strict):
    id: Slug
    label: str
    category: Category
    conservative_only: bool = Field(
        False, description="care that is conservative alone; harmful wherever a red flag is present"
    )
    delays: bool = Field(False, description="puts off evaluation or treatment; harmful where urgent")


class Evidence(Strict):
    """A figure or fact from the seed, in our words with the figure unchanged."""

    text: str
    references: list[int] = Field(min_length=1)


class Judgement(Strict):
    """Why an action gets a verdict: the rationale and what it rests on."""

    rationale: str
    references: list[int] = Field(min_length=1)
    evidence: list[Evidence] = []


class Default(Judgement):
    verdict: Verdict


class Context(Strict):
    """A clinical context the guideline distinguishes, with its default verdict."""

    id: Slug
    title: str
    when: Condition
    default: Default
    urgent: bool = Field(False, description="the seed calls for immediate evaluation here")


class Rule(Judgement):
    id: Slug
    context: Slug | None = Field(None, description="omit for a rule that holds in every context")
    when: Condition | None = None
    verdict: Verdict
    actions: list[Slug] = Field(min_length=1)


class Guideline(Strict):
    schema_version: Literal[1]
    id: Slug
    title: str
    version: SemVer
    source: Source
    review: Review
    references: list[Reference] = Field(min_length=1)
    findings: list[Finding] = Field(min_length=1)
    actions: list[Action] = Field(min_length=1)
    contexts: list[Context] = Field(min_length=1)
    rules: list[Rule] = Field(min_length=1)

    def finding(self, name: str) -> Finding | None:
        return next((f for f in self.findings if f.name == name), None)

    def action(self, action_id: str) -> Action | None:
        return next((a for a in self.actions if a.id == action_id), None)

    def context(self, context_id: str) -> Context | None:
        return next((c for c in self.contexts if c.id == context_id), None)

    def reference(self, number: int) -> Reference | None:
        return next((r for r in self.references if r.number == number), None)


# --- cases --------------------------------------------------------------------------------


class GuidelineRef(Strict):
    id: Slug
    version: SemVer


class Cited(Strict):
    text: str
    references: list[int] = Field(min_length=1)


class Select(Strict):
    """How many options a stage takes: exactly one, up to `max`, or all that apply."""

    mode: Literal["one", "up_to", "all_that_apply"] = "one"
    max: int | None = Field(None, ge=2)

    @model_validator(mode="after")
    def _max_only_for_up_to(self) -> Select:
        if (self.mode == "up_to") != (self.max is not None):
            raise ValueError("`max` is given exactly when mode is up_to")
        return self


class Option(Strict):
    id: Slug
    action: Slug
    text: str


Level = Literal["student", "resident", "attending"]  # "Which best describes you?", as the seeds ask


class Stage(Strict):
    id: Slug
    title: str
    narrative: str
    reveal: dict[str, FindingValue] = Field(
        default_factory=dict, description="findings this stage makes known; they accumulate"
    )
    question: str
    select: Select = Select()
    options: list[Option] = Field(min_length=2)
    shown_by: dict[str, str] = Field(
        default_factory=dict,
        description="for each revealed finding, the sentence of the story that shows it",
    )
    explain: dict[Level, str] = Field(
        default_factory=dict, description="the stage's teaching after the answer, per level"
    )


class Case(Strict):
    schema_version: Literal[1]
    id: Slug
    title: str
    question: str = Field(description="the one-line question shown on the home page")
    guideline: GuidelineRef
    context: Slug
    audience: str
    levels: list[Level] = Field(default_factory=list, description="who the case suits")
    review: Review
    vignette: str
    teaching_points: list[Cited] = Field(min_length=1)
    related: list[Slug] = []
    stages: list[Stage] = Field(min_length=2)

    @field_validator("stages")
    @classmethod
    def _unique_stage_ids(cls, stages: list[Stage]) -> list[Stage]:
        ids = [s.id for s in stages]
        if len(ids) != len(set(ids)):
            raise ValueError("stage ids repeat")
        return stages

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)
