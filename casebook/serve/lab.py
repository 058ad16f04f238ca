"""`casebook lab`: JupyterLab for authors, its Voila preview showing cases as learners see them.

Voila's JupyterLab preview renders through Voila's server extension, which reads neither
casebook/serve/config/voila.py nor our template folder. This starts JupyterLab with two more
Jupyter folders, and nothing else changed:

- data (`JUPYTER_PATH`): config/share, holding the casebook template as a named Voila template,
  `casebook`, on Voila's `lab` (the page that the servers also use: no CDN link);
- config (`JUPYTER_CONFIG_PATH`): config/lab, whose voila.json selects that template with
  sources stripped and tracebacks hidden, and whose jupyter_server_config.json clears the
  MathJax address Voila's extension would otherwise put in the page (a CDN).

It also marks the casebook's notebooks trusted, so the preview opens them without a prompt.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from casebook.content.roots import NOTEBOOKS_SETTING, notebooks_root, require_folder
from casebook.errors import CasebookError

CONFIG_DIR = Path(__file__).resolve().parent / "config"
DATA = CONFIG_DIR / "share"
LAB_CONFIG = CONFIG_DIR / "lab"


def _prepend(path: Path, current: str | None) -> str:
    return os.pathsep.join([str(path), *filter(None, [current])])


def lab_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` with the casebook's Jupyter data and config folders first on their paths."""
    env = dict(environ)
    env["JUPYTER_PATH"] = _prepend(DATA, environ.get("JUPYTER_PATH"))
    env["JUPYTER_CONFIG_PATH"] = _prepend(LAB_CONFIG, environ.get("JUPYTER_CONFIG_PATH"))
    return env


def trust_notebooks(folder: Path) -> list[Path]:
    """Sign the casebook's own notebooks in Jupyter's trust database, as `jupyter trust` does.

    Untrusted, the preview asks first, and its "Render anyway" saves the notebook with
    JupyterLab's metadata, so a generated notebook no longer matches `casebook notebooks`.
    """
    import nbformat
    from nbformat.sign import NotebookNotary

    notary, signed = NotebookNotary(), []
    for path in sorted(folder.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        notebook = nbformat.read(path, as_version=4)
        if not notary.check_signature(notebook):
            notary.sign(notebook)
            signed.append(path)
    return signed


def main(argv: Sequence[str] = ()) -> int:
    """Become JupyterLab, in the current folder, with `argv` (so signals reach it directly)."""
    if importlib.util.find_spec("jupyterlab") is None:
        raise CasebookError("JupyterLab is not installed: pip install 'casebook[author]'")
    trust_notebooks(require_folder(notebooks_root(), NOTEBOOKS_SETTING, "notebooks"))
    os.execve(sys.executable, [sys.executable, "-m", "jupyterlab", *argv], lab_environment(os.environ))
    return 1  # not reached
