"""The authors' and hosts' commands: `casebook new`, `casebook serve`, `casebook lab`.

Apart from casebook/cli.py so that the command line stays a thin wrapper of short modules;
each imports what it runs (Voila, JupyterLab) only when run, so `casebook validate` stays quick.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from casebook.content.loading import load_library
from casebook.content.roots import (
    CASES_SETTING,
    NOTEBOOKS_SETTING,
    content_root,
    require_content,
    require_folder,
)
from casebook.errors import CasebookError


def content_folder() -> Path:
    """The cases folder in use, or one line naming the setting when it is missing."""
    return require_folder(content_root(), CASES_SETTING, "cases")


def cmd_new(args: argparse.Namespace) -> int:
    from casebook.rules.scaffold import write_scaffold

    root = Path(args.cases[-1]) if args.cases else content_folder()
    library = load_library(root)
    path = write_scaffold(library, args.case_id, args.guideline, args.context,
                          Path(args.out) if args.out else root)
    print(path)
    print(f"Next: write each `# TODO` field, then `casebook validate {path}`", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    if args.content:  # the kernels inherit the settings, so they read the same cases
        folders = {s: (Path(args.content) / n).resolve()
                   for s, n in [(CASES_SETTING, "cases"), (NOTEBOOKS_SETTING, "notebooks")]}
        if not all(f.is_dir() for f in folders.values()):
            raise CasebookError(f"--content {args.content}: needs both cases/ and notebooks/ in it")
        os.environ.update({s: str(f) for s, f in folders.items()})
    _, notebooks = require_content()
    from casebook.serve.servers import main as serve  # Voila only here: other commands stay quick

    return serve([f"--port={args.port}", f"--notebooks={notebooks.resolve()}"])


def cmd_lab(args: argparse.Namespace) -> int:
    from casebook.serve.lab import main as lab

    return lab(args.lab_args)


def authoring_commands(sub: argparse._SubParsersAction) -> None:
    new = sub.add_parser("new", help="scaffold a draft case: findings and options from the "
                         "guideline, TODO lines for what to write")
    new.set_defaults(func=cmd_new)
    new.add_argument("case_id", metavar="CASE_ID")
    new.add_argument("--guideline", required=True, metavar="GUIDELINE[@VERSION]")
    new.add_argument("--context", required=True, help="one of the guideline's contexts")
    new.add_argument("--out", metavar="DIR", help="folder to write into (default: the cases folder)")
    new.add_argument("--cases", action="append", metavar="PATH",
                     help="content folder (default: $CASEBOOK_CASES, else the shipped cases/)")
    serve = sub.add_parser("serve", help="serve the casebook: learners on --port, instructors "
                           "on --port + 1 (Ctrl-C stops both)")
    serve.set_defaults(func=cmd_serve)
    serve.add_argument("--port", type=int, default=8866, help="learners' port (8866)")
    serve.add_argument("--content", metavar="DIR", help="a folder holding cases/ and notebooks/ "
                       "(default: $CASEBOOK_CASES and $CASEBOOK_NOTEBOOKS, else the shipped ones)")
    lab = sub.add_parser("lab", help="JupyterLab for authors; its Voila preview uses the "
                         "casebook's page, nothing fetched (needs casebook[author])")
    lab.set_defaults(func=cmd_lab)
    lab.epilog = "Any further argument goes to `jupyter lab`, e.g. casebook lab --port=8888"
