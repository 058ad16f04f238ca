"""The `casebook` command: a thin wrapper over the package's public functions."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from casebook import __version__
from casebook.authoring_cli import authoring_commands, cmd_lab, content_folder
from casebook.content.loading import SHIPPED_ROOT, Library, load_library
from casebook.content.models import Case, Guideline
from casebook.errors import CasebookError
from casebook.rules.engine import evaluate
from casebook.rules.scoring import answer_key, score_case
from casebook.rules.tables import evaluation_rows, key_rows, result_rows
from casebook.rules.validation import validate


def _library(args: argparse.Namespace) -> Library:
    library = load_library(*(args.cases or [content_folder()]))
    if validate(library):
        raise CasebookError("the content does not validate; run `casebook validate`")
    return library


def _case(library: Library, case_id: str) -> tuple[Case, Guideline]:
    case = library.cases.get(case_id)
    if case is None:
        raise CasebookError(f"no case {case_id!r}; known: {', '.join(sorted(library.cases))}")
    return case, library.guideline_for(case)


def _guideline(library: Library, ref: str) -> Guideline:
    gid, _, version = ref.partition("@")
    found = [g for (i, v), g in library.guidelines.items() if i == gid and version in ("", v)]
    if not found:
        raise CasebookError(f"no guideline {ref!r}; known: "
                            + ", ".join(f"{i}@{v}" for i, v in library.guidelines))
    return max(found, key=lambda g: tuple(int(p) for p in g.version.split(".")))


def _parse_value(text: str) -> bool | str:
    return {"true": True, "false": False}.get(text.lower(), text)


def _pairs(items: Sequence[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CasebookError(f"{what} {item!r} is not NAME=VALUE")
        out[name] = value
    return out


def _print_rows(rows: list[dict], as_json: bool, columns: Sequence[str] | None = None) -> None:
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    columns = list(columns or (rows[0].keys() if rows else []))
    widths = {c: min(60, max([len(c)] + [len(str(r[c])) for r in rows])) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row[c])[: widths[c]].ljust(widths[c]) for c in columns))


def cmd_validate(args: argparse.Namespace) -> int:
    library = load_library(*(args.paths or [content_folder()]))
    problems = validate(library)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"ok: {len(library.guidelines)} guideline(s), {len(library.cases)} case(s)")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    library = _library(args)
    rows = [
        {"id": c.id, "title": c.title, "guideline": f"{c.guideline.id}@{c.guideline.version}",
         "context": c.context, "stages": len(c.stages), "review": c.review.status.value}
        for c in sorted(library.cases.values(), key=lambda c: c.id)
    ]
    _print_rows(rows, args.json)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    library = _library(args)
    guideline = _guideline(library, args.guideline)
    facts = {k: _parse_value(v) for k, v in _pairs(args.fact, "--fact").items()}
    evaluation = evaluate(guideline, facts)
    rows = evaluation_rows(guideline, evaluation)
    if args.json:
        print(json.dumps({"guideline": guideline.id, "version": guideline.version,
                          "context": evaluation.context, "verdicts": rows}, indent=2))
    else:
        print(f"{guideline.id} {guideline.version}, context {evaluation.context}")
        _print_rows(rows, False, ["action", "verdict", "rule", "citations"])
    return 0


def cmd_key(args: argparse.Namespace) -> int:
    case, guideline = _case(_library(args), args.case)
    rows = key_rows(answer_key(guideline, case))
    _print_rows(rows, args.json, None if args.json else
                ["stage", "option", "action", "verdict", "points", "rule", "citations"])
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    case, guideline = _case(_library(args), args.case)
    answers = {k: [o for o in v.split(",") if o] for k, v in _pairs(args.answers, "--answers").items()}
    result = score_case(guideline, case, answers)
    rows = result_rows(result)
    if args.json:
        print(json.dumps({"case": case.id, "score": round(result.score, 3), "stages": rows,
                          "safety_events": [f"{s}:{o.option}" for s, o in result.safety_events]},
                         indent=2))
    else:
        _print_rows(rows, False)
        print(f"score: {result.score:.3f}   safety events: {len(result.safety_events)}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from casebook.content.schema import write_schemas

    for path in write_schemas(Path(args.out)):
        print(path)
    return 0


def cmd_notebooks(args: argparse.Namespace) -> int:
    from casebook.notebooks import NOTEBOOKS, check_notebooks, write_notebooks

    root = Path(args.cases[-1]) if args.cases else None
    out = Path(args.out) if args.out else NOTEBOOKS
    if args.check:
        problems = check_notebooks(out, root)
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    for path in write_notebooks(out, root, execute=not args.no_execute):
        print(path)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from casebook.records import frames as records
    from casebook.records import store, xapi

    engine = store.connect(args.db)
    filters = dict(case=args.case, since=args.since, until=args.until, session=args.session)
    try:
        if args.format == "csv":
            paths = records.write_csv(engine, args.out, **filters)
        else:
            base_url = args.base_url or xapi.DEFAULT_BASE_URL
            paths = [xapi.write(engine, args.out, base_url, **filters)]
    finally:
        engine.dispose()
    for path in paths:
        print(path)
    return 0


def cmd_rescore(args: argparse.Namespace) -> int:
    from casebook.records import rescore, store

    library = _library(args)
    engine = store.connect(args.db)
    try:
        changes = rescore.plan(engine, library)
        written = rescore.apply(engine, changes) if args.apply and changes.rescored else 0
    finally:
        engine.dispose()
    print("\n".join(rescore.report(changes, applied=args.apply)))
    if args.apply and changes.rescored:
        print(f"wrote {written} submission(s), in one transaction")
    return 0


def cmd_session_new(args: argparse.Namespace) -> int:
    from casebook.records import store
    from casebook.sessions import machine as sessions

    case, _ = _case(_library(args), args.case)
    engine = store.connect(args.db)
    try:
        key = sessions.new_key()
        state = sessions.create(engine, case, key)
    finally:
        engine.dispose()
    print(f"join code: {state.join_code}\ninstructor key: {key}")
    print("Open notebooks/instructor/session.ipynb on the instructors' server with both. The key "
          "is stored only as a hash: it cannot be shown again.", file=sys.stderr)
    return 0


def cmd_session_report(args: argparse.Namespace) -> int:
    from casebook.records import store
    from casebook.sessions import report as session_report

    library = _library(args)
    engine = store.connect(args.db)
    try:
        report = session_report.build(engine, args.code, library)
    finally:
        engine.dispose()
    print(f"session {report.session.join_code}: {report.case.id}, {len(report.votes)} vote(s)")
    _print_rows(session_report.summary_rows(report), False)
    print()
    _print_rows(session_report.option_rows(report), False,
                ["stage", "option", "verdict", "round_1", "round_2", "text"])
    for path in session_report.write_csv(report, args.csv) if args.csv else []:
        print(path)
    return 0


def password_file() -> Path:
    """Where the instructors' server reads its hashed password (casebook/serve/config/voila.py)."""
    import os

    named = os.environ.get("CASEBOOK_INSTRUCTOR_PASSWORD_FILE")
    return Path(named) if named else Path(__file__).resolve().parents[1] / "data" / \
        "instructor-password.json"


def cmd_instructor_password(args: argparse.Namespace) -> int:
    """Hash a password with Jupyter Server's own `passwd` (argon2) for the instructors' login;
    only the hash is written, readable by its owner only."""
    import getpass
    import os

    from jupyter_server.auth import passwd

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Instructors' password: ")
        if getpass.getpass("Again: ") != password:
            raise CasebookError("the two passwords differ; nothing written")
    if len(password) < 8:
        raise CasebookError("the password needs at least 8 characters; nothing written")
    path = password_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"hashed_password": passwd(password)}, f)
    print(f"{path}: written. Restart the servers (make serve); the instructors' port then asks "
          "for this password.")
    return 0


def _session_commands(sub: argparse._SubParsersAction) -> None:
    session = sub.add_parser("session", help="class sessions: start one, report on one")
    commands = session.add_subparsers(dest="session_command", required=True)
    new = commands.add_parser("new", help="start a session on CASE; print its join code and "
                              "the instructor key")
    new.set_defaults(func=cmd_session_new)
    new.add_argument("case")
    report = commands.add_parser("report", help="per stage: distribution, concordance, safety "
                                 "events, median confidence, first vote against re-vote")
    report.set_defaults(func=cmd_session_report)
    report.add_argument("code", metavar="JOIN_CODE")
    report.add_argument("--csv", metavar="DIR", help="also write the tables and votes as CSV")
    for p in (new, report):
        p.add_argument("--db", metavar="URL",
                       help="database URL (default: $CASEBOOK_DB, else data/casebook.db)")
        p.add_argument("--cases", action="append", metavar="PATH",
                       help="content folder or file (default: the shipped cases/)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="casebook", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, func, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help)
        p.set_defaults(func=func)
        if name not in ("validate", "export"):
            p.add_argument("--cases", action="append", metavar="PATH",
                           help="content folder or file (default: the shipped cases/)")
        return p

    p = command("validate", cmd_validate, "check guideline and case files; exit 1 on any problem")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p = command("list", cmd_list, "the cases: id, title, guideline, stages, review status")
    p.add_argument("--json", action="store_true")
    p = command("evaluate", cmd_evaluate, "every action's verdict for a set of findings")
    p.add_argument("guideline", metavar="GUIDELINE[@VERSION]")
    p.add_argument("--fact", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--json", action="store_true")
    p = command("key", cmd_key, "a case's answer key, stage by stage")
    p.add_argument("case")
    p.add_argument("--json", action="store_true")
    p = command("score", cmd_score, "score a play-through")
    p.add_argument("case")
    p.add_argument("--answers", action="append", default=[], metavar="STAGE=OPTION[,OPTION]")
    p.add_argument("--json", action="store_true")
    p = command("schema", cmd_schema, "write the JSON Schema of guideline and case files")
    p.add_argument("--out", default=str(SHIPPED_ROOT / "schema"))
    p = command("notebooks", cmd_notebooks, "write the notebooks from the content and run the "
                "answer keys; --check lists cases and notebooks that do not match")
    p.add_argument("--out", metavar="DIR", help="notebooks folder (default: notebooks/)")
    p.add_argument("--check", action="store_true", help="exit 1 if a case or notebook is unmatched")
    p.add_argument("--no-execute", action="store_true", help="do not run the answer keys")
    p = command("export", cmd_export, "write the recorded attempts and submissions")
    p.add_argument("--format", choices=("csv", "xapi"), default="csv",
                   help="csv: attempts.csv and submissions.csv; xapi: statements.json")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--db", metavar="URL",
                   help="database URL (default: $CASEBOOK_DB, else data/casebook.db)")
    p.add_argument("--case", metavar="CASE_ID")
    p.add_argument("--since", metavar="DATE", help="from this date or ISO time on")
    p.add_argument("--until", metavar="DATE", help="up to this date (the whole day) or time")
    p.add_argument("--session", metavar="ID_OR_CODE", help="one teaching session only")
    p.add_argument("--base-url", help="xapi: the address the casebook is served from, for "
                   "activity ids (default: http://127.0.0.1:8866, as `make serve`)")
    p = command("rescore", cmd_rescore, "re-score recorded submissions under the current "
                "scoring rule: show what changes; --apply writes it")
    p.add_argument("--db", metavar="URL",
                   help="database URL (default: $CASEBOOK_DB, else data/casebook.db)")
    p.add_argument("--apply", action="store_true", help="write the new points and rule version")
    _session_commands(sub)
    p = sub.add_parser("instructor-password", help="set the password the instructors' server "
                       "asks for (stored hashed, in $CASEBOOK_INSTRUCTOR_PASSWORD_FILE, else "
                       "data/instructor-password.json)")
    p.set_defaults(func=cmd_instructor_password)
    p.add_argument("--password-stdin", action="store_true", help="read it from standard input")
    authoring_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.func is not cmd_lab:  # only `casebook lab` passes arguments on
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.lab_args = extra
    try:
        return args.func(args)
    except CasebookError as exc:
        print(f"casebook: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
