"""The journey's photo page over HTTP: an upload through the quality gate, kept sealed in the
draft, sent with the application; every refusal an instruction and a retake."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from eta.extensions import db
from eta.models import Application, ApplicationDraft, ApplicationPhoto
from tests.identity.conftest import blurred, cut_off_left, encoded, portrait
from tests.traveller.test_journey import ANSWERS, complete_pages, csrf, post, text

pytestmark = pytest.mark.usefixtures("no_rate_limits")


@pytest.fixture
def no_rate_limits():
    from eta.extensions import limiter

    limiter.enabled = False
    yield
    limiter.enabled = True


def _upload(client, picture_bytes: bytes, name: str = "me.jpg", **extra):
    token = csrf(client, "/apply/photo")
    data = {"csrf_token": token, "photo": (io.BytesIO(picture_bytes), name), **extra}
    return client.post("/apply/photo", data=data, content_type="multipart/form-data")


def _errors(response) -> list[str]:
    body = text(response)
    summary = re.search(r'<ul class="eta-error-summary__list">(.*?)</ul>', body, re.S)
    assert summary, body
    return [
        re.sub(r"<[^>]+>", "", item).strip()
        for item in re.findall(r"<li>(.*?)</li>", summary.group(1), re.S)
    ]


def test_after_the_last_question_the_journey_asks_for_a_photo(client):
    client.get("/apply")
    for slug, data in ANSWERS.items():
        response = post(client, f"/apply/{slug}", data)
    assert response.headers["Location"].endswith("/apply/photo")
    page = text(client.get("/apply/photo"))
    # Without JavaScript: an upload form. The camera block is hidden until the script shows it.
    assert 'type="file"' in page and 'enctype="multipart/form-data"' in page
    assert re.search(r'id="camera" hidden', page)
    assert "/static/js/traveller/photo.js" in page
    assert "Take photo" in page and "Continue without a photo" in page


def test_a_good_upload_passes_the_gate_and_is_sent_with_the_application(client, app):
    complete_pages(client)
    response = _upload(client, encoded(portrait("obama-1")))
    assert response.status_code == 302 and response.headers["Location"].endswith("/apply/check")
    check = text(client.get("/apply/check"))
    assert "Photo of your face" in check and "Added" in check
    preview = client.get("/apply/photo/preview")
    assert preview.status_code == 200 and preview.mimetype == "image/jpeg"
    assert preview.data[:2] == b"\xff\xd8" and preview.headers["Cache-Control"] == "no-store"
    with app.app_context():
        draft = db.session.scalars(
            select(ApplicationDraft).order_by(ApplicationDraft.id.desc())
        ).first()
        # Sealed in the draft: the JPEG's bytes are not there in the clear.
        assert b"JFIF" not in repr(draft.data).encode() and "photo" in draft.data
    answer = post(client, "/apply/check", {})
    assert answer.headers["Location"].endswith("/apply/confirmation")
    reference = re.search(
        r'data-testid="reference">([^<]+)<', text(client.get("/apply/confirmation"))
    ).group(1)
    with app.app_context():
        application = db.session.scalar(
            select(Application).where(Application.reference == reference)
        )
        stored = db.session.scalar(
            select(ApplicationPhoto).where(ApplicationPhoto.application_id == application.id)
        )
        assert stored is not None and stored.template_sealed is not None
        assert stored.media_type == "image/jpeg"


@pytest.mark.parametrize(
    ("picture", "instruction"),
    [
        (lambda: blurred(portrait("obama-1")), "The photo is blurred: hold the camera still"),
        (cut_off_left, "Your face is cut off at the edge"),
    ],
    ids=["blurred", "cut-off"],
)
def test_a_bad_upload_is_refused_with_its_instruction(client, picture, instruction):
    complete_pages(client)
    response = _upload(client, encoded(picture()))
    assert response.status_code == 200
    errors = _errors(response)
    assert any(error.startswith(instruction) for error in errors), errors
    body = text(response)
    assert "<title>Error:" in body and 'href="#photo"' in body
    assert 'aria-describedby="photo-hint photo-error"' in body
    assert "Added" not in text(client.get("/apply/check"))
    assert client.get("/apply/photo/preview").status_code == 404


def test_no_file_not_an_image_and_too_large_are_form_errors(client, app, monkeypatch):
    complete_pages(client)
    token = csrf(client, "/apply/photo")
    empty = client.post(
        "/apply/photo", data={"csrf_token": token}, content_type="multipart/form-data"
    )
    assert _errors(empty) == ["Choose a photo of your face to upload"]
    assert _errors(_upload(client, b"%PDF-1.4 not a photo", "me.pdf")) == [
        "Send a photo in JPEG or PNG format"
    ]
    monkeypatch.setitem(app.config, "ETA_PHOTO_MAX_BYTES", 20_000)
    large = _upload(client, encoded(portrait("obama-1")) + b"\0" * 100_000)
    assert large.status_code == 413
    assert "What you sent is too large" in text(large)
    # Within the page's own limit (not the 1 MiB of other forms), the gate's own message.
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 10_000)
    monkeypatch.setitem(app.config, "ETA_PHOTO_MAX_BYTES", 30_000)
    over = _upload(client, encoded(portrait("obama-1")) + b"\0" * 40_000)
    assert over.status_code == 200
    assert _errors(over) == ["The photo is too large: send one of at most 0.1 MB"]


def test_the_photo_page_checks_its_csrf_token(client):
    complete_pages(client)
    client.get("/apply/photo")
    response = client.post(
        "/apply/photo",
        data={"photo": (io.BytesIO(encoded(portrait("obama-1"))), "me.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Added" not in text(client.get("/apply/check"))


def test_a_required_photo_is_asked_for_before_sending(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "ETA_PHOTO_REQUIRED", True)
    complete_pages(client)
    response = client.get("/apply/check")
    assert (
        response.status_code == 302 and "/apply/photo?return=check" in response.headers["Location"]
    )
    page = text(client.get("/apply/photo?return=check"))
    assert "Continue without a photo" not in page
    assert 'href="/apply/check"' in page  # the back link returns to Check your answers
    assert _upload(client, encoded(portrait("collins")), return_to="check").status_code == 302
    assert client.get("/apply/check").status_code == 200


def test_without_a_photo_key_the_journey_has_no_photo_page(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "ETA_PHOTO_KEY", None)
    client.get("/apply")
    for slug, data in ANSWERS.items():
        response = post(client, f"/apply/{slug}", data)
    assert response.headers["Location"].endswith("/apply/check")
    assert client.get("/apply/photo").headers["Location"].endswith("/apply/check")
    assert "Photo of your face" not in text(client.get("/apply/check"))
