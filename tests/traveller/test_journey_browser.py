"""The whole journey in a real Chromium, in every language, checked by axe-core."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest

from eta.timeutil import today
from tests.accessibility import no_serious_violations

pytestmark = pytest.mark.browser

ARRIVAL = today() + dt.timedelta(days=45)

# One entry a language: the browser's locale, and what the pages must say in it.
WORDS = {
    "en": {
        "locale": "en-GB",
        "start": "Start now",
        "error": "Error:",
        "change": "Change",
        "name": "English",
        "service": "Electronic Travel Authorisation",
        "sweden": "Sweden",
        "no_eta": "You do not need an ETA",
    },
    "fr": {
        "locale": "fr-FR",
        "start": "Commencer",
        "error": "Erreur :",
        "change": "Modifier",
        "name": "Français",
        "service": "Autorisation de voyage électronique",
        "sweden": "Suède",
        "no_eta": "Vous n’avez pas besoin d’ETA",
    },
    "es": {
        "locale": "es-ES",
        "start": "Empezar ahora",
        "error": "Error:",
        "change": "Cambiar",
        "name": "Español",
        "service": "Autorización electrónica de viaje",
        "sweden": "Suecia",
        "no_eta": "No necesita una ETA",
    },
    "de": {
        "locale": "de-DE",
        "start": "Jetzt beginnen",
        "error": "Fehler:",
        "change": "Ändern",
        "name": "Deutsch",
        "service": "Elektronische Reisegenehmigung",
        "sweden": "Schweden",
        "no_eta": "Sie benötigen keine ETA",
    },
    "ar": {
        "locale": "ar-EG",
        "start": "ابدأ الآن",
        "error": "خطأ:",
        "change": "تغيير",
        "name": "العربية",
        "service": "تصريح السفر الإلكتروني",
        "sweden": "السويد",
        "no_eta": "لا تحتاج إلى تصريح سفر إلكتروني",
    },
    "zh": {
        "locale": "zh-CN",
        "start": "立即开始",
        "error": "错误：",
        "change": "修改",
        "name": "中文",
        "service": "电子旅行许可",
        "sweden": "瑞典",
        "no_eta": "您无需电子旅行许可",
    },
}


@pytest.fixture(params=list(WORDS))
def tab(request: pytest.FixtureRequest, browser: Any, live_server: str) -> Iterator[Any]:
    """A page in the given browser language; CSP bypassed only so the test can inject axe."""
    locale = WORDS[request.param]["locale"]
    context = browser.new_context(base_url=live_server, locale=locale, bypass_csp=True)
    page = context.new_page()
    page.language = request.param
    yield page
    context.close()


def fill_date(page: Any, field: str, day: dt.date) -> None:
    page.fill(f"#{field}", str(day.day))
    page.fill(f"#{field}-month", str(day.month))
    page.fill(f"#{field}-year", str(day.year))


def go_on(page: Any) -> None:
    with page.expect_navigation():
        page.click("button[name=continue]")


def test_whole_journey_then_status(tab: Any) -> None:
    page, words = tab, WORDS[tab.language]
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == tab.language
    # Arabic reads right to left, and its pages say so.
    direction = "rtl" if tab.language == "ar" else "ltr"
    assert page.locator("html").get_attribute("dir") == direction
    assert page.evaluate("getComputedStyle(document.body).direction") == direction
    # The switcher marks the language in use, by its own name; the header and title follow.
    assert page.locator(".eta-language-switch [aria-current]").inner_text() == words["name"]
    assert page.locator(".eta-header__service").inner_text() == words["service"]
    assert page.title().endswith(words["service"])
    no_serious_violations(page)
    page.get_by_role("button", name=words["start"]).click()
    page.wait_for_url("**/apply/passport")

    # Passport, with a mistake that is then corrected.
    assert "/apply/passport" in page.url
    no_serious_violations(page)
    assert page.locator("#nationality option[value=SWE]").inner_text() == words["sweden"]
    page.select_option("#nationality", "SWE")
    page.select_option("#passport-issuing-country", "SWE")
    page.fill("#passport-number", "L898")
    page.fill("#passport-number-confirm", "L898902C3")
    fill_date(page, "passport-issue-date", dt.date(2022, 4, 16))
    fill_date(page, "passport-expiry-date", dt.date(2032, 4, 15))
    go_on(page)
    assert page.title().startswith(words["error"])
    summary = page.locator(".eta-error-summary")
    assert summary.is_visible()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.input_value("#passport-expiry-date-year") == "2032"  # what was typed is kept
    # The error bar stands where the reader starts each line: on the right in Arabic.
    start = "Right" if direction == "rtl" else "Left"
    group = "getComputedStyle(document.querySelector('.eta-form-group--error'))"
    assert page.evaluate(f"{group}.border{start}Width") == "5px"
    no_serious_violations(page)
    summary.locator("a[href='#passport-number']").click()
    assert page.evaluate("document.activeElement.id") == "passport-number"
    page.fill("#passport-number", "L898 902-C3")
    go_on(page)

    assert "/apply/personal" in page.url
    no_serious_violations(page)
    page.fill("#given-names", "Anna Maria")
    page.fill("#surname", "Eriksson")
    page.check("#sex")
    fill_date(page, "date-of-birth", dt.date(1974, 8, 12))
    page.fill("#place-of-birth", "Stockholm")
    go_on(page)

    assert "/apply/contact" in page.url
    no_serious_violations(page)
    page.fill("#email", "anna@example.org")
    go_on(page)

    assert "/apply/address" in page.url
    no_serious_violations(page)
    page.fill("#home-address-line1", "Storgatan 1")
    page.fill("#home-address-city", "Stockholm")
    page.select_option("#home-address-country", "SWE")
    go_on(page)

    assert "/apply/occupation" in page.url
    no_serious_violations(page)
    page.fill("#occupation", "Teacher")
    go_on(page)

    assert "/apply/travel" in page.url
    no_serious_violations(page)
    page.check("#travel-purpose")
    fill_date(page, "travel-intended-arrival", ARRIVAL)
    go_on(page)

    assert "/apply/background" in page.url
    no_serious_violations(page)
    for question in (
        "criminal-conviction",
        "previous-refusal",
        "removed-or-deported",
        "conflict-zone-travel",
    ):
        page.check(f"#answers-{question}-2")
    go_on(page)

    assert "/apply/declaration" in page.url
    no_serious_violations(page)
    page.check("#declaration")
    go_on(page)

    # The photo page (this browser has no camera: the upload is offered): on without a photo.
    assert "/apply/photo" in page.url
    no_serious_violations(page)
    with page.expect_navigation():
        page.click("main form a[href='/apply/check']")

    # Check your answers, then change the email through its Change link.
    assert "/apply/check" in page.url
    no_serious_violations(page)
    assert "L898902C3" in page.inner_text("main")
    with page.expect_navigation():
        page.click("a[href^='/apply/contact?return=check']")
    assert "/apply/contact" in page.url
    page.fill("#email", "anna.eriksson@example.org")
    go_on(page)
    assert "/apply/check" in page.url
    assert "anna.eriksson@example.org" in page.inner_text("main")
    with page.expect_navigation():
        page.click("form button[type=submit]")

    assert "/apply/confirmation" in page.url
    no_serious_violations(page)
    reference = page.inner_text("[data-testid=reference]").strip()
    assert re.fullmatch(r"ETA-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}", reference)

    # The status page.
    page.goto("/status")
    no_serious_violations(page)
    page.fill("#reference", reference)
    page.fill("#passport-number", "L898902C3")
    fill_date(page, "date-of-birth", dt.date(1974, 8, 12))
    with page.expect_navigation():
        page.click("form button[type=submit]")
    status = page.get_attribute("[data-status]", "data-status")
    assert status in {"submitted", "screening", "referred", "approved", "info_requested"}
    no_serious_violations(page)


def test_other_traveller_pages_are_accessible(tab: Any) -> None:
    page = tab
    page.goto("/apply")  # creates the draft the save page needs
    page.goto("/apply/save")
    no_serious_violations(page)
    page.goto("/apply/not-eligible")
    no_serious_violations(page)
    page.goto("/apply/no-eta-needed")
    no_serious_violations(page)
    page.goto("/apply/resume/not-a-real-link")
    no_serious_violations(page)
    page.goto("/status")
    page.click("form button[type=submit]")  # every field missing
    page.wait_for_load_state()
    assert page.locator(".eta-error-summary").is_visible()
    no_serious_violations(page)


def test_a_british_citizen_is_told_no_eta_is_needed(tab: Any) -> None:
    page = tab
    page.goto("/apply")
    page.wait_for_url("**/apply/passport")
    page.select_option("#nationality", "GBR")
    go_on(page)
    assert page.url.endswith("/apply/no-eta-needed")
    heading = page.locator("h1").inner_text()
    assert heading == WORDS[page.language]["no_eta"]
    no_serious_violations(page)
