"""Form errors in French in a real Chromium: the Flask-WTF forms' messages, summary and focus."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.accessibility import no_serious_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def french(browser: Any, live_server: str) -> Iterator[Any]:
    """A page in a French-speaking browser; CSP bypassed only so the test can inject axe."""
    context = browser.new_context(base_url=live_server, locale="fr-FR", bypass_csp=True)
    page = context.new_page()
    yield page
    context.close()


def test_a_passport_page_error_in_french(french: Any) -> None:
    page = french
    page.goto("/apply")
    page.wait_for_url("**/apply/passport")
    page.select_option("#nationality", "SWE")
    page.fill("#passport-number", "L898902C3")
    page.fill("#passport-number-confirm", "L898902C4")
    with page.expect_navigation():
        page.click("button[name=continue]")
    assert page.title().startswith("Erreur :")
    summary = page.locator(".eta-error-summary")
    assert summary.locator("h2").inner_text() == "Il y a un problème"
    link = summary.locator("a[href='#passport-number-confirm']")
    assert link.inner_text() == "Les numéros de passeport ne correspondent pas : vérifiez les deux"
    field_message = page.locator("#passport-number-confirm-error").inner_text()
    assert "Les numéros de passeport ne correspondent pas" in field_message
    # Only the page's own questions: nothing about names or dates on other pages.
    assert summary.locator("a[href='#given-names']").count() == 0
    no_serious_violations(page)
    link.click()
    assert page.evaluate("document.activeElement.id") == "passport-number-confirm"


def test_the_save_and_verify_forms_answer_in_french(french: Any) -> None:
    page = french
    page.goto("/apply")
    page.goto("/apply/save?page=passport")
    page.fill("#email", "pas une adresse")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    summary = page.locator(".eta-error-summary a[href='#email']")
    assert (
        summary.inner_text() == "Saisissez une adresse e-mail au bon format, comme nom@exemple.com"
    )
    assert page.input_value("#email") == "pas une adresse"
    no_serious_violations(page)

    page.goto("/verify")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    error = page.locator(".eta-error-summary a[href='#token']")
    assert error.inner_text() == (
        "Saisissez le code de l’autorisation, ou envoyez une image de son QR code"
    )
    no_serious_violations(page)
