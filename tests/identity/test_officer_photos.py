"""Officers see the photo and the face finding with both photos; every photo view is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from eta.models import AuditEvent
from tests.identity.conftest import b64, portrait
from tests.identity.test_face_screening import OTHER_PERSON, _apply

pytestmark = pytest.mark.usefixtures("no_rate_limits", "baseline_watchlist")


def test_the_case_shows_both_photos_of_a_face_finding(
    client, session, payload, run_jobs, signed_in
):
    from eta.tasks import SCREENING

    first = _apply(client, session, payload, portrait("obama-1"))
    second = _apply(client, session, payload, portrait("obama-2"), **OTHER_PERSON)
    run_jobs((SCREENING,))
    officer, staff = signed_in("officer")
    page = officer.get(f"/officer/cases/{second.id}").get_data(as_text=True)
    assert f'src="/officer/cases/{second.id}/photo"' in page
    assert f'src="/officer/cases/{first.id}/photo"' in page
    assert "identity_conflict" in page and "threshold 0.55" in page
    assert b64(portrait("obama-1"))[:40] not in page  # photos are never inlined in the page

    response = officer.get(f"/officer/cases/{first.id}/photo")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.data[:2] == b"\xff\xd8"
    assert response.headers["Cache-Control"] == "no-store, private"
    viewed = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "application.photo_viewed")
    ).all()
    assert [(e.actor, e.object_id) for e in viewed] == [(f"officer:{staff.id}", first.reference)]


def test_the_photo_is_for_signed_in_officers_only(app, client, session, payload):
    application = _apply(client, session, payload, portrait("obama-1"))
    assert app.test_client().get(f"/officer/cases/{application.id}/photo").status_code in (
        302,
        401,
    )


def test_no_photo_is_a_404(client, session, payload, signed_in):
    response = client.post("/api/v1/applications", json=payload)
    assert response.status_code == 202
    officer, _staff = signed_in("officer")
    assert officer.get("/officer/cases/1/photo").status_code == 404
