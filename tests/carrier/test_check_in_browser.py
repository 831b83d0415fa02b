"""Chromium: sign in, verify a real QR image in the browser, offline from the cache, revoked."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from eta import authorisations
from eta.accounts import create_carrier
from eta.accounts.passwords import hash_password
from eta.issuance.qr import qr_png
from eta.models import Actor, CarrierUser
from tests.conftest import browser_executable

pytestmark = pytest.mark.browser

PASSWORD = "check-in desk password"


def _scan(page: Any, image: Path) -> Any:
    page.set_input_files("#qr-image", str(image))
    result = page.locator("#result")
    result.wait_for(state="visible")
    return result


def _desk_staff(session: Any, carrier_name: str, email: str) -> None:
    """A carrier with one check-in staff member who signs in with PASSWORD."""
    carrier, _key = create_carrier(session, carrier_name)
    session.add(
        CarrierUser(carrier_id=carrier.id, email=email, password_hash=hash_password(PASSWORD))
    )
    session.commit()


def _sign_in(page: Any, email: str) -> None:
    page.goto("/carrier/sign-in")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/carrier/")


def test_scan_ok_online_then_offline_then_revoked(page, session, authorise, tmp_path):
    _desk_staff(session, "Browser Air", "gate@browser.example")
    authorisation = authorise()
    image = tmp_path / "qr.png"
    image.write_bytes(qr_png(authorisation.token))

    _sign_in(page, "gate@browser.example")
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
    authorisations.revoke(
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


def _camera_video(png: bytes, path: Path, width: int = 640, height: int = 480) -> None:
    """A still Y4M video of the QR image, for Chromium's fake camera (4:2:0, 5 frames)."""
    qr = Image.open(io.BytesIO(png)).convert("RGB")
    qr.thumbnail((height - 40, height - 40))
    frame = Image.new("RGB", (width, height), "white")
    frame.paste(qr, ((width - qr.width) // 2, (height - qr.height) // 2))
    luma, blue, red = frame.convert("YCbCr").split()
    half = (width // 2, height // 2)
    planes = luma.tobytes() + blue.resize(half).tobytes() + red.resize(half).tobytes()
    header = f"YUV4MPEG2 W{width} H{height} F5:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + b"FRAME\n".join([b""] + [planes] * 5))


def test_scan_with_the_camera(browser, live_server, session, authorise, tmp_path):
    # The "Scan" button's path: getUserMedia, frames decoded in the page, verified locally.
    # Chromium's fake camera plays a video of the QR code, as a desk's webcam would see it.
    _desk_staff(session, "Camera Air", "cam@camera.example")
    authorisation = authorise()
    video = tmp_path / "camera.y4m"
    _camera_video(qr_png(authorisation.token, box_size=4), video)
    camera_browser = browser.browser_type.launch(
        executable_path=browser_executable(),
        args=[
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = camera_browser.new_context(base_url=live_server, locale="en-GB")
        context.grant_permissions(["camera"], origin=live_server)
        page = context.new_page()
        _sign_in(page, "cam@camera.example")
        expect(page.locator("#cache-refreshed")).to_have_attribute("data-version", "0")
        page.click("#start-camera")
        expect(page.locator("#result")).to_have_attribute("data-result", "OK", timeout=20_000)
        assert page.locator("#result-passport").inner_text() == "L898902C3 (SWE)"
        expect(page.locator("#camera")).to_be_hidden()  # the camera is let go after a read
    finally:
        camera_browser.close()


def test_manual_passport_check_in_the_browser(page, session, authorise):
    _desk_staff(session, "Manual Air", "desk@manual.example")
    authorise()
    _sign_in(page, "desk@manual.example")
    page.fill("#passport_number", "L898902C3")
    page.fill("#issuing_country", "swe")
    page.click("#manual-check button[type=submit]")
    expect(page.locator("#result")).to_have_attribute("data-result", "OK")
    assert page.locator("#result-given-names").inner_text() == "ANNA MARIA"
    page.fill("#passport_number", "NOPE1234")
    page.click("#manual-check button[type=submit]")
    expect(page.locator("#result")).to_have_attribute("data-result", "NOT_OK")
    assert "No authorisation found" in page.locator("#result").inner_text()


def test_the_result_shows_no_empty_rows_and_the_passport_the_desk_typed(page, session, authorise):
    """Issue 15: a NOT OK showed empty labelled rows; a passport check left the DOB blank."""
    _desk_staff(session, "Rows Air", "desk@rows.example")
    authorise()
    _sign_in(page, "desk@rows.example")
    page.fill("#passport_number", "L898902C3")
    page.fill("#issuing_country", "swe")
    page.fill("#date_of_birth", "1974-08-12")
    page.click("#manual-check button[type=submit]")
    expect(page.locator("#result")).to_have_attribute("data-result", "OK")
    assert page.locator("#result-dob").inner_text() == "1974-08-12"
    assert page.locator("#result-passport").inner_text() == "L898902C3 (SWE)"
    for row in page.locator("#result-details .eta-summary-list__row").all():
        if row.is_visible():
            assert row.locator("dd").inner_text().strip(), row.inner_text()
    page.fill("#passport_number", "NOPE1234")
    page.fill("#date_of_birth", "")
    page.click("#manual-check button[type=submit]")
    expect(page.locator("#result")).to_have_attribute("data-result", "NOT_OK")
    assert not page.locator("#result-details").is_visible()
    assert page.locator("#result-details dd:visible").count() == 0


def test_a_pasted_token_is_checked_like_a_scan(page, session, authorise):
    """Issue 15: the check-in page had no box to paste a token."""
    _desk_staff(session, "Paste Air", "desk@paste.example")
    authorisation = authorise()
    _sign_in(page, "desk@paste.example")
    assert "Paste Air" in page.locator("main").inner_text()
    page.click("#paste-check button[type=submit]")
    expect(page.locator("#token-error")).to_be_visible()
    # Wrapped over lines, as a token pasted from a document is.
    token = authorisation.token
    page.fill("#token", "\n".join(token[i : i + 60] for i in range(0, len(token), 60)))
    page.click("#paste-check button[type=submit]")
    expect(page.locator("#result")).to_have_attribute("data-result", "OK")
    assert page.locator("#result-given-names").inner_text() == "ANNA MARIA"
    page.fill("#token", token[:-4] + "AAAA")
    page.click("#paste-check button[type=submit]")
    expect(page.locator("#result")).to_have_attribute("data-result", "NOT_OK")
