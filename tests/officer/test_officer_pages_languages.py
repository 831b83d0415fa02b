"""Issue 15: the signed-in back office in every language, checked by axe in a real Chromium.

tests/web/test_staff_pages_browser.py covers the sign-in pages; these are the pages an officer
works in once signed in (queue, case, search, rules, watchlists, dashboard), each in the
six languages, Arabic right to left, with no serious or critical axe violation and no page
wider than the window.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyotp
import pytest

from tests.accessibility import no_serious_violations
from tests.officer.conftest import PASSWORD, Staff

pytestmark = pytest.mark.browser

LANGUAGES = ("en", "fr", "es", "de", "ar", "zh")


def _sign_in(page: Any, staff: Staff, language: str) -> None:
    page.goto(f"/officer/sign-in?lang={language}")  # the choice is kept in the session
    page.fill("#email", staff.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/officer/sign-in/code")
    page.fill("#code", pyotp.TOTP(staff.secret).now())
    page.click("main button[type=submit]")
    page.wait_for_url("**/officer/")


@pytest.mark.parametrize("language", LANGUAGES)
def test_signed_in_officer_pages_in_every_language(
    language: str,
    browser: Any,
    live_server: str,
    make_officer: Callable[..., Staff],
    make_case: Callable[..., int],
) -> None:
    supervisor = make_officer("supervisor")
    case_id = make_case(deadline_hours=5)
    context = browser.new_context(base_url=live_server, bypass_csp=True)  # only to inject axe
    page = context.new_page()
    try:
        _sign_in(page, supervisor, language)
        for path in (
            "/officer/",
            f"/officer/cases/{case_id}",
            "/officer/search?q=ERIKSSON",
            "/officer/rules",
            "/officer/watchlists",
            "/officer/dashboard",
        ):
            joiner = "&" if "?" in path else "?"
            response = page.goto(f"{path}{joiner}lang={language}")
            assert response is not None and response.status == 200, path
            html = page.locator("html")
            assert html.get_attribute("lang") == language, path
            assert html.get_attribute("dir") == ("rtl" if language == "ar" else "ltr"), path
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
            no_serious_violations(page)
    finally:
        context.close()
