"""JSON Schema of the file formats, so editors can autocomplete guideline and case files.

Each case and guideline file names its schema on its first line
(`# yaml-language-server: $schema=...`, a path relative to the file), and `.vscode/settings.json`
maps the folders to the same files, so an editor needs nothing from the internet.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from casebook.content.models import SCHEMA_VERSION, Case, Guideline

DIALECT = "https://json-schema.org/draft/2020-12/schema"
MODELS: dict[str, type[BaseModel]] = {"guideline": Guideline, "case": Case}
# The line each file starts with, by the folder it sits in (cases/ or cases/guidelines/).
SCHEMA_LINES = {
    "case": "# yaml-language-server: $schema=schema/case.schema.json",
    "guideline": "# yaml-language-server: $schema=../schema/guideline.schema.json",
}


def schema_id(name: str) -> str:
    """A stable identifier, not an address: nothing is ever fetched from it."""
    return f"urn:casebook:schema:{name}:v{SCHEMA_VERSION}"


def json_schema(name: str) -> dict[str, Any]:
    """The model's JSON Schema with its dialect and identifier first."""
    return {"$schema": DIALECT, "$id": schema_id(name), **MODELS[name].model_json_schema()}


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in MODELS:
        path = folder / f"{name}.schema.json"
        path.write_text(json.dumps(json_schema(name), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
