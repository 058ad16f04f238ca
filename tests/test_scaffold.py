"""`casebook new`: for every shipped guideline and context, a scaffold that validation
explains field by field, and that validates once those fields are written."""

import json
import re
import shutil

import pytest

from casebook.cli import main
from casebook.content.loading import SHIPPED_ROOT, load_library
from casebook.content.schema import SCHEMA_LINES, schema_id
from casebook.rules.scoring import answer_key
from casebook.rules.validation import validate

SHIPPED = load_library(SHIPPED_ROOT)
PAIRS = [(g.id, c.id) for g in SHIPPED.guidelines.values() for c in g.contexts]
LEVELS = ("student", "resident", "attending")
TODO = re.compile(r"^(\s*)# TODO (\w+):(.*)$")


@pytest.fixture
def content(tmp_path, monkeypatch):
    root = tmp_path / "cases"
    shutil.copytree(SHIPPED_ROOT, root)
    monkeypatch.setenv("CASEBOOK_CASES", str(root))
    return root


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def fill_in(text: str) -> str:
    """What an author does: each `# TODO field:` line written, each option given its text."""
    lines = []
    for line in text.splitlines():
        todo = TODO.match(line)
        if todo and todo[2] == "vignette":
            lines += [f"{todo[1]}vignette: |", f"{todo[1]}  A patient."]
        elif todo and todo[2] == "shown_by":
            lines.append(f"{todo[1]}shown_by:")
            reveal = next(x for x in reversed(lines) if x.strip().startswith("reveal:"))
            names = re.findall(r"(\w+):", reveal.split("reveal:")[1].split("#")[0])
            lines += [f"{todo[1]}  {n}: A patient." for n in names]
        elif todo and todo[2] == "explain":
            lines.append(f"{todo[1]}explain:")
            lines += [f"{todo[1]}  {level}: Taught for the {level}." for level in LEVELS]
        elif todo and todo[2] == "teaching_points":
            lines += [f"{todo[1]}teaching_points:", f"{todo[1]}  - {{text: A point., references: [1]}}"]
        elif todo:
            lines.append(f"{todo[1]}{todo[2]}: Written by the author")
        elif line.startswith("#   "):
            continue  # the commented example under a TODO
        else:
            lines.append(line.replace("}   # TODO text:", ", text: Worded}   #"))
    return "\n".join(lines) + "\n"


def test_there_are_pairs_to_scaffold():
    assert len(PAIRS) >= 16


@pytest.mark.parametrize(("guideline", "context"), PAIRS, ids=[f"{g}/{c}" for g, c in PAIRS])
def test_new_then_validate_lists_what_to_write_then_passes(capsys, content, guideline, context):
    code, out, err = run(capsys, "new", "a-new-case", "--guideline", guideline, "--context", context)
    path = content / "a-new-case.yaml"
    assert (code, out.strip()) == (0, str(path)) and "casebook validate" in err
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=schema/case.schema.json\n")
    assert "status: draft, reviewers: []" in text

    code, out, _ = run(capsys, "validate")
    assert code == 1
    problems = out.strip().splitlines()
    assert all(p.startswith(f"{path}:") for p in problems)
    fields = {p.split(":")[1] for p in problems}
    missing = {p.split(":")[1] for p in problems if p.endswith(": required field is missing")}
    assert {"title", "question", "audience", "vignette", "teaching_points",
            "stages[0].narrative", "stages[0].options[0].text", "stages[1].question"} <= missing
    # anything else can only be a teaching field the TODO lines name (checked once the case parses)
    assert {f for f in fields - missing if ".shown_by" not in f and not f.endswith(".explain")} == set()
    assert "# TODO explain:" in text and ("reveal:" not in text or "# TODO shown_by:" in text)

    path.write_text(fill_in(text))
    code, out, _ = run(capsys, "validate")
    assert (code, out.strip()) == (0, f"ok: {len(SHIPPED.guidelines)} guideline(s), "
                                      f"{len(SHIPPED.cases) + 1} case(s)")
    library = load_library(content)
    case = library.cases["a-new-case"]
    assert case.context == context and case.review.status.value == "draft"
    keys = answer_key(library.guideline_for(case), case)
    assert all(key.context == context for key in keys)


def test_an_existing_id_is_refused(capsys, content):
    code, _, err = run(capsys, "new", "rl-no-red-flags", "--guideline", "reversed-lordosis",
                       "--context", "no_red_flags")
    assert code == 1 and "case 'rl-no-red-flags' exists already" in err and "Traceback" not in err
    assert validate(load_library(content)) == []


@pytest.mark.parametrize(("argv", "message"), [
    (["--guideline", "no-such", "--context", "x"],
     "casebook: no guideline 'no-such'; known: "
     + ", ".join(sorted(f"{g}@{v}" for g, v in SHIPPED.guidelines))),
    (["--guideline", "normal-mri", "--context", "no_such"],
     "casebook: normal-mri has no context 'no_such'; known: cspine_trauma_obtunded, "),
    (["--guideline", "normal-mri@9.9.9", "--context", "low_back_pain"],
     "casebook: no guideline 'normal-mri@9.9.9'; known: "),
])
def test_an_unknown_guideline_or_context_is_one_clear_line(capsys, content, argv, message):
    code, _, err = run(capsys, "new", "fresh-case", *argv)
    assert code == 1 and err.startswith(message) and len(err.strip().splitlines()) == 1
    assert not (content / "fresh-case.yaml").exists()


def test_a_bad_id_is_refused(capsys, content):
    code, _, err = run(capsys, "new", "Bad Id", "--guideline", "normal-mri", "--context", "low_back_pain")
    assert code == 1 and "must be lowercase letters, digits, - and _" in err


FILES = sorted(SHIPPED_ROOT.rglob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(SHIPPED_ROOT).as_posix() for p in FILES])
def test_every_shipped_file_names_its_schema_on_its_first_line(path):
    kind = "guideline" if path.parent.name == "guidelines" else "case"
    first = path.read_text().splitlines()[0]
    assert first == SCHEMA_LINES[kind]
    target = (path.parent / first.partition("$schema=")[2]).resolve()
    assert target == (SHIPPED_ROOT / "schema" / f"{kind}.schema.json").resolve() and target.is_file()
    assert json.loads(target.read_text())["$id"] == schema_id(kind)


def test_editor_settings_map_the_same_schemas():
    settings = json.loads((SHIPPED_ROOT.parent / ".vscode" / "settings.json").read_text())
    schemas = settings["yaml.schemas"]
    assert schemas["./cases/schema/guideline.schema.json"] == ["cases/guidelines/*.yaml"]
    assert schemas["./cases/schema/case.schema.json"] == ["cases/*.yaml"]
    assert all((SHIPPED_ROOT.parent / path).is_file() for path in schemas)


def test_an_editors_checkpoint_copy_is_not_content(capsys, content):
    # JupyterLab keeps a copy of each file it edits in .ipynb_checkpoints/ beside it.
    copies = content / ".ipynb_checkpoints"
    copies.mkdir()
    shutil.copy(content / "rl-no-red-flags.yaml", copies / "rl-no-red-flags-checkpoint.yaml")
    code, out, _ = run(capsys, "validate")
    assert (code, out.strip()) == (0, f"ok: {len(SHIPPED.guidelines)} guideline(s), "
                                      f"{len(SHIPPED.cases)} case(s)")


def test_a_red_flag_context_opens_with_its_flag_as_its_existing_case_does(capsys, content):
    assert run(capsys, "new", "ce-2", "--guideline", "reversed-lordosis", "--context", "cauda_equina")[0] == 0
    text = (content / "ce-2.yaml").read_text()
    assert "reveal: {context: cauda_equina, cauda_equina: true}" in text
    assert "(harmful; guideline: Physical therapy" in text  # conservative care, now harmful
