"""Names in another script: the Latin spelling of the passport's data page is asked for, checked
against the native name, and is the source of the MRZ form (issue 15, SPEC §6 Names)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from eta.authorisations.issue import mrz_names
from eta.extensions import db
from eta.models import Application
from tests.factories import valid_payload

URL = "/api/v1/applications"


def test_a_non_latin_name_without_its_latin_spelling_is_refused_field_by_field(client):
    response = client.post(URL, json=valid_payload(given_names="محمد", surname="العلي"))
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"latin_given_names", "latin_surname"}


def test_the_mrz_form_and_the_token_names_come_from_the_latin_name(client):
    payload = valid_payload(
        given_names="محمد", surname="العلي", latin_given_names="Mohammed", latin_surname="Al-Ali"
    )
    response = client.post(URL, json=payload)
    assert response.status_code == 202, response.get_json()
    with client.application.app_context():
        saved = db.session.scalar(select(Application))
        # The native name is kept (screening reads it); the MRZ form is the passport's.
        assert (saved.given_names, saved.surname) == ("محمد", "العلي")
        assert (saved.latin_given_names, saved.latin_surname) == ("Mohammed", "Al-Ali")
        assert (saved.surname_mrz, saved.given_names_mrz) == ("AL ALI", "MOHAMMED")
        assert mrz_names(saved) == ("AL ALI", "MOHAMMED")  # what the token's nam carries


def test_a_latin_name_of_someone_else_is_refused(client):
    payload = valid_payload(
        given_names="Иван", surname="Петров", latin_given_names="Anna", latin_surname="Eriksson"
    )
    response = client.post(URL, json=payload)
    assert response.status_code == 422
    assert "do not match" in response.get_json()["errors"]["latin_surname"][0]


def test_the_latin_fields_must_be_in_latin_letters(client):
    payload = valid_payload(
        given_names="Иван", surname="Петров", latin_given_names="Иван", latin_surname="Petrov"
    )
    errors = client.post(URL, json=payload).get_json()["errors"]
    assert list(errors) == ["latin_given_names"]


def test_a_latin_name_needs_no_second_spelling(client):
    response = client.post(URL, json=valid_payload(given_names="Anna Maria", surname="Müller"))
    assert response.status_code == 202
    with client.application.app_context():
        saved = db.session.scalar(select(Application))
        assert saved.latin_surname is None and saved.surname_mrz == "MUELLER"


def _fill_date(page: Any, field: str, day: dt.date) -> None:
    page.fill(f"#{field}", str(day.day))
    page.fill(f"#{field}-month", str(day.month))
    page.fill(f"#{field}-year", str(day.year))


def _go_on(page: Any) -> None:
    with page.expect_navigation():
        page.click("button[name=continue]")


@pytest.mark.browser
def test_an_arabic_name_asks_for_the_latin_spelling_and_shows_its_mrz(page: Any) -> None:
    page.goto("/apply")
    page.wait_for_url("**/apply/passport")
    page.select_option("#nationality", "SWE")
    page.select_option("#passport-issuing-country", "SWE")
    page.fill("#passport-number", "L898902C3")
    page.fill("#passport-number-confirm", "L898902C3")
    _fill_date(page, "passport-issue-date", dt.date(2022, 4, 16))
    _fill_date(page, "passport-expiry-date", dt.date(2032, 4, 15))
    _go_on(page)
    assert "/apply/personal" in page.url
    page.fill("#given-names", "محمد")
    page.fill("#surname", "العلي")
    page.check("#sex")
    _fill_date(page, "date-of-birth", dt.date(1974, 8, 12))
    page.fill("#place-of-birth", "Dubai")
    _go_on(page)
    summary = page.locator(".eta-error-summary").inner_text()
    assert "Enter your given names as they are printed in Latin letters" in summary
    page.fill("#latin-given-names", "Mohammed")
    page.fill("#latin-surname", "Al-Ali")
    _go_on(page)
    assert "/apply/contact" in page.url
    page.goto("/apply/check")
    # Not yet complete: Check your answers sends the traveller to the first missing page.
    page.goto("/apply/personal?return=check")
    assert page.input_value("#latin-surname") == "Al-Ali"


@pytest.mark.browser
def test_check_your_answers_shows_the_mrz_of_the_latin_name(page: Any, live_server: str) -> None:
    page.goto("/apply")
    page.wait_for_url("**/apply/passport")
    answers = {
        "nationality": "SWE",
        "passport-issuing-country": "SWE",
        "passport-number": "L898902C3",
        "passport-number-confirm": "L898902C3",
    }
    for field, value in answers.items():
        if field in ("nationality", "passport-issuing-country"):
            page.select_option(f"#{field}", value)
        else:
            page.fill(f"#{field}", value)
    _fill_date(page, "passport-issue-date", dt.date(2022, 4, 16))
    _fill_date(page, "passport-expiry-date", dt.date(2032, 4, 15))
    _go_on(page)
    page.fill("#given-names", "محمد")
    page.fill("#surname", "العلي")
    page.fill("#latin-given-names", "Mohammed")
    page.fill("#latin-surname", "Al-Ali")
    page.check("#sex")
    _fill_date(page, "date-of-birth", dt.date(1974, 8, 12))
    page.fill("#place-of-birth", "Dubai")
    _go_on(page)
    page.fill("#email", "m@example.org")
    _go_on(page)
    page.fill("#home-address-line1", "1 Street")
    page.fill("#home-address-city", "Dubai")
    page.select_option("#home-address-country", "ARE")
    _go_on(page)
    page.fill("#occupation", "Engineer")
    _go_on(page)
    page.check("#travel-purpose")
    _fill_date(page, "travel-intended-arrival", dt.date.today() + dt.timedelta(days=40))
    _go_on(page)
    for question in ("criminal-conviction", "previous-refusal", "removed-or-deported"):
        page.check(f"#answers-{question}-2")
    page.check("#answers-conflict-zone-travel-2")
    _go_on(page)
    page.check("#declaration")
    _go_on(page)
    assert "/apply/photo" in page.url  # the photo page: on without one
    with page.expect_navigation():
        page.click("main form a[href='/apply/check']")
    assert "/apply/check" in page.url
    main = page.inner_text("main")
    assert "AL<ALI<<MOHAMMED" in main
    assert "ALELY" not in main and "MXHMD" not in main
