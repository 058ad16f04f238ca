"""Shared fixtures: the mini guideline and case that the unit tests' worked examples use; and
`nonempty`, for the lists of shipped content that tests are parametrized over."""

from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

import pytest

from casebook.content.loading import load_library

pytest_plugins = ["postgres"]  # tests/postgres.py: real PostgreSQL, `db_url`, `connect`

FIXTURES = Path(__file__).parent / "fixtures"
VALID = FIXTURES / "valid"
BROKEN = FIXTURES / "broken"
T = TypeVar("T")


def nonempty(items: Iterable[T], what: str) -> list[T]:
    """`items` as a list; none at all fails collection, saying `what` is missing.

    A test parametrized over shipped content (cases, guideline files, seeds) that found none
    would pass by running nothing; this makes that a collection error instead.
    """
    found = list(items)
    if not found:
        pytest.fail(f"nothing to test: {what}", pytrace=False)
    return found


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
