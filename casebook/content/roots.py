"""Where the content is: the cases folder and the notebooks folder, and one clear error
when a setting points at neither.

A checkout (an editable install, the tests) uses its own cases/ and notebooks/; a wheel
carries a copy of both in casebook/_content/ (setup.py puts it there at build time), so a
plain `pip install` serves the shipped cases from any folder. `CASEBOOK_CASES` and
`CASEBOOK_NOTEBOOKS` point the package at other folders (`casebook serve --content DIR`
sets both).
"""

from __future__ import annotations

import os
from pathlib import Path

from casebook.errors import CasebookError

PACKAGE = Path(__file__).resolve().parents[1]
CASES_SETTING = "CASEBOOK_CASES"
NOTEBOOKS_SETTING = "CASEBOOK_NOTEBOOKS"


def shipped_content(package: Path = PACKAGE) -> Path:
    """The folder holding the shipped cases/ and notebooks/ for a package at `package`."""
    checkout = package.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "cases").is_dir():
        return checkout
    return package / "_content"


SHIPPED_ROOT = shipped_content() / "cases"
SHIPPED_NOTEBOOKS = SHIPPED_ROOT.parent / "notebooks"


def content_root() -> Path:
    """The content folder: `CASEBOOK_CASES` if set (tests point it at altered copies)."""
    return Path(os.environ.get(CASES_SETTING) or SHIPPED_ROOT)


def notebooks_root() -> Path:
    """The notebooks folder served: `CASEBOOK_NOTEBOOKS` if set, else the shipped one."""
    return Path(os.environ.get(NOTEBOOKS_SETTING) or SHIPPED_NOTEBOOKS)


def require_folder(path: Path, setting: str, what: str) -> Path:
    """`path` if it is a folder; else one line saying which setting to change, since a
    missing folder would otherwise surface as Voila's or the loader's own puzzling error."""
    if not path.is_dir():
        source = f"from ${setting}" if os.environ.get(setting) else "the shipped default"
        raise CasebookError(f"no {what} folder at {path} ({source}): "
                            f"set {setting} to the casebook's {what} folder")
    return path


def require_content() -> tuple[Path, Path]:
    """The cases and notebooks folders, both checked to exist."""
    return (require_folder(content_root(), CASES_SETTING, "cases"),
            require_folder(notebooks_root(), NOTEBOOKS_SETTING, "notebooks"))
