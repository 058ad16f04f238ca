"""Finding and checking one case's files without loading the whole library.

A learner opening a case app waits for this, so it reads only the case, the cases it links
to and its guideline. Files are found by the top-level `id:` (and `version:`) line their
authors write, which is cheap to scan; the files found are then loaded and validated
properly, so a misleading line can only make a case harder to find, never wrongly accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import CasebookError, ContentError, Problem
from .loading import Library, content_root, load_library, parse
from .models import Case, Guideline
from .validation import check_case, check_guideline


@dataclass(frozen=True)
class CaseBundle:
    """A case that passed validation, with its guideline and the titles of related cases."""

    case: Case
    guideline: Guideline
    related_titles: dict[str, str]


def declared(path: Path, key: str) -> str | None:
    """The value of a top-level `key:` line in a YAML file, without parsing the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    match = re.search(rf"^{key}:[ \t]*['\"]?([^'\"#\s]+)", text, re.MULTILINE)
    return match.group(1) if match else None


def _is_guideline_file(path: Path, root: Path) -> bool:
    return "guidelines" in path.relative_to(root).parts[:-1]


def case_files(root: Path | None = None) -> list[Path]:
    root = root or content_root()
    return [p for p in sorted(root.rglob("*.yaml")) if not _is_guideline_file(p, root)]


def guideline_files(root: Path | None = None) -> list[Path]:
    root = root or content_root()
    return [p for p in sorted(root.rglob("*.yaml")) if _is_guideline_file(p, root)]


def case_ids(root: Path | None = None) -> dict[str, Path]:
    """Every case id the content declares, even in files that fail validation."""
    found = {}
    for path in case_files(root):
        case_id = declared(path, "id")
        if case_id:
            found.setdefault(case_id, path)
    return found


def find_case_file(case_id: str, root: Path | None = None) -> Path | None:
    """The file declaring case `case_id`: `<id>.yaml` first, then any case file."""
    root = root or content_root()
    named = root / f"{case_id}.yaml"
    if named.is_file() and declared(named, "id") == case_id:
        return named
    return next((p for p in case_files(root) if declared(p, "id") == case_id), None)


def _guideline_paths(case: Case, root: Path) -> list[Path]:
    """The file(s) of the guideline a case names; all of them if none matches, so that the
    error names the guidelines there are."""
    files = guideline_files(root)
    matching = [
        p for p in files
        if declared(p, "id") == case.guideline.id and declared(p, "version") == case.guideline.version
    ]
    return matching or files


def load_case_bundle(case_id: str, root: Path | None = None) -> CaseBundle:
    """Load and validate one case with what it needs; raise with every problem found.

    Raises `CasebookError` for an unknown case id and `ContentError` (listing every problem,
    structural and graph) for a case or guideline that fails validation.
    """
    root = root or content_root()
    case_path = find_case_file(case_id, root)
    if case_path is None:
        known = ", ".join(sorted(case_ids(root))) or "none"
        raise CasebookError(f"There is no case {case_id!r}. Known cases: {known}.")
    case, problems = parse(case_path, Case)
    if problems:
        raise ContentError(problems)
    if case.id != case_id:
        raise ContentError([Problem(str(case_path), "id", f"declares {case.id!r}, not {case_id!r}")])
    related = [find_case_file(r, root) for r in case.related if r != case_id]
    needed = [case_path, *(p for p in related if p is not None)]
    library = load_library(*needed, *_guideline_paths(case, root))
    return _checked_bundle(library.cases[case_id], library, {str(p) for p in needed})


def _checked_bundle(case: Case, library: Library, case_paths: set[str]) -> CaseBundle:
    guideline = library.guideline_for(case)
    relevant = case_paths | ({library.path_of(guideline)} if guideline else set())
    problems = [p for p in library.problems if p.path in relevant]
    problems += check_case(case, library)
    if guideline is not None:
        problems += check_guideline(guideline, library.path_of(guideline))
    if problems:
        raise ContentError(problems)
    titles = {r: library.cases[r].title for r in case.related if r in library.cases}
    return CaseBundle(case, guideline, titles)
