"""Face 1:N in screening, through the API and a real RQ worker: refers, never refuses."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from eta.applications import retention
from eta.identity import sealing, store
from eta.models import Application, ApplicationPhoto, ScreeningHit, ScreeningRun
from eta.models import ApplicationStatus as S
from eta.tasks import SCREENING
from eta.timeutil import utcnow
from tests.identity.conftest import b64, portrait

pytestmark = pytest.mark.usefixtures("no_rate_limits", "baseline_watchlist")

OTHER_PERSON = {
    "given_names": "Barry",
    "surname": "Soetoro",
    "sex": "M",
    "date_of_birth": "1961-08-04",
    "passport": {
        "number": "X1234567",
        "issuing_country": "USA",
        "issue_date": "2022-01-10",
        "expiry_date": "2032-01-09",
    },
    "nationality": "USA",
    "email": "barry@example.org",
}


def _apply(client, session, payload, picture, **fields) -> Application:
    document = {**payload, **fields, "photo": b64(picture)}
    response = client.post("/api/v1/applications", json=document)
    assert response.status_code == 202, response.get_json()
    return session.scalar(
        select(Application).where(Application.reference == response.get_json()["reference"])
    )


def _hits(session, application):
    session.expire_all()
    return session.scalars(
        select(ScreeningHit)
        .join(ScreeningRun)
        .where(ScreeningRun.application_id == application.id)
        .order_by(ScreeningHit.id)
    ).all()


def test_the_same_face_under_another_identity_is_referred_with_the_distance(
    client, session, payload, run_jobs
):
    first = _apply(client, session, payload, portrait("obama-1"))
    run_jobs((SCREENING,))
    session.refresh(first)
    assert first.status == S.APPROVED  # nobody to compare with yet
    second = _apply(client, session, payload, portrait("obama-2"), **OTHER_PERSON)
    run_jobs((SCREENING,))
    session.refresh(second)
    assert second.status == S.REFERRED  # referred, never refused
    (hit,) = [h for h in _hits(session, second) if h.check_name == "face"]
    assert hit.code == "identity_conflict"
    assert hit.related_application_id == first.id
    assert hit.details["distance"] < hit.details["threshold"] == 0.55
    assert set(hit.details["differs"]) == {"name", "date_of_birth", "passport"}
    assert first.reference in hit.explanation
    assert f"distance {hit.details['distance']:.3f}" in hit.explanation
    assert "no reason to refuse" in hit.explanation


def test_different_people_are_not_a_finding(client, session, payload, run_jobs):
    first = _apply(client, session, payload, portrait("collins"))
    second = _apply(client, session, payload, portrait("obama-1"), **OTHER_PERSON)
    run_jobs((SCREENING,))
    for application in (first, second):
        session.refresh(application)
        assert application.status == S.APPROVED
        assert _hits(session, application) == []


def test_the_same_person_under_the_same_identity_is_not_a_face_finding(
    client, session, payload, run_jobs
):
    _apply(client, session, payload, portrait("obama-1"), **OTHER_PERSON)
    run_jobs((SCREENING,))
    again = _apply(client, session, payload, portrait("obama-2"), **OTHER_PERSON)
    run_jobs((SCREENING,))
    assert [h for h in _hits(session, again) if h.check_name == "face"] == []


def test_a_template_that_failed_at_submission_is_computed_by_screening(
    client, session, payload, run_jobs
):
    first = _apply(client, session, payload, portrait("obama-1"))
    session.execute(update(ApplicationPhoto).values(template_sealed=None, template_version=None))
    session.commit()
    second = _apply(client, session, payload, portrait("obama-2"), **OTHER_PERSON)
    run_jobs((SCREENING,))
    session.expire_all()
    assert store.photo_row(session, first.id).template_sealed is not None
    assert [h.code for h in _hits(session, second) if h.check_name == "face"] == [
        "identity_conflict"
    ]


def test_a_model_error_fails_the_check_and_refers(client, session, payload, run_jobs):
    application = _apply(client, session, payload, portrait("obama-1"))
    # No template, and a face the recognition network cannot work from (no landmarks): dlib
    # raises, as it would on a corrupt model.
    session.execute(
        update(ApplicationPhoto).values(
            template_sealed=None,
            template_version=None,
            face={"box": [0, 0, 10, 10], "landmarks": []},
        )
    )
    session.commit()
    run_jobs((SCREENING,))
    session.refresh(application)
    assert application.status == S.REFERRED
    (hit,) = _hits(session, application)
    assert (hit.check_name, hit.code) == ("check_failed", "face_failed")
    assert hit.details == {"check": "face"}


def test_a_photo_that_does_not_open_fails_the_check(app, client, session, payload, run_jobs):
    application = _apply(client, session, payload, portrait("obama-1"))
    key = sealing.parse_key(app.config["ETA_PHOTO_KEY"])
    # Another application's sealed template moved onto this row does not open here.
    foreign = sealing.seal(key, store.TEMPLATE, application.id + 7, b"\0" * 512)
    session.execute(update(ApplicationPhoto).values(template_sealed=foreign))
    session.commit()
    run_jobs((SCREENING,))
    session.refresh(application)
    assert application.status == S.REFERRED
    assert [h.code for h in _hits(session, application)] == ["face_failed"]


def test_retention_erases_photos_and_templates(app, client, session, payload, run_jobs):
    application = _apply(client, session, payload, portrait("obama-1"))
    kept = _apply(client, session, payload, portrait("collins"), **OTHER_PERSON)
    run_jobs((SCREENING,))
    session.refresh(application)
    session.execute(
        update(Application)
        .where(Application.id == application.id)
        .values(status=S.WITHDRAWN, erase_after=utcnow() - dt.timedelta(days=1))
    )
    session.commit()
    result = retention.erase_due(session)
    assert result.applications == 1
    session.expire_all()
    assert store.photo_row(session, application.id) is None
    assert store.photo_row(session, kept.id) is not None
    # An erased applicant's face is no longer searched.
    key = sealing.parse_key(app.config["ETA_PHOTO_KEY"])
    assert store.gallery(session, key, excluding=0).application_ids == [kept.id]
