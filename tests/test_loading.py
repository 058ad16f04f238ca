"""Loader details: dates stay text, yes/no words are not booleans, the schema export is current."""

import json

from casebook.content.loading import SHIPPED_ROOT, read_yaml
from casebook.content.models import Case, Guideline
from casebook.content.schema import DIALECT, schema_id


def test_dates_stay_strings_and_yes_stays_a_word(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("last_reviewed: 2026-01-02\nanswer: yes\nflag: true\n")
    data, problems = read_yaml(path)
    assert problems == [] and data == {"last_reviewed": "2026-01-02", "answer": "yes", "flag": True}


def test_unreadable_and_non_utf8_files_are_problems_not_crashes(tmp_path):
    missing, _ = read_yaml(tmp_path / "none.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"ok: 1\nbad: \xff\xfe\x00\n")
    assert missing is None
    assert read_yaml(binary)[1][0].message == "is not UTF-8 text: byte 0xff at line 2"


def test_exported_json_schema_matches_the_models():
    for name, model in [("guideline", Guideline), ("case", Case)]:
        shipped = json.loads((SHIPPED_ROOT / "schema" / f"{name}.schema.json").read_text())
        assert shipped == {"$schema": DIALECT, "$id": schema_id(name), **model.model_json_schema()}, (
            "run `casebook schema`")
