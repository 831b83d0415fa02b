"""Each chip finding through the API and a real RQ worker: the chip informs, never decides."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select, update

from eta.applications import retention
from eta.identity import sealing
from eta.models import (
    Application,
    ApplicationChip,
    AuditEvent,
    ScreeningHit,
    ScreeningRun,
)
from eta.models import ApplicationStatus as S
from eta.tasks import SCREENING
from eta.timeutil import utcnow
from tests.chip import builder
from tests.chip.conftest import chip_image, chip_json, import_csca
from tests.identity.conftest import b64, portrait

pytestmark = pytest.mark.usefixtures("no_rate_limits", "baseline_watchlist")
NOW = dt.datetime.now(dt.UTC)


def _apply(client, session, payload, chip: builder.Chip, photo: str | None = "obama-1"):
    document = {**payload, "chip": chip_json(chip)}
    if photo:
        document["photo"] = b64(portrait(photo))
    response = client.post("/api/v1/applications", json=document)
    assert response.status_code == 202, response.get_json()
    return session.scalar(
        select(Application).where(Application.reference == response.get_json()["reference"])
    )


def _screened(session, run_jobs, application):
    run_jobs((SCREENING,))
    session.expire_all()
    session.refresh(application)
    hits = session.scalars(
        select(ScreeningHit)
        .join(ScreeningRun)
        .where(ScreeningRun.application_id == application.id)
        .order_by(ScreeningHit.id)
    ).all()
    row = session.scalar(
        select(ApplicationChip).where(ApplicationChip.application_id == application.id)
    )
    return hits, row


def test_a_verified_chip_and_a_matching_face_are_shown_to_officers(
    client, session, payload, run_jobs, runner, tmp_path: Path, signed_in
):
    chip = builder.chip(chip_image("obama-2"))
    assert "1 CSCA certificate(s) added" in import_csca(runner, tmp_path, chip.authority)
    application = _apply(client, session, payload, chip)
    hits, row = _screened(session, run_jobs, application)
    assert hits == []
    assert application.status == S.APPROVED  # by the other checks: the chip clears nobody
    assert row.result == "verified"
    assert row.details["csca"] == "CN=CSCA Test,O=Passport Office,C=SE"
    assert row.face_distance is not None and row.face_distance <= row.face_threshold == 0.6
    officer, _staff = signed_in("officer")
    page = officer.get(f"/officer/cases/{application.id}").get_data(as_text=True)
    assert 'data-chip-result="verified"' in page and "Chip verified" in page
    assert f"Distance {row.face_distance:.3f}; threshold 0.60" in page


def test_a_data_group_changed_after_signing_is_referred_as_tampered(
    client, session, payload, run_jobs, runner, tmp_path: Path
):
    chip = builder.chip(chip_image("obama-2"))
    import_csca(runner, tmp_path, chip.authority)
    chip.dg2 = builder.dg2(chip_image("obama-1"))  # the face swapped, the SOD left as it was
    application = _apply(client, session, payload, chip)
    hits, row = _screened(session, run_jobs, application)
    assert application.status == S.REFERRED  # referred, never refused
    assert [(h.check_name, h.code) for h in hits] == [("chip", "chip_tampered")]
    assert hits[0].details["data_groups"] == [2]
    assert "DG2" in hits[0].explanation and "no reason to refuse" in hits[0].explanation
    assert row.result == "tampered"


def test_a_signer_no_imported_csca_issued_is_referred(
    client, session, payload, run_jobs, runner, tmp_path: Path
):
    import_csca(runner, tmp_path, builder.csca("FR", "CSCA France"))
    application = _apply(client, session, payload, builder.chip(chip_image("obama-2")))
    hits, row = _screened(session, run_jobs, application)
    assert application.status == S.REFERRED
    assert [(h.check_name, h.code) for h in hits] == [("chip", "chip_unknown_csca")]
    assert "eta chip import-csca" in hits[0].explanation
    assert row.result == "unknown_csca"


def test_an_expired_document_signer_is_referred(
    client, session, payload, run_jobs, runner, tmp_path: Path
):
    authority = builder.csca()
    signer = builder.document_signer(
        authority, not_before=NOW - dt.timedelta(days=900), not_after=NOW - dt.timedelta(days=1)
    )
    import_csca(runner, tmp_path, authority)
    chip = builder.chip(chip_image("obama-2"), authority=authority, signer=signer)
    application = _apply(client, session, payload, chip)
    hits, row = _screened(session, run_jobs, application)
    assert application.status == S.REFERRED
    assert [(h.check_name, h.code) for h in hits] == [("chip", "chip_signer_expired")]
    assert row.result == "signer_expired"


def test_a_photo_of_another_person_than_the_chip_is_a_face_mismatch(
    client, session, payload, run_jobs, runner, tmp_path: Path, signed_in
):
    chip = builder.chip(chip_image("collins"))
    import_csca(runner, tmp_path, chip.authority)
    application = _apply(client, session, payload, chip, photo="obama-1")
    hits, row = _screened(session, run_jobs, application)
    assert application.status == S.REFERRED
    assert [(h.check_name, h.code) for h in hits] == [("face", "face_mismatch")]
    (hit,) = hits
    assert hit.details["distance"] > hit.details["threshold"] == 0.6
    assert f"distance {hit.details['distance']:.3f}" in hit.explanation
    assert "no reason to refuse" in hit.explanation
    assert row.result == "verified" and row.face_distance == hit.details["distance"]
    officer, staff = signed_in("officer")
    page = officer.get(f"/officer/cases/{application.id}").get_data(as_text=True)
    assert "face_mismatch" in page and "Chip verified" in page
    # The two faces side by side: the photo and the chip's, each served (and audited) alone.
    assert f'src="/officer/cases/{application.id}/chip-face"' in page
    assert f'src="/officer/cases/{application.id}/photo"' in page
    response = officer.get(f"/officer/cases/{application.id}/chip-face")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.data[:2] == b"\xff\xd8" and response.headers["Cache-Control"].startswith(
        "no-store"
    )
    viewed = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "application.chip_face_viewed")
    ).all()
    assert [(e.actor, e.object_id) for e in viewed] == [
        (f"officer:{staff.id}", application.reference)
    ]
    # Signed-out visitors and every role: tests/officer/test_access.py walks this route too.


def test_a_chip_without_a_photo_is_still_authenticated(
    client, session, payload, run_jobs, runner, tmp_path: Path
):
    chip = builder.chip(chip_image("collins"))
    import_csca(runner, tmp_path, chip.authority)
    application = _apply(client, session, payload, chip, photo=None)
    hits, row = _screened(session, run_jobs, application)
    assert (hits, row.result, row.face_distance) == ([], "verified", None)


def test_chip_files_that_do_not_open_fail_the_check_and_refer(
    client, session, payload, run_jobs, runner, tmp_path: Path
):
    chip = builder.chip(chip_image("obama-2"))
    import_csca(runner, tmp_path, chip.authority)
    application = _apply(client, session, payload, chip)
    # Another application's sealed SOD does not open under this one's id.
    other = session.scalar(select(ApplicationChip.sod_sealed))
    key = sealing.parse_key(client.application.config["ETA_PHOTO_KEY"])
    session.execute(
        update(ApplicationChip).values(
            sod_sealed=sealing.seal(key, "chip-sod", application.id + 9, other)
        )
    )
    session.commit()
    hits, _row = _screened(session, run_jobs, application)
    assert application.status == S.REFERRED
    assert [(h.check_name, h.code) for h in hits] == [("check_failed", "chip_failed")]


def test_retention_erases_the_chip(app, client, session, payload, run_jobs, runner, tmp_path):
    chip = builder.chip(chip_image("obama-2"))
    import_csca(runner, tmp_path, chip.authority)
    application = _apply(client, session, payload, chip)
    run_jobs((SCREENING,))
    session.refresh(application)
    assert session.scalar(select(ApplicationChip)) is not None
    session.execute(
        update(Application)
        .where(Application.id == application.id)
        .values(status=S.WITHDRAWN, erase_after=utcnow() - dt.timedelta(days=1))
    )
    session.commit()
    assert retention.erase_due(session).applications == 1
    session.expire_all()
    assert session.scalar(select(ApplicationChip)) is None
