"""The public statistics page: totals per month and nationality, small cells suppressed."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from eta import applications
from tests.factories import refused_application, submitted_application


def _cells(page: str, country: str) -> list[str]:
    row = re.search(rf"<th scope=\"row\">{country}</th>(.*?)</tr>", page, re.S)
    assert row is not None, country
    return [cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def test_counts_below_the_minimum_are_suppressed_and_no_person_is_shown(
    session: Any, client: FlaskClient
) -> None:
    for n in range(12):
        application = submitted_application(
            session, passport_number=f"S{n:07d}", passport_number_normalised=f"S{n:07d}"
        )
        applications.start_screening(session, application)
        applications.approve(session, application)
    for n in range(3):
        submitted_application(
            session,
            nationality="FRA",
            passport_issuing_country="FRA",
            passport_number=f"F{n:07d}",
            passport_number_normalised=f"F{n:07d}",
            given_names="Jean",
            surname="Dupont",
            email="jean@example.org",
        )
    refused_application(
        session,
        passport_number="S9999999",
        passport_number_normalised="S9999999",
    )

    page = client.get("/statistics")

    assert page.status_code == 200
    sweden = _cells(page.text, "Sweden")
    # 13 applications and 12 approvals are shown; 1 refusal is not; the median over 13 is.
    assert sweden[:2] == ["13", "12"]
    assert sweden[2] == "fewer than 10"
    assert re.fullmatch(r"\d+\.\d", sweden[3])
    france = _cells(page.text, "France")
    assert france == ["fewer than 10", "fewer than 10", "fewer than 10", "not shown"]
    for personal in ("Eriksson", "Anna", "Dupont", "L898902C3", "S0000001", "example.org", "1974"):
        assert personal not in page.text


def test_the_minimum_is_configurable(
    session: Any, client: FlaskClient, app: Any, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "ETA_STATS_MIN_COUNT", 3)
    for n in range(3):
        submitted_application(
            session, passport_number=f"S{n:07d}", passport_number_normalised=f"S{n:07d}"
        )
    page = client.get("/statistics")
    assert _cells(page.text, "Sweden")[:3] == ["3", "fewer than 3", "fewer than 3"]
