"""A real Chromium opens the start page."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_start_page_in_a_real_browser(page):
    response = page.goto("/")
    assert response is not None and response.status == 200
    assert page.locator("html").get_attribute("lang") == "en"
    assert "electronic travel authorisation" in page.locator("h1").inner_text().lower()
    # The stylesheet is served by eta itself, and applies.
    colour = page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor")
    assert colour == "rgb(11, 12, 12)"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "eta-skip-link"
