"""Recorded decisions as xAPI statements, after the MedBiquitous Virtual Patient profile.

One statement per submission (an answered stage, per round): the learner *responded* to the
stage, with the chosen options as `result.response`, the points as `result.score`, whether the
answer is concordant with the guideline (`measures.concordant`) as `result.success`, the time
on the stage as `result.duration`, and the guideline's verdict for each choice, the safety events
and the learner's confidence as `result.extensions`. The case is the parent activity, the
guideline version that scored it the grouping activity, the attempt the registration.

IRIs used, and where they come from:

- Verb `http://adlnet.gov/expapi/verbs/responded`: the profile's "Responded" ("User has responded
  to a question ... not quite the same as 'answered' which implies that the answer is correct"),
  in its Vocabulary table. Source: MedBiquitous Learning Experience Working Group, "Experience
  API Virtual Patient Profile" v1.0 (D. Topps et al., 15 March 2016), as
  published in the olab/xAPI-Spec repository, `Virtual Patients Profile.md`, and on
  groups.medbiq.org ("Profile: 1. Virtual Patients").
- Activity type `http://adlnet.gov/expapi/activities/simulation`: the profile's "Virtual
  Patient" activity type (same table); used for the case, the parent of every decision.
- Profile id `https://w3id.org/xapi/virtual-patient`: the profile's ID as listed by the ADL TLA
  profile server ("Virtual Patient Profile", status draft, v1.0); put in the statement's
  `context.contextActivities.category`, as the profile asks ("All statements include the Recipe
  ID in the 'category' context activity list") and xAPI 1.0.3 section 2.4.6.2 advises
  ("Category SHOULD be used to indicate a profile of xAPI behaviors").
- Not defined by the profile, so taken from the xAPI 1.0.3 specification itself (adlnet/xAPI-Spec,
  `xAPI-Data.md`, "Interaction Activities"): a stage is an interaction activity of type
  `http://adlnet.gov/expapi/activities/cmi.interaction` with `interactionType` "choice", and the
  response is the chosen option ids delimited by `[,]`.
- casebook's own IRIs, under `base_url` (the address the casebook is served from): the activity
  ids of cases, stages and guideline versions, the account home page of learners, and the
  extension keys (`{base_url}/xapi/extensions/...`), which the profile does not define; xAPI
  leaves activity ids and extensions to the activity provider.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from casebook.records import frames as records
from casebook.records.database import Engine
from casebook.rules.measures import concordant

RESPONDED = "http://adlnet.gov/expapi/verbs/responded"
SIMULATION = "http://adlnet.gov/expapi/activities/simulation"
VIRTUAL_PATIENT_PROFILE = "https://w3id.org/xapi/virtual-patient"
INTERACTION = "http://adlnet.gov/expapi/activities/cmi.interaction"
DEFAULT_BASE_URL = "http://127.0.0.1:8866"  # `make serve`; pass the real address when exporting


def _when(stamp: pd.Timestamp) -> str:
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _duration(seconds: float) -> str:
    return f"PT{max(0.0, seconds):.2f}S"


def _actor(row: Any, base: str) -> dict[str, Any]:
    if pd.notna(row.learner_id):
        return {"objectType": "Agent", "name": row.display_name,
                "account": {"homePage": base, "name": f"learner/{row.learner_id}"}}
    return {"objectType": "Agent",  # an anonymous session participant: no name
            "account": {"homePage": base, "name": f"participant/{row.participant_id}"}}


def statement(row: Any, base_url: str = DEFAULT_BASE_URL) -> dict[str, Any]:
    """The statement for one row of `records.submissions`."""
    base = base_url.rstrip("/")
    ext = f"{base}/xapi/extensions"
    case = f"{base}/cases/{row.case_id}"
    result_ext = {f"{ext}/verdicts": dict(zip(row.choices, row.verdicts, strict=True)),
                  f"{ext}/safety-events": list(row.safety_events)}
    if pd.notna(row.confidence):
        result_ext[f"{ext}/confidence"] = row.confidence
    context_ext = {f"{ext}/round": int(row.round)}
    if pd.notna(row.session_id):
        context_ext[f"{ext}/session"] = row.session_id
    return {
        "id": row.submission_id,
        "actor": _actor(row, base),
        "verb": {"id": RESPONDED, "display": {"en-US": "responded"}},
        "object": {"objectType": "Activity", "id": f"{case}/stages/{row.stage_id}", "definition": {
            "type": INTERACTION, "interactionType": "choice",
            "name": {"en-US": f"{row.case_id}: {row.stage_id}"}}},
        "result": {
            "response": "[,]".join(row.choices),
            "score": {"scaled": float(row.points), "raw": float(row.points), "min": 0, "max": 1},
            "success": concordant(float(row.points), row.verdicts),
            "duration": _duration(float(row.seconds_on_stage)),
            "extensions": result_ext,
        },
        "context": {
            "registration": row.attempt_id,
            "contextActivities": {
                "parent": [{"objectType": "Activity", "id": case, "definition": {
                    "type": SIMULATION, "name": {"en-US": row.case_id}}}],
                "grouping": [{"objectType": "Activity", "id":
                              f"{base}/guidelines/{row.guideline_id}/{row.guideline_version}"}],
                "category": [{"objectType": "Activity", "id": VIRTUAL_PATIENT_PROFILE}],
            },
            "extensions": context_ext,
        },
        "timestamp": _when(row.submitted_at),
    }


def statements(engine: Engine, base_url: str = DEFAULT_BASE_URL,
               **filters: records.When) -> list[dict[str, Any]]:
    """One statement per recorded decision, oldest first; filters as in `casebook.records.frames`."""
    subs = records.submissions(engine, **filters)
    return [statement(row, base_url) for row in subs.itertuples(index=False)]


def write(engine: Engine, out: str | Path, base_url: str = DEFAULT_BASE_URL,
          **filters: records.When) -> Path:
    """Write the statements as one JSON array to `out/statements.json`."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "statements.json"
    path.write_text(json.dumps(statements(engine, base_url, **filters), indent=2,
                               ensure_ascii=False) + "\n")
    return path
