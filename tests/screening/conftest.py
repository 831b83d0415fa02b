"""Fixtures for screening job tests: a small watchlist, and enqueueing a screening."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

SAMPLE_LIST = """id,full_name,aliases,date_of_birth,nationality,sex,passport_number
T-1,Viktor Aleksandrovich Drozdov,Виктор Дроздов,1968,RUS,M,
T-2,Anna Maria Eriksson,,1950-01-01,NOR,F,
"""


BASELINE_LIST = "id,full_name,date_of_birth,nationality\nB-1,Quentin Zebulon Halvorsen,1931,ISL\n"


# The tests that screen applications end to end (the list tests manage their own lists).
SCREENING_MODULES = {"test_screening_jobs", "test_screening_faults", "test_screening_reads"}


@pytest.fixture(autouse=True)
def _a_watchlist_is_loaded(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Screening refers everyone while no list is loaded (fail closed): load one unrelated
    person for every screening test, unless it is marked `no_watchlist`."""
    if (
        request.module.__name__.rsplit(".", 1)[-1] not in SCREENING_MODULES
        or "app" not in request.fixturenames
        or request.node.get_closest_marker("no_watchlist")
    ):
        return
    session = request.getfixturevalue("session")
    from eta.screening import lists

    path = tmp_path / "baseline.csv"
    path.write_text(BASELINE_LIST, encoding="utf-8")
    lists.import_watchlist(session, source="BASELINE", fmt="csv", path=path, actor="test")


@pytest.fixture
def sample_watchlist(session, tmp_path: Path):
    """A national list with a Russian man (year-only DOB) and a namesake of the ICAO specimen."""
    from eta.screening import lists

    path = tmp_path / "sample.csv"
    path.write_text(SAMPLE_LIST, encoding="utf-8")
    return lists.import_watchlist(session, source="NATIONAL", fmt="csv", path=path, actor="test")


@pytest.fixture
def enqueue_screening(redis) -> Callable[[int], object]:
    """Enqueue an application's screening the way the traveller journey does."""
    from eta.outbox import enqueue
    from eta.tasks import SCREENING

    def put(application_id: int) -> object:
        return enqueue(
            redis,
            SCREENING,
            "workers.screening.screen_application",
            application_id,
            job_id=f"screen-{application_id}",
        )

    return put
