"""The `photo` field of the applications API: the gate's instructions, the body limit, storage."""

from __future__ import annotations

import base64

import pytest
from PIL import Image
from sqlalchemy import select

from eta.identity import sealing, store
from eta.models import Application, ApplicationPhoto
from tests.identity.conftest import b64, blurred, cut_off_left, encoded, portrait

pytestmark = pytest.mark.usefixtures("no_rate_limits")

BLURRED = "The photo is blurred: hold the camera still and make sure it is in focus"
CUT_OFF = (
    "Your face is cut off at the edge: make sure your whole head is in the photo, with some "
    "space around it"
)


def _post(client, payload, **headers):
    return client.post("/api/v1/applications", json=payload, headers=headers)


def test_a_good_photo_is_accepted_and_stored_sealed(app, client, session, payload):
    payload["photo"] = b64(portrait("obama-1"))
    response = _post(client, payload)
    assert response.status_code == 202, response.get_json()
    application = session.scalar(select(Application))
    row = store.photo_row(session, application.id)
    assert row is not None and row.template_sealed is not None
    key = sealing.parse_key(app.config["ETA_PHOTO_KEY"])
    jpeg = store.photo_jpeg(row, key)
    assert jpeg[:2] == b"\xff\xd8"
    assert jpeg not in row.photo_sealed and jpeg[:64] not in row.photo_sealed  # encrypted
    assert store.template_of(row, key).shape == (128,)
    # The photo is not in the answer, the status document, or the idempotency record.
    assert "photo" not in response.get_json()
    # A sealed photo does not open as another application's.
    with pytest.raises(sealing.SealError):
        sealing.unseal(key, store.PHOTO, application.id + 1, row.photo_sealed)


@pytest.mark.parametrize(
    ("picture", "message"),
    [(blurred(portrait("obama-1")), BLURRED), (cut_off_left(), CUT_OFF)],
    ids=["blurred", "cut-off"],
)
def test_a_photo_failing_the_gate_is_a_422_with_the_instruction(
    client, session, payload, picture, message
):
    payload["photo"] = b64(picture)
    response = _post(client, payload)
    assert response.status_code == 422
    problem = response.get_json()
    assert message in problem["errors"]["photo"]
    assert session.scalar(select(Application)) is None


def test_the_instruction_is_translated(client, payload):
    payload["photo"] = b64(blurred(portrait("obama-1")))
    payload["language"] = "fr"
    response = _post(client, payload, **{"Accept-Language": "fr"})
    assert response.status_code == 422
    (message,) = response.get_json()["errors"]["photo"]
    assert message != BLURRED and "floue" in message


def test_other_errors_and_the_photo_are_reported_together(client, payload):
    payload["photo"] = b64(cut_off_left())
    del payload["surname"]
    errors = _post(client, payload).get_json()["errors"]
    assert "surname" in errors and CUT_OFF in errors["photo"]


def test_a_photo_above_a_mebibyte_fits_the_routes_own_limit(client, session, payload):
    big = portrait("obama-1").resize((1200, 1500), Image.Resampling.LANCZOS)
    raw = encoded(big, "PNG")
    assert len(raw) > 1024 * 1024
    payload["photo"] = base64.b64encode(raw).decode()
    response = _post(client, payload)
    assert response.status_code == 202, response.get_json()
    row = session.scalar(select(ApplicationPhoto))
    assert max(row.width, row.height) == 1024  # ETA_PHOTO_STORED_SIDE


def test_a_body_above_the_routes_limit_is_a_413(app, client, payload, monkeypatch):
    monkeypatch.setitem(app.config, "ETA_APPLICATION_MAX_BYTES", 2 * 1024 * 1024)
    payload["photo"] = "A" * (3 * 1024 * 1024)
    assert _post(client, payload).status_code == 413
    # Other routes keep the usual 1 MiB.
    response = client.post(
        "/api/v1/applications/status", json={"reference": "A" * (1024 * 1024 + 10)}
    )
    assert response.status_code == 413


def test_a_photo_over_the_byte_limit_is_a_field_error(app, client, payload, monkeypatch):
    monkeypatch.setitem(app.config, "ETA_PHOTO_MAX_BYTES", 1024 * 1024)
    big = portrait("obama-1").resize((1200, 1500), Image.Resampling.LANCZOS)
    payload["photo"] = base64.b64encode(encoded(big, "PNG")).decode()
    response = _post(client, payload)
    problem = response.get_json()
    assert response.status_code == 422, problem
    assert problem["errors"]["photo"] == ["The photo is too large: send one of at most 1 MB"], (
        problem
    )


def test_a_photo_is_optional_unless_required(app, client, payload, monkeypatch):
    assert _post(client, payload).status_code == 202
    monkeypatch.setitem(app.config, "ETA_PHOTO_REQUIRED", True)
    response = _post(client, payload)
    assert response.status_code == 422
    assert response.get_json()["errors"]["photo"] == [
        "Add a photo of your face, taken in the last month"
    ]


def test_without_a_photo_key_a_photo_is_refused(app, client, payload, monkeypatch):
    monkeypatch.setitem(app.config, "ETA_PHOTO_KEY", None)
    payload["photo"] = b64(portrait("obama-1"))
    response = _post(client, payload)
    assert response.status_code == 422
    assert "does not take photos" in response.get_json()["errors"]["photo"][0]
