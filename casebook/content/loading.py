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
from casebook.content.yamlcheck import check_events, check_text, field_path
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
    # case files that failed to load: the id they declare (else their file name) -> the id of
    # the guideline they name, if they say; other cases' checks leave these to their own file
    unloaded: dict[str, str | None] = field(default_factory=dict)

    def path_of(self, item: BaseModel) -> str:
        return self.paths.get(id(item), "?")

    def guideline_for(self, case: Case) -> Guideline | None:
        return self.guidelines.get((case.guideline.id, case.guideline.version))

    def raise_for_problems(self) -> None:
        if self.problems:
            raise ContentError(self.problems)


def read_yaml(path: Path) -> tuple[Any, list[Problem]]:
    """The parsed document, or the problems that kept it from parsing, each as
    `path:field: message` (`casebook.content.yamlcheck` says what a file must keep to)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(str(path), "", f"cannot read: {exc.strerror or exc}")]
    text, found = check_text(raw)
    if text is not None:
        found = _parse(text)
    if found:
        return None, [Problem(str(path), where, message) for where, message in found]
    data, message = _construct(text)
    if message:
        return None, [Problem(str(path), "(file)", message)]
    if not isinstance(data, dict):
        return None, [Problem(str(path), "(file)", "must be a mapping of fields at the top level")]
    return data, []


def _parse(text: str) -> list[tuple[str, str]]:
    """The limits the text breaks, or the YAML error that stopped the parser, with its field."""
    loader = _NoDatesSafeLoader(text)
    try:
        return check_events(loader)
    except yaml.YAMLError as exc:
        return [(getattr(exc, "field", "(file)"), _yaml_message(exc, text))]
    finally:
        loader.dispose()


def _construct(text: str) -> tuple[Any, str]:
    """The document's values, or why not; `_parse` has already refused what could fail here,
    so this is belt and braces."""
    loader = _NoDatesSafeLoader(text)  # a SafeLoader: no tag can construct an object
    try:
        return loader.get_single_data(), ""
    except yaml.YAMLError as exc:
        return None, _yaml_message(exc, text)
    except (ValueError, RecursionError) as exc:
        return None, f"a value cannot be read: {str(exc)[:200]}"
    finally:
        loader.dispose()


def _yaml_message(exc: yaml.YAMLError, text: str) -> str:
    mark = getattr(exc, "problem_mark", None)
    if mark is None and isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return f"YAML syntax error at line {line}: {exc.reason}"
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
    reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if "\t" in reason:
        reason += " (indent with spaces: YAML does not allow tabs there)"
    if isinstance(exc, yaml.constructor.ConstructorError):
        return f"YAML tag not allowed at {where}: {reason}"
    return f"YAML syntax error at {where}: {reason}"


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
    return Problem(str(path), field_path(loc), message)


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
        if not problems:
            model = Guideline if _is_guideline(path, data) else Case
            item, problems = validate_structure(path, data, model)
        library.problems += problems
        if problems and not _is_guideline(path, data):
            library.unloaded.update([_declared(path, data)])
        if problems:
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


def _declared(path: Path, data: Any) -> tuple[str, str | None]:
    """What a case file that failed to load says it is: (case id, guideline id or None)."""
    data = data if isinstance(data, dict) else {}
    case_id, guideline = data.get("id"), data.get("guideline")
    guideline_id = guideline.get("id") if isinstance(guideline, dict) else None
    return (case_id if isinstance(case_id, str) else path.stem,
            guideline_id if isinstance(guideline_id, str) else None)


def case_ids(root: str | Path | None = None) -> dict[str, Path]:
    """Every case id the content declares, even in files that fail validation."""
    found: dict[str, Path] = {}
    for path in _yaml_files([Path(root or content_root())]):
        data, _ = read_yaml(path)
        if data and not _is_guideline(path, data) and isinstance(data.get("id"), str):
            found.setdefault(data["id"], path)
    return found
