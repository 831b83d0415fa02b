"""The photo page in a real Chromium: a photo from a (fake) camera, an upload, and the gate's
instructions for a blurred and a cut-off face.

Chromium plays a Y4M file as its camera (--use-file-for-fake-video-capture); the file is made
here from the shipped test faces (tests/data/faces/README.md), so nothing is downloaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from eta.extensions import db
from eta.models import Application, ApplicationPhoto
from tests.accessibility import no_serious_violations
from tests.conftest import browser_executable
from tests.identity.conftest import blurred, cut_off_left, encoded, portrait
from tests.traveller.test_journey import complete_pages

pytestmark = pytest.mark.browser

FRAMES = 10  # Chromium loops the file: a few identical frames make a still camera


def y4m(picture: Image.Image, path: Path) -> Path:
    """The picture as an uncompressed YUV 4:2:0 video (the format Chromium's fake camera plays)."""
    width, height = (side - side % 2 for side in picture.size)  # 4:2:0 needs even sides
    ycbcr = picture.convert("RGB").crop((0, 0, width, height)).convert("YCbCr")
    y, cb, cr = ycbcr.split()
    half = (width // 2, height // 2)
    frame = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(FRAMES):
            out.write(b"FRAME\n" + frame)
    return path


def _camera_browser(browser: Any, video: Path) -> Any:
    """Another Chromium of the session's Playwright, filming `video` as its camera."""
    return browser.browser_type.launch(
        executable_path=browser_executable(),
        args=[
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",  # grants the camera without asking
            f"--use-file-for-fake-video-capture={video}",
        ],
    )


@pytest.fixture
def camera(request, browser, tmp_path: Path, live_server: str, client: Any) -> Iterator[Any]:
    """A page on the photo page of a completed journey, with a camera filming `request.param`."""
    filming = _camera_browser(browser, y4m(request.param(), tmp_path / "camera.y4m"))
    context = filming.new_context(base_url=live_server, locale="en-GB", bypass_csp=False)
    complete_pages(client)  # the questions over HTTP; the photo page in the browser
    context.add_cookies(
        [
            {
                "name": "eta_session",
                "value": client.get_cookie("eta_session").value,
                "url": live_server,
            }
        ]
    )
    page = context.new_page()
    page.csp_errors = []
    page.on(
        "console",
        lambda message: (
            page.csp_errors.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.goto("/apply/photo")
    yield page
    context.close()
    filming.close()


def _take_photo(page: Any) -> None:
    page.wait_for_selector("#camera:not([hidden])")
    # Enabled once the preview has frames (page.wait_for_function would need 'unsafe-eval').
    expect(page.get_by_role("button", name="Take photo")).to_be_enabled()
    page.get_by_role("button", name="Take photo").click()
    assert page.locator("#camera-capture").is_visible()
    assert page.locator("#camera-preview").is_hidden()


@pytest.mark.parametrize("camera", [lambda: portrait("obama-1")], indirect=True)
def test_a_photo_from_the_camera_passes_the_gate_and_is_sent(camera, app):
    page = camera
    _take_photo(page)
    # A retake shows the live preview again; the second capture is the one sent.
    page.get_by_role("button", name="Retake").click()
    assert page.locator("#camera-preview").is_visible()
    _take_photo(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Use this photo").click()
    assert "/apply/check" in page.url
    main = page.inner_text("main")
    assert "Photo of your face" in main and "Added" in main
    # The thumbnail is the draft's photo, shown (img-src 'self'), at the camera's size.
    assert page.evaluate("document.querySelector('.eta-photo-thumbnail').naturalWidth") == 400
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert "/apply/confirmation" in page.url
    reference = page.locator("[data-testid=reference]").inner_text().strip()
    with app.app_context():
        application = db.session.scalar(
            select(Application).where(Application.reference == reference)
        )
        photo = db.session.scalar(
            select(ApplicationPhoto).where(ApplicationPhoto.application_id == application.id)
        )
        assert photo is not None and (photo.width, photo.height) == (400, 500)
        assert photo.template_sealed is not None
    assert page.csp_errors == []


@pytest.mark.parametrize("camera", [lambda: blurred(portrait("obama-1"))], indirect=True)
def test_a_blurred_camera_photo_gets_the_instruction_and_a_retake(camera):
    page = camera
    _take_photo(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Use this photo").click()
    assert "/apply/photo" in page.url
    assert page.title().startswith("Error:")
    summary = page.locator(".eta-error-summary").inner_text()
    assert "The photo is blurred: hold the camera still and make sure it is in focus" in summary
    # The camera is offered again at once, beside the upload.
    page.wait_for_selector("#camera:not([hidden])")
    assert page.get_by_role("button", name="Take photo").is_visible()
    assert page.csp_errors == []


def _journey_page(browser: Any, live_server: str, client: Any, **options: Any) -> Any:
    context = browser.new_context(base_url=live_server, locale="en-GB", **options)
    complete_pages(client)
    context.add_cookies(
        [
            {
                "name": "eta_session",
                "value": client.get_cookie("eta_session").value,
                "url": live_server,
            }
        ]
    )
    page = context.new_page()
    page.goto("/apply/photo")
    return page


def test_uploads_a_cut_off_face_is_refused_and_a_good_one_passes(
    browser, live_server, client, tmp_path
):
    # The session's browser has no camera: the page says so and the upload is there.
    # (CSP bypassed only so that the test can inject axe.)
    page = _journey_page(browser, live_server, client, bypass_csp=True)
    page.wait_for_selector("#camera:not([hidden])")
    expect(page.locator("#camera-status")).to_have_text(
        "Your camera could not be started. Upload a photo instead."
    )
    no_serious_violations(page)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(encoded(cut_off_left()))
    page.set_input_files("#photo", str(cut))
    with page.expect_navigation():
        page.get_by_role("button", name="Continue", exact=True).click()
    summary = page.locator(".eta-error-summary").inner_text()
    assert "Your face is cut off at the edge" in summary, summary
    assert page.locator("#photo-error").is_visible()
    no_serious_violations(page)
    good = tmp_path / "good.png"
    good.write_bytes(encoded(portrait("obama-2"), "PNG"))
    page.set_input_files("#photo", str(good))
    with page.expect_navigation():
        page.get_by_role("button", name="Continue", exact=True).click()
    assert "/apply/check" in page.url
    assert re.search(r"Photo of your face\s+Added", page.inner_text("main"))


def test_without_javascript_the_page_is_an_upload(browser, live_server, client, tmp_path):
    context = browser.new_context(base_url=live_server, locale="en-GB", java_script_enabled=False)
    complete_pages(client)
    context.add_cookies(
        [
            {
                "name": "eta_session",
                "value": client.get_cookie("eta_session").value,
                "url": live_server,
            }
        ]
    )
    page = context.new_page()
    page.goto("/apply/photo")
    assert page.locator("#camera").is_hidden()
    good = tmp_path / "good.jpg"
    good.write_bytes(encoded(portrait("obama-1")))
    page.set_input_files("#photo", str(good))
    with page.expect_navigation():
        page.get_by_role("button", name="Continue", exact=True).click()
    assert "/apply/check" in page.url
    page.context.close()
