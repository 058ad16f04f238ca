"""Shared fixtures: the mini guideline and case that the unit tests' worked examples use."""

from pathlib import Path

import pytest

from casebook.content.loading import load_library

pytest_plugins = ["postgres"]  # tests/postgres.py: real PostgreSQL, `db_url`, `connect`

FIXTURES = Path(__file__).parent / "fixtures"
VALID = FIXTURES / "valid"
BROKEN = FIXTURES / "broken"


@pytest.fixture(scope="session")
def mini_library():
    library = load_library(VALID)
    assert not library.problems
    return library


@pytest.fixture(scope="session")
def mini(mini_library):
    return mini_library.guidelines[("mini", "1.0.0")]


@pytest.fixture(scope="session")
def mini_case(mini_library):
    return mini_library.cases["mini-case"]
