"""Reading guideline and case files safely, collecting every problem instead of stopping.

YAML goes through `yaml.SafeLoader` only (so `!!python/...` tags are refused), with dates
left as strings, as papermill's NoDatesSafeLoader does, because a review date must stay the
text the author wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from casebook.content.models import Case, Guideline
from casebook.content.roots import SHIPPED_ROOT, content_root  # noqa: F401 (also imported from here)
from casebook.errors import ContentError, Problem


class _NoDatesSafeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when built
    pass


# Dates stay text, and only `true`/`false` are booleans: `yes`, `no`, `on`, `off` stay words,
# so a finding value like `no` can never silently turn into False.
_DROPPED = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool"}
_NoDatesSafeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_NoDatesSafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass
class Library:
    """Every guideline and case under a folder, with the problems met on the way."""

    guidelines: dict[tuple[str, str], Guideline] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)
    paths: dict[int, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def path_of(self, item: BaseModel) -> str:
        return self.paths.get(id(item), "?")

    def guideline_for(self, case: Case) -> Guideline | None:
        return self.guidelines.get((case.guideline.id, case.guideline.version))

    def raise_for_problems(self) -> None:
        if self.problems:
            raise ContentError(self.problems)


def read_yaml(path: Path) -> tuple[Any, list[Problem]]:
    """The parsed document, or the problems that kept it from parsing."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, [Problem(str(path), "", f"cannot read: {exc.strerror or exc}")]
    except UnicodeDecodeError:
        return None, [Problem(str(path), "", "is not UTF-8 text")]
    try:
        loader = _NoDatesSafeLoader(text)  # a SafeLoader: no tag can construct an object
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if isinstance(exc, yaml.constructor.ConstructorError):
            return None, [Problem(str(path), "", f"YAML tag not allowed at {where}: {reason}")]
        return None, [Problem(str(path), "", f"YAML syntax error at {where}: {reason}")]
    if not isinstance(data, dict):
        return None, [Problem(str(path), "", "must be a mapping of fields at the top level")]
    return data, []


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse(path: Path, model: type[BaseModel]) -> tuple[Any, list[Problem]]:
    """Read one file into `model`; every structural problem comes back as a Problem."""
    data, problems = read_yaml(path)
    return (None, problems) if problems else validate_structure(path, data, model)


def validate_structure(path: Path, data: Any, model: type[BaseModel]) -> tuple[Any, list[Problem]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, [_problem(path, err) for err in exc.errors()]


def _problem(path: Path, err: Any) -> Problem:
    # Union members report under their class name (e.g. "Is", "All"); drop those from the path.
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p[:1].isupper()))
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        message = "unknown field"
    elif err["type"] == "missing":
        message = "required field is missing"
    return Problem(str(path), _field_path(loc), message)


def load_guideline(path: str | Path) -> Guideline:
    guideline, problems = parse(Path(path), Guideline)
    if problems:
        raise ContentError(problems)
    return guideline


def load_case(path: str | Path) -> Case:
    case, problems = parse(Path(path), Case)
    if problems:
        raise ContentError(problems)
    return case


def _yaml_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        # Hidden folders are editors' copies (JupyterLab's .ipynb_checkpoints/), not content.
        files += sorted(f for f in path.rglob("*.yaml") if not any(
            part.startswith(".") for part in f.relative_to(path).parts)) if path.is_dir() else [path]
    return files


def _is_guideline(path: Path, data: Any) -> bool:
    return path.parent.name == "guidelines" or (isinstance(data, dict) and "rules" in data)


def load_library(*paths: str | Path) -> Library:
    """Load every guideline and case file under `paths` (by default `content_root()`)."""
    library = Library()
    for path in _yaml_files([Path(p) for p in paths] or [content_root()]):
        if not path.exists():
            library.problems.append(Problem(str(path), "", "no such file"))
            continue
        data, problems = read_yaml(path)
        if problems:
            library.problems += problems
            continue
        model = Guideline if _is_guideline(path, data) else Case
        item, problems = validate_structure(path, data, model)
        library.problems += problems
        if item is None:
            continue
        library.paths[id(item)] = str(path)
        if isinstance(item, Guideline):
            key = (item.id, item.version)
            if key in library.guidelines:
                library.problems.append(Problem(str(path), "id", f"guideline {key} is defined twice"))
            library.guidelines[key] = item
        else:
            if item.id in library.cases:
                library.problems.append(Problem(str(path), "id", f"case {item.id!r} is defined twice"))
            library.cases[item.id] = item
    return library


def case_ids(root: str | Path | None = None) -> dict[str, Path]:
    """Every case id the content declares, even in files that fail validation."""
    found: dict[str, Path] = {}
    for path in _yaml_files([Path(root or content_root())]):
        data, _ = read_yaml(path)
        if data and not _is_guideline(path, data) and isinstance(data.get("id"), str):
            found.setdefault(data["id"], path)
    return found
