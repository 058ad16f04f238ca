"""Writing the notebooks from the content, and checking that they match it.

Every notebook is a few cells calling `casebook.apps`, so it is generated, never hand-edited:
`casebook notebooks` writes the home page, one app per case, the instructor's answer keys, the
instructor's dashboard, class-session page and presenter view (over live records, so never
run here),
then runs the answer-keys notebook so its `# NBVAL_CHECK_OUTPUT` cells carry their
outputs and nbval can catch any change in a verdict. Output is deterministic (fixed cell
ids and metadata), so regenerating unchanged content changes no file.
`casebook notebooks --check` lists cases with no notebook and notebooks naming no case.
"""

from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager
from html import escape
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from casebook.content.loading import SHIPPED_ROOT, case_ids, content_root, load_library
from casebook.ui.markup import NOTICE

NOTEBOOKS = SHIPPED_ROOT.parent / "notebooks"
KEYS = Path("instructor") / "answer-keys.ipynb"
DASHBOARD = Path("instructor") / "dashboard.ipynb"
SESSION = Path("instructor") / "session.ipynb"
PRESENTER = Path("instructor") / "presenter.ipynb"
CHECK = "# NBVAL_CHECK_OUTPUT\n"
METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
CALL = re.compile(r"""\b(case_app|answer_keys)\(\s*["']([^"']+)["']""")


def _notebook(cells: list) -> nbformat.NotebookNode:
    for number, cell in enumerate(cells):
        cell.id = f"cell-{number}"
    return new_notebook(cells=cells, metadata=json.loads(json.dumps(METADATA)))


# First in a learner's notebook: a kernel warming in Voila's pool loads the records layer before
# the page (and its learner's name) arrives (casebook.records.preheat).
WARM = "from casebook.records.preheat import warm\n\nwarm()\n"


def case_notebook(case_id: str) -> nbformat.NotebookNode:
    """One cell: the player's header carries the title, the notice and the review status."""
    return _notebook([
        new_code_cell(f"{WARM}from casebook.apps import case_app\n\n"
                      f"case_app({json.dumps(case_id)})"),
    ])


def index_notebook() -> nbformat.NotebookNode:
    """One cell: the home page widget carries the title, the notice and the review status."""
    return _notebook([new_code_cell(f"{WARM}from casebook.apps import home_app\n\nhome_app()")])


def keys_notebook(cases: dict[str, str]) -> nbformat.NotebookNode:
    """Per case: its answer key, then a play-through choosing the recommended options."""
    cells = [
        new_markdown_cell(f"# Answer keys (instructors)\n\n*{NOTICE}*\n\nEvery case's key "
                          "and the score of choosing the guideline's recommended options."),
        new_code_cell("from casebook.apps import answer_keys, instructor_header, "
                      "recommended_play\n\ninstructor_header()"),
    ]
    for case_id, title in cases.items():
        cells += [
            new_markdown_cell(f"## {escape(title)} (`{case_id}`)"),
            new_code_cell(f"{CHECK}answer_keys({json.dumps(case_id)})"),
            new_code_cell(f"{CHECK}recommended_play({json.dumps(case_id)})"),
        ]
    return _notebook(cells)


def dashboard_notebook() -> nbformat.NotebookNode:
    """A title with the notice, then one widget: filters, tables and plots over the records."""
    return _notebook([
        new_markdown_cell(f"# Instructor dashboard\n\n*{NOTICE}*\n\nAcross every recorded "
                          "answer: concordance per case and stage, the most-missed decisions and "
                          "what was chosen instead, safety events, confidence against "
                          "correctness, and who may need help. Filter by date and session."),
        new_code_cell("from casebook.dashboard.page import dashboard_app\n\ndashboard_app()"),
    ])


def session_notebook() -> nbformat.NotebookNode:
    """A title with the notice, then the instructor's class-session console; signed in, since
    only the instructors' server (which asks for a login) serves it."""
    return _notebook([
        new_markdown_cell(f"# Class session\n\n*{NOTICE}*\n\nStart a session on a case (or "
                          "reopen a running one), put its presenter view on the projector, then "
                          "move the room through the case: open voting, close, re-vote, reveal, "
                          "next stage. The key shows here only if you ask for it."),
        new_code_cell("from casebook.sessions.console import session_console\n\n"
                      "session_console(signed_in=True)"),
    ])


def presenter_notebook() -> nbformat.NotebookNode:
    """One widget: the projector's view of the session named by `?session=CODE`."""
    return _notebook([
        new_code_cell("from casebook.sessions.presenter import presenter_view\n\n"
                      "presenter_view()"),
    ])


def content_cases(root: Path | None = None) -> dict[str, str]:
    """Case id -> title for every case the content declares (its id if it fails to load)."""
    root = root or content_root()
    titles = {c.id: c.title for c in load_library(root).cases.values()}
    ids = set(titles) | set(case_ids(root))
    return {case_id: titles.get(case_id, case_id) for case_id in sorted(ids)}


def _write(path: Path, nb: nbformat.NotebookNode) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return path


def write_notebooks(out: Path = NOTEBOOKS, root: Path | None = None,
                    execute: bool = True) -> list[Path]:
    """(Re)write every notebook; remove generated case notebooks that name no case."""
    root = root or content_root()
    cases = content_cases(root)
    written = [_write(out / "index.ipynb", index_notebook())]
    for case_id in cases:
        written.append(_write(out / "cases" / f"{case_id}.ipynb", case_notebook(case_id)))
    for path in sorted((out / "cases").glob("*.ipynb")):
        if path not in written and _names(path) and not _names(path) & set(cases):
            path.unlink()
    written.append(_write(out / DASHBOARD, dashboard_notebook()))
    written.append(_write(out / SESSION, session_notebook()))
    written.append(_write(out / PRESENTER, presenter_notebook()))
    keys = keys_notebook(cases)
    if execute:
        keys = execute_notebook(keys, out / KEYS.parent, root)
    written.append(_write(out / KEYS, keys))
    return written


@contextmanager
def _content_env(root: Path):
    before = os.environ.get("CASEBOOK_CASES")
    os.environ["CASEBOOK_CASES"] = str(root)
    try:
        yield
    finally:
        if before is None:
            del os.environ["CASEBOOK_CASES"]
        else:
            os.environ["CASEBOOK_CASES"] = before


def execute_notebook(nb: nbformat.NotebookNode, cwd: Path, root: Path) -> nbformat.NotebookNode:
    """Run `nb` in a fresh kernel against the content at `root`; outputs kept, timings not."""
    from nbclient import NotebookClient

    cwd.mkdir(parents=True, exist_ok=True)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(cwd)}})
    with _content_env(root):
        client.execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = _coalesced(cell.outputs)
    nb.metadata = json.loads(json.dumps(METADATA))
    return nb


def _coalesced(outputs: list) -> list:
    """Consecutive stream outputs joined, so output does not depend on when the kernel flushed."""
    merged: list = []
    for output in outputs:
        last = merged[-1] if merged else None
        if (output.output_type == "stream" and last is not None
                and last.output_type == "stream" and last.name == output.name):
            last.text += output.text
        else:
            merged.append(output)
    return merged


def _names(path: Path) -> set[str]:
    """The case ids a notebook's code cells name (in `case_app(...)` or `answer_keys(...)`)."""
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as exc:
        return {f"<unreadable: {exc}>"}
    return {m.group(2) for c in nb.cells if c.cell_type == "code" for m in CALL.finditer(c.source)}


def check_notebooks(out: Path = NOTEBOOKS, root: Path | None = None) -> list[str]:
    """Every mismatch between the content's cases and the notebooks; empty when they agree."""
    cases = set(content_cases(root))
    problems = []
    named_by: dict[str, set[str]] = {}
    for path in sorted((out / "cases").glob("*.ipynb")):
        names = _names(path)
        named_by[path.stem] = names
        if not names & cases:
            problems.append(f"notebook {path.relative_to(out)} names no case")
    for case_id in sorted(cases):
        if case_id not in named_by.get(case_id, set()):
            problems.append(f"case {case_id} has no notebook (expected cases/{case_id}.ipynb)")
    keyed = _names(out / KEYS) if (out / KEYS).exists() else set()
    problems += [f"{KEYS} has no answer key for case {c}" for c in sorted(cases - keyed)]
    problems += [f"{KEYS} names no case {c!r}" for c in sorted(keyed - cases)]
    if not (out / "index.ipynb").exists():
        problems.append("index.ipynb is missing")
    return problems
