"""The API's `chip` object at submission: files read, DG1 against the form, errors by field."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import features
from sqlalchemy import select

from eta.chip import lds
from eta.chip.store import files_of
from eta.identity import faces, sealing
from eta.models import Application, ApplicationChip
from eta.screening.chip import chip_face
from tests.chip import builder
from tests.chip.conftest import chip_image, chip_json
from tests.identity.conftest import encoded, portrait

pytestmark = pytest.mark.usefixtures("no_rate_limits")


def _post(client, payload, chip, **headers):
    return client.post("/api/v1/applications", json={**payload, "chip": chip}, headers=headers)


def test_a_chip_is_stored_sealed_with_the_application(app, client, session, payload):
    chip = builder.chip(chip_image("obama-2"))
    response = _post(client, payload, chip_json(chip))
    assert response.status_code == 202, response.get_json()
    application = session.scalar(select(Application))
    row = session.scalar(select(ApplicationChip))
    assert row.application_id == application.id and row.result is None
    assert chip.dg1 not in row.dg1_sealed and b"ERIKSSON" not in row.dg1_sealed
    files = files_of(row, sealing.parse_key(app.config["ETA_PHOTO_KEY"]))
    assert (files.sod, files.dg1, files.dg2) == (chip.sod, chip.dg1, chip.dg2)


def test_a_chip_whose_mrz_differs_from_the_form_is_a_field_error(client, session, payload):
    mrz = builder.td3("Eriksson", "Anna Maria", "L898902C4", "SWE", "740812", "F", "320415")
    response = _post(client, payload, chip_json(builder.chip(b"\xff\xd8", mrz=mrz)))
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "chip.dg1": ["The passport number on the passport chip does not match the one you entered"]
    }
    assert session.scalar(select(Application)) is None


def test_names_dates_and_sex_are_compared_too(client, payload):
    mrz = builder.td3("Eriksen", "Anna Maria", "L898902C3", "SWE", "740813", "M", "320415")
    response = _post(client, payload, chip_json(builder.chip(b"\xff\xd8", mrz=mrz)))
    messages = response.get_json()["errors"]["chip.dg1"]
    assert [m.split(" on the")[0] for m in messages] == [
        "The date of birth",
        "The sex",
        "The surname",
    ]


def test_the_mismatch_is_in_the_users_language(client, payload):
    payload["language"] = "fr"
    mrz = builder.td3("Eriksson", "Anna Maria", "L898902C4", "SWE", "740812", "F", "320415")
    response = _post(
        client, payload, chip_json(builder.chip(b"\xff\xd8", mrz=mrz)), **{"Accept-Language": "fr"}
    )
    (message,) = response.get_json()["errors"]["chip.dg1"]
    assert "puce" in message and "numéro de passeport" in message


def test_files_that_are_not_chip_files_are_field_errors(client, session, payload):
    chip = builder.chip(b"\xff\xd8")
    sent = chip_json(chip)
    sent["sod"] = sent["dg1"]  # a real file, the wrong one
    sent["dg2"] = "not base64!"
    response = _post(client, payload, sent)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"chip.dg2"}  # files that do not decode are reported first
    del sent["dg2"]
    errors = _post(client, payload, {**sent, "dg2": chip_json(chip)["dg2"]}).get_json()["errors"]
    assert errors == {
        "chip.sod": ["The chip's EF.SOD could not be read: read the passport's chip again"]
    }
    assert _post(client, payload, "a string").get_json()["errors"] == {
        "chip": ["Send the passport chip as an object with sod, dg1 and dg2 in base64"]
    }
    assert session.scalar(select(Application)) is None


def test_a_file_over_the_size_limit_is_a_field_error(app, client, payload, monkeypatch):
    monkeypatch.setitem(app.config, "ETA_CHIP_MAX_BYTES", 1024)
    chip = builder.chip(b"\xff\xd8" + b"\0" * 2000)
    errors = _post(client, payload, chip_json(chip)).get_json()["errors"]
    assert errors == {"chip.dg2": ["Send the chip's DG2 in base64, at most 1 KB"]}


def test_without_a_photo_key_a_chip_is_refused(app, client, payload, monkeypatch):
    monkeypatch.setitem(app.config, "ETA_PHOTO_KEY", None)
    errors = _post(client, payload, chip_json(builder.chip(b"\xff\xd8"))).get_json()["errors"]
    assert list(errors) == ["chip"]


@pytest.mark.skipif(not features.check("jpg_2000"), reason="Pillow has no OpenJPEG")
def test_a_jpeg2000_chip_face_matches_the_photo():
    chip_picture = portrait("obama-2")
    chip_picture.thumbnail((420, 525))
    data = encoded(chip_picture, "JPEG2000", quality_mode="rates", quality_layers=[40])
    assert data[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n"  # a JP2 file, as chips carry
    record = lds.read_face(builder.dg2(data, lds.JPEG2000))
    reference = chip_face(record, 640)
    photo = portrait("obama-1")
    probe = faces.template(photo, faces.detect(photo, 640)[0])
    assert reference is not None and float(np.linalg.norm(probe - reference)) < 0.6
