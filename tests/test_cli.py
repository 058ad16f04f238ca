"""The command line over the mini fixture: output, exit codes, and no tracebacks."""

import json
import subprocess
import sys

import pytest

from casebook.cli import main
from conftest import BROKEN, VALID


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_ok(capsys):
    code, out, _ = run(capsys, "validate", str(VALID))
    assert (code, out.strip()) == (0, "ok: 1 guideline(s), 1 case(s)")


def test_validate_reports_every_problem_and_exits_1(capsys):
    code, out, err = run(capsys, "validate", str(BROKEN), str(VALID))
    assert code == 1
    assert f"{BROKEN}/yaml-syntax-error.yaml:id: YAML syntax error" in out
    assert "problem(s) found" in err and "Traceback" not in out + err


def test_a_python_tag_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    bad = tmp_path / "case.yaml"
    bad.write_text(f'id: !!python/object/apply:os.system ["touch {marker}"]\n')
    proc = subprocess.run([sys.executable, "-m", "casebook", "validate", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout
    assert "YAML tag not allowed" in proc.stdout and not marker.exists()


def test_list_json(capsys):
    code, out, _ = run(capsys, "list", "--cases", str(VALID), "--json")
    [row] = json.loads(out)
    assert code == 0 and row == {"id": "mini-case", "title": row["title"], "guideline": "mini@1.0.0",
                                 "context": "pain", "stages": 3, "review": "draft"}


def test_evaluate_with_facts(capsys):
    code, out, _ = run(capsys, "evaluate", "mini", "--cases", str(VALID), "--fact", "context=pain",
                       "--fact", "fever=true", "--json")
    result = json.loads(out)
    verdicts = {r["action"]: r["verdict"] for r in result["verdicts"]}
    assert code == 0 and result["context"] == "pain"
    assert verdicts == {"rest": "harmful", "contrast_mri": "recommended", "surgeon": "recommended",
                        "repeat_mri": "not_indicated"}


def test_key_lists_every_option_with_its_verdict(capsys):
    code, out, _ = run(capsys, "key", "mini-case", "--cases", str(VALID), "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 10
    assert rows[0] == {"stage": "first-visit", "option": "rest", "action": "rest",
                       "verdict": "recommended", "points": 1.0, "rule": "conservative-first",
                       "rationale": "Start with conservative care.", "citations": "[1]"}
    assert all(row.keys() == rows[0].keys() for row in rows)
    assert {r["citations"] for r in rows} >= {"[1]", "[1, 2]"}


def test_score_a_play_through(capsys):
    code, out, _ = run(capsys, "score", "mini-case", "--cases", str(VALID), "--answers",
                       "first-visit=rest", "--answers", "six-weeks=surgeon,contrast",
                       "--answers", "fever=contrast,rest", "--json")
    result = json.loads(out)
    assert code == 0 and result["score"] == pytest.approx(0.667)
    assert result["safety_events"] == ["fever:rest"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["key", "no-such-case"], "no case 'no-such-case'"),
        (["evaluate", "mini", "--fact", "colour=red"], "unknown finding 'colour'"),
        (["evaluate", "mini", "--fact", "context"], "is not NAME=VALUE"),
        (["score", "mini-case", "--answers", "first-visit=zzz"], "no option 'zzz'"),
    ],
)
def test_mistakes_are_one_line_messages(capsys, argv, message):
    code, out, err = run(capsys, *argv, "--cases", str(VALID))
    assert code == 1 and message in err and "Traceback" not in err


def test_commands_refuse_content_that_does_not_validate(capsys):
    code, _, err = run(capsys, "list", "--cases", str(BROKEN))
    assert code == 1 and "run `casebook validate`" in err
