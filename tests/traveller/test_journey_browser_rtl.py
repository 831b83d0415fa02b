"""The Arabic journey in a real Chromium at phone and desktop widths: right to left, mirrored.

Set ETA_SCREENSHOTS to a folder to keep a full-page screenshot of every page of the journey
(ar-<width>-<nn>-<page>.png), as the service assessment asks to see.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.accessibility import no_serious_violations
from tests.traveller.test_journey_browser import ARRIVAL, fill_date, go_on

pytestmark = pytest.mark.browser

WIDTHS = {"phone": {"width": 375, "height": 812}, "desktop": {"width": 1280, "height": 900}}
SCREENSHOTS = os.environ.get("ETA_SCREENSHOTS", "")


@pytest.fixture(params=list(WIDTHS))
def arabic(request: pytest.FixtureRequest, browser: Any, live_server: str) -> Iterator[Any]:
    """A page whose browser asks for Arabic, at the given width (CSP bypassed only for axe)."""
    context = browser.new_context(
        base_url=live_server,
        locale="ar-EG",
        viewport=WIDTHS[request.param],
        bypass_csp=True,
    )
    page = context.new_page()
    page.width_name = request.param
    page.shots = 0
    yield page
    context.close()


def check(page: Any, name: str) -> None:
    """What every Arabic page must be: rtl, mirrored, no sideways scrolling, axe-clean."""
    assert page.locator("html").get_attribute("lang") == "ar"
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    # Mirrored: the service name starts at the right edge, the language switch is on the left.
    header = page.locator(".eta-header__service").bounding_box()
    switch = page.locator(".eta-language-switch").bounding_box()
    assert header is not None and switch is not None
    if header["y"] == switch["y"] or page.width_name == "desktop":
        assert header["x"] > switch["x"]
    # Nothing pushed out of the page (a left: -9999px skip link widens an rtl page sideways).
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    no_serious_violations(page)
    if SCREENSHOTS:
        page.shots += 1
        folder = Path(SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        shot = folder / f"ar-{page.width_name}-{page.shots:02d}-{name}.png"
        page.screenshot(path=str(shot), full_page=True)


def test_the_arabic_journey_reads_right_to_left(arabic: Any) -> None:
    page = arabic
    page.goto("/")
    check(page, "start")
    page.get_by_role("button", name="ابدأ الآن").click()
    page.wait_for_url("**/apply/passport")
    check(page, "passport")

    page.select_option("#nationality", "SWE")
    page.select_option("#passport-issuing-country", "SWE")
    page.fill("#passport-number", "L898")
    page.fill("#passport-number-confirm", "L898902C3")
    fill_date(page, "passport-issue-date", dt.date(2022, 4, 16))
    fill_date(page, "passport-expiry-date", dt.date(2032, 4, 15))
    go_on(page)
    assert page.title().startswith("خطأ:")
    assert "توجد مشكلة" in page.locator(".eta-error-summary").inner_text()
    check(page, "passport-error")
    # Country names come from pycountry's Arabic catalogue.
    assert page.locator("#nationality option[value=SWE]").inner_text() == "السويد"
    page.fill("#passport-number", "L898902C3")
    go_on(page)

    assert "/apply/personal" in page.url
    check(page, "personal")
    page.fill("#given-names", "محمد")
    page.fill("#surname", "العلي")
    page.fill("#latin-given-names", "Mohammed")
    page.fill("#latin-surname", "Al-Ali")
    page.check("#sex")
    fill_date(page, "date-of-birth", dt.date(1974, 8, 12))
    page.fill("#place-of-birth", "الرياض")
    go_on(page)

    assert "/apply/contact" in page.url, page.inner_text(".eta-error-summary")
    check(page, "contact")
    # An email address stays left to right inside the Arabic page.
    assert page.evaluate("getComputedStyle(document.querySelector('#email')).direction") == "ltr"
    page.fill("#email", "m.alali@example.org")
    go_on(page)

    assert "/apply/address" in page.url
    check(page, "address")
    page.fill("#home-address-line1", "Storgatan 1")
    page.fill("#home-address-city", "Stockholm")
    page.select_option("#home-address-country", "SWE")
    go_on(page)

    assert "/apply/occupation" in page.url
    check(page, "occupation")
    page.fill("#occupation", "مهندس")
    go_on(page)

    assert "/apply/travel" in page.url
    check(page, "travel")
    page.check("#travel-purpose")
    fill_date(page, "travel-intended-arrival", ARRIVAL)
    go_on(page)

    assert "/apply/background" in page.url
    check(page, "background")
    for question in (
        "criminal-conviction",
        "previous-refusal",
        "removed-or-deported",
        "conflict-zone-travel",
    ):
        page.check(f"#answers-{question}-2")
    go_on(page)

    assert "/apply/declaration" in page.url
    check(page, "declaration")
    page.check("#declaration")
    go_on(page)

    # The photo page (no camera in this browser): on without a photo.
    assert "/apply/photo" in page.url
    check(page, "photo")
    with page.expect_navigation():
        page.click("main form a[href='/apply/check']")
    assert "/apply/check" in page.url
    check(page, "check-answers")
    main = page.inner_text("main")
    assert "L898902C3" in main and "محمد" in main and "السويد" in main
    with page.expect_navigation():
        page.click("form button[type=submit]")

    assert "/apply/confirmation" in page.url
    check(page, "confirmation")
    reference = page.inner_text("[data-testid=reference]").strip()
    assert re.fullmatch(r"ETA-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}", reference)

    page.goto("/status")
    check(page, "status")
    page.fill("#reference", reference)
    page.fill("#passport-number", "L898902C3")
    fill_date(page, "date-of-birth", dt.date(1974, 8, 12))
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert page.get_attribute("[data-status]", "data-status")
    check(page, "status-result")
