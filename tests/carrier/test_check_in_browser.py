"""Chromium: sign in, verify a real QR image in the browser, offline from the cache, revoked."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from eta import issuing
from eta.accounts import create_carrier
from eta.issuance.qr import qr_png
from eta.models import Actor, CarrierUser
from eta.passwords import hash_password

pytestmark = pytest.mark.browser

PASSWORD = "check-in desk password"


def _scan(page: Any, image: Path) -> Any:
    page.set_input_files("#qr-image", str(image))
    result = page.locator("#result")
    result.wait_for(state="visible")
    return result


def test_scan_ok_online_then_offline_then_revoked(page, session, authorise, tmp_path):
    carrier, _key = create_carrier(session, "Browser Air")
    session.add(
        CarrierUser(
            carrier_id=carrier.id,
            email="gate@browser.example",
            password_hash=hash_password(PASSWORD),
        )
    )
    session.commit()
    authorisation = authorise()
    image = tmp_path / "qr.png"
    image.write_bytes(qr_png(authorisation.token))

    page.goto("/carrier/")
    page.fill("#email", "gate@browser.example")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/carrier/")
    expect(page.locator("#cache-refreshed")).to_have_attribute("data-version", "0")

    result = _scan(page, image)
    expect(page.locator("#result")).to_have_attribute("data-result", "OK")
    assert "OK to board" in result.inner_text()
    assert page.locator("#result-passport").inner_text() == "L898902C3 (SWE)"
    assert page.locator("#result-surname").inner_text() == "ERIKSSON"
    assert "eta-result--ok" in (result.get_attribute("class") or "")

    page.context.set_offline(True)
    _scan(page, image)
    expect(page.locator("#result")).to_have_attribute("data-result", "OK")

    # Reloading while offline: the service worker serves the page and its scripts from its
    # cache, and the scan still verifies from the saved keys.
    expect(page.locator("#check-in")).to_have_attribute("data-offline-ready", "true")
    reachable = "fetch('/healthz').then(() => 'online', () => 'offline')"
    assert page.evaluate(reachable) == "offline"  # the worker's own fetches are offline too
    page.reload()
    expect(page.locator("#check-in")).to_be_visible()
    assert page.evaluate(reachable) == "offline"
    _scan(page, image)
    expect(page.locator("#result")).to_have_attribute("data-result", "OK")

    page.context.set_offline(False)
    issuing.revoke(
        session, authorisation, reason_code="new_information", officer_id=None, actor=Actor.SYSTEM
    )
    page.click("#refresh-cache")
    # The list's version moves on with each revocation; the page keeps the one it last saved.
    expect(page.locator("#cache-refreshed")).to_have_attribute("data-version", "1")
    result = _scan(page, image)
    expect(page.locator("#result")).to_have_attribute("data-result", "NOT_OK")
    assert page.locator("#result").get_attribute("data-reason") == "revoked"
    assert "revoked" in result.inner_text()
    assert "eta-result--not-ok" in (result.get_attribute("class") or "")

    # Signing out leaves nothing of the staff member's page in the worker's cache.
    assert page.evaluate("caches.has('eta-check-in-v1')")
    page.click("text=Sign out")
    page.wait_for_url("**/carrier/sign-in")
    deadline = time.monotonic() + 10
    while page.evaluate("caches.has('eta-check-in-v1')"):
        assert time.monotonic() < deadline, "the cache outlived the sign-out"
        time.sleep(0.1)


def test_manual_passport_check_in_the_browser(page, session, authorise):
    carrier, _key = create_carrier(session, "Manual Air")
    session.add(
        CarrierUser(
            carrier_id=carrier.id,
            email="desk@manual.example",
            password_hash=hash_password(PASSWORD),
        )
    )
    session.commit()
    authorise()
    page.goto("/carrier/sign-in")
    page.fill("#email", "desk@manual.example")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/carrier/")
    page.fill("#passport_number", "L898902C3")
    page.fill("#issuing_country", "swe")
    page.click("#manual-check button[type=submit]")
    expect(page.locator("#result")).to_have_attribute("data-result", "OK")
    assert page.locator("#result-given-names").inner_text() == "ANNA MARIA"
    page.fill("#passport_number", "NOPE1234")
    page.click("#manual-check button[type=submit]")
    expect(page.locator("#result")).to_have_attribute("data-result", "NOT_OK")
    assert "No authorisation found" in page.locator("#result").inner_text()
