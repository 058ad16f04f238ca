"""JSON Schema of the file formats, so editors can autocomplete guideline and case files."""

from __future__ import annotations

import json
from pathlib import Path

from casebook.content.models import Case, Guideline


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in [("guideline", Guideline), ("case", Case)]:
        path = folder / f"{name}.schema.json"
        path.write_text(json.dumps(model.model_json_schema(), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
