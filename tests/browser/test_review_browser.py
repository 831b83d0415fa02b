"""In a real Chromium: a refused traveller asks for a review, and an officer finds it in the queue.

The traveller's pages are checked with axe at desktop and phone widths, in English and Arabic
(right to left); the officer signs in with password and TOTP as in production.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from flask import Flask

from eta.accounts.passwords import hash_password
from eta.extensions import db
from eta.models import Officer
from tests.accessibility import no_serious_violations
from tests.factories import refused_application

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
GROUNDS = "My passport was reported stolen, then found; the police withdrew the report."


@pytest.fixture(params=[("en-GB", 1200), ("ar-EG", 375)], ids=["en-desktop", "ar-phone"])
def tab(request: pytest.FixtureRequest, browser: Any, live_server: str) -> Iterator[Any]:
    """A page in a browser language and width; CSP bypassed only so the test can inject axe."""
    locale, width = request.param
    context = browser.new_context(
        base_url=live_server,
        locale=locale,
        bypass_csp=True,
        viewport={"width": width, "height": 900},
    )
    page = context.new_page()
    page.language = locale[:2]
    yield page
    context.close()


def _officer(app: Flask) -> tuple[str, str]:
    with app.app_context():
        officer = Officer(
            email=f"reviewer-{time.monotonic_ns()}@border.test",
            password_hash=hash_password(PASSWORD),
            totp_secret=pyotp.random_base32(),
            role="officer",
        )
        db.session.add(officer)
        db.session.commit()
        return officer.email, officer.totp_secret


def test_a_refused_traveller_asks_for_a_review_and_an_officer_sees_it(
    app: Flask, tab: Any, browser: Any, live_server: str
) -> None:
    page = tab
    with app.app_context():
        reference = refused_application(db.session).reference

    page.goto("/status")
    page.fill("#reference", reference)
    page.fill("#passport-number", "L898902C3")
    page.fill("#date-of-birth", "12")
    page.fill("#date-of-birth-month", "8")
    page.fill("#date-of-birth-year", "1974")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert page.get_attribute("[data-status]", "data-status") == "refused"
    no_serious_violations(page)
    with page.expect_navigation():
        page.click("[data-testid=ask-for-review]")
    assert "/review/" in page.url
    if page.language == "ar":
        assert page.locator("html").get_attribute("dir") == "rtl"
        assert "طلب مراجعة القرار" in page.inner_text("h1")
    no_serious_violations(page)

    # Sent empty: the GOV.UK error summary, linked to the field.
    with page.expect_navigation():
        page.click("form button[type=submit]")
    summary = page.locator(".eta-error-summary")
    assert summary.is_visible()
    summary.locator("a[href='#grounds']").click()
    assert page.evaluate("document.activeElement.id") == "grounds"
    no_serious_violations(page)

    page.fill("#grounds", GROUNDS)
    page.fill("#statement", "The police letter is dated 3 March 2025.")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert "/received" in page.url
    assert reference in page.inner_text("[data-testid=reference]")
    if page.language == "en":
        assert "Request for a review received" in page.inner_text("h1")
    no_serious_violations(page)

    # An officer signs in and finds the case in the queue, labelled, with the grounds.
    email, secret = _officer(app)
    context = browser.new_context(base_url=live_server, locale="en-GB")
    officer = context.new_page()
    try:
        officer.goto("/officer/sign-in")
        officer.fill("#email", email)
        officer.fill("#password", PASSWORD)
        officer.click("button[type=submit]")
        officer.wait_for_url("**/officer/sign-in/code")
        officer.fill("#code", pyotp.TOTP(secret).now())
        officer.click("main button[type=submit]")
        officer.wait_for_url("**/officer/")
        row = officer.locator("#queue tr", has_text=reference)
        assert row.locator(".eta-tag", has_text="Review requested").count() == 1
        with officer.expect_navigation():
            row.locator("a").first.click()
        assert GROUNDS in officer.inner_text("[data-testid=review-grounds]")
    finally:
        context.close()
