"""Issue 15: the staff areas in every language, checked by axe in a real Chromium.

The traveller journey runs axe in all six languages (tests/traveller/test_journey_browser.py);
these are the officer and carrier pages a check-in desk or a back office sees first, in each
language and, for Arabic, right to left.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from eta.accounts import create_carrier
from eta.accounts.passwords import hash_password
from eta.models import CarrierUser
from tests.accessibility import no_serious_violations

pytestmark = pytest.mark.browser

LANGUAGES = ("en", "fr", "es", "de", "ar", "zh")
PASSWORD = "check-in desk password"


@pytest.fixture(params=LANGUAGES)
def tab(request: pytest.FixtureRequest, browser: Any, live_server: str) -> Iterator[Any]:
    """A page whose context bypasses the CSP only so the test can inject axe."""
    context = browser.new_context(base_url=live_server, bypass_csp=True)
    page = context.new_page()
    page.language = request.param
    yield page
    context.close()


def _in_language(page: Any, path: str) -> None:
    page.goto(f"{path}?lang={page.language}")
    assert page.locator("html").get_attribute("lang") == page.language
    direction = "rtl" if page.language == "ar" else "ltr"
    assert page.locator("html").get_attribute("dir") == direction
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    no_serious_violations(page)


def test_officer_sign_in_in_every_language(tab: Any) -> None:
    _in_language(tab, "/officer/sign-in")


def test_carrier_sign_in_and_check_in_in_every_language(tab: Any, session: Any) -> None:
    email = f"desk-{tab.language}@axe.example"
    carrier, _key = create_carrier(session, f"Axe Air {tab.language}")
    session.add(
        CarrierUser(carrier_id=carrier.id, email=email, password_hash=hash_password(PASSWORD))
    )
    session.commit()
    _in_language(tab, "/carrier/sign-in")
    tab.fill("#email", email)
    tab.fill("#password", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url("**/carrier/")
    _in_language(tab, "/carrier/")
