"""The officer's work: queue, case view, claims, decisions, information requests, locking."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import select
from werkzeug.test import TestResponse

from eta.extensions import db
from eta.models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    Decision,
    DecisionState,
    InformationRequest,
)
from eta.web.links import information_token
from tests.officer.conftest import Staff, csrf_token

SignedIn = Callable[..., tuple[FlaskClient, Staff]]


def _version(client: FlaskClient, case_id: int) -> str:
    """The case version as the officer's page holds it (the forms' hidden field)."""
    page = client.get(f"/officer/cases/{case_id}").get_data(as_text=True)
    match = re.search(r'name="version" value="(\d+)"', page)
    if match:
        return match.group(1)
    with client.application.app_context():
        application = db.session.get(Application, case_id)
        return str(application.version if application else 0)


def _post(client: FlaskClient, case_id: int, action: str, **data: str) -> TestResponse:
    form = {"csrf_token": csrf_token(client, "/officer/account"), **data}
    form.setdefault("version", _version(client, case_id))
    return client.post(f"/officer/cases/{case_id}/{action}", data=form)


def _status(app: Flask, case_id: int) -> str:
    with app.app_context():
        application = db.session.get(Application, case_id)
        assert application is not None
        return application.status


def test_queue_orders_by_deadline_and_filters(
    app: Flask, signed_in: SignedIn, make_case: Callable[..., int]
) -> None:
    late = make_case(deadline_hours=40, nationality="FRA")
    soon = make_case(deadline_hours=2, passport_number="X1", passport_number_normalised="X1")
    overdue = make_case(deadline_hours=-3, passport_number="X2", passport_number_normalised="X2")
    client, _staff = signed_in()
    page = client.get("/officer/").get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'/officer/cases/(\d+)"', page)]
    assert ids == [overdue, soon, late]
    assert "Overdue by" in page and "answers" in page

    french = client.get("/officer/?nationality=fra").get_data(as_text=True)
    assert re.findall(r'/officer/cases/(\d+)"', french) == [str(late)]
    overdue_only = client.get("/officer/?scope=overdue").get_data(as_text=True)
    assert re.findall(r'/officer/cases/(\d+)"', overdue_only) == [str(overdue)]
    assert "/officer/cases/" not in client.get("/officer/?check=watchlist").get_data(as_text=True)
    assert "/officer/cases/" not in client.get("/officer/?scope=mine").get_data(as_text=True)
    _post(client, soon, "claim")
    mine = client.get("/officer/?scope=mine").get_data(as_text=True)
    assert re.findall(r'/officer/cases/(\d+)"', mine) == [str(soon)]
    unclaimed = client.get("/officer/?scope=unclaimed").get_data(as_text=True)
    assert str(soon) not in re.findall(r'/officer/cases/(\d+)"', unclaimed)


def test_opening_a_case_shows_the_explanation_and_is_audited(
    app: Flask, signed_in: SignedIn, make_case: Callable[..., int]
) -> None:
    case_id = make_case()
    client, staff = signed_in()
    page = client.get(f"/officer/cases/{case_id}").get_data(as_text=True)
    assert "The applicant declared a criminal conviction: theft, 2009." in page
    with app.app_context():
        reference = db.session.get(Application, case_id).reference  # type: ignore[union-attr]
        viewed = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "application.viewed")
        ).all()
    assert [(e.actor, e.object_id) for e in viewed] == [(f"officer:{staff.id}", reference)]
    assert client.get("/officer/cases/999999").status_code == 404


def test_another_officers_claimed_case_cannot_be_decided(
    app: Flask, signed_in: SignedIn, make_case: Callable[..., int]
) -> None:
    case_id = make_case()
    first, _a = signed_in()
    second, _b = signed_in()
    assert _post(first, case_id, "claim").status_code == 302
    for action, data in [
        ("approve", {}),
        ("refuse", {"reason_code": "security", "note": "n"}),
        ("request-information", {"questions": "q?"}),
        ("release", {}),
        ("claim", {}),
    ]:
        assert _post(second, case_id, action, **data).status_code == 403, action
    assert _status(app, case_id) == ApplicationStatus.REFERRED
    # A supervisor may release someone else's claim (absence, sickness).
    supervisor, _s = signed_in("supervisor")
    assert _post(supervisor, case_id, "release").status_code == 302


def test_refusal_needs_a_different_supervisor(
    app: Flask, signed_in: SignedIn, make_case: Callable[..., int]
) -> None:
    case_id = make_case()
    proposer, _p = signed_in("supervisor")
    response = _post(proposer, case_id, "refuse", reason_code="security", note="Listed person")
    assert response.status_code == 302
    assert _status(app, case_id) == ApplicationStatus.REFERRED
    with app.app_context():
        decision = db.session.scalars(select(Decision)).one()
    # The proposer cannot confirm their own refusal, even as a supervisor.
    assert _post(proposer, case_id, f"decisions/{decision.id}/confirm").status_code == 403
    officer, _o = signed_in("officer")
    assert _post(officer, case_id, f"decisions/{decision.id}/confirm").status_code == 403
    assert _status(app, case_id) == ApplicationStatus.REFERRED
    second, _s = signed_in("supervisor")
    with app.app_context():
        reference = db.session.get(Application, case_id).reference  # type: ignore[union-attr]
    assert reference in second.get("/officer/decisions").get_data(as_text=True)
    assert _post(second, case_id, f"decisions/{decision.id}/confirm").status_code == 302
    assert _status(app, case_id) == ApplicationStatus.REFUSED
    with app.app_context():
        decision = db.session.scalars(select(Decision)).one()
        application = db.session.get(Application, case_id)
        assert decision.state == DecisionState.CONFIRMED
        assert application is not None and application.events[-1].reason_code == "security"


def test_refusal_needs_a_known_reason_and_a_note(
    app: Flask, signed_in: SignedIn, make_case: Callable[..., int]
) -> None:
    case_id = make_case()
    client, _staff = signed_in()
    _post(client, case_id, "refuse", reason_code="made_up", note="x")
    _post(client, case_id, "refuse", reason_code="security", note="  ")
    with app.app_context():
        assert db.session.scalars(select(Decision)).all() == []


def test_decision_ids_of_another_case_are_not_found(
    app: Flask, signed_in: SignedIn, make_case: Callable[..., int]
) -> None:
    case_a = make_case()
    case_b = make_case(passport_number="B1", passport_number_normalised="B1")
    proposer, _p = signed_in()
    _post(proposer, case_a, "refuse", reason_code="security", note="n")
    with app.app_context():
        decision_id = db.session.scalars(select(Decision.id)).one()
    supervisor, _s = signed_in("supervisor")
    assert _post(supervisor, case_b, f"decisions/{decision_id}/confirm").status_code == 404
    assert _post(supervisor, case_b, f"decisions/{decision_id}/reject").status_code == 404
    assert _post(supervisor, 999999, f"decisions/{decision_id}/confirm").status_code == 404
    assert _status(app, case_a) == _status(app, case_b) == ApplicationStatus.REFERRED


def test_a_stale_form_changes_nothing(
    app: Flask, signed_in: SignedIn, make_case: Callable[..., int]
) -> None:
    case_id = make_case()
    first, _a = signed_in("supervisor")
    second, _b = signed_in("supervisor")
    stale = _version(second, case_id)
    assert _post(first, case_id, "approve").status_code == 302
    response = _post(second, case_id, "refuse", reason_code="security", note="late", version=stale)
    assert response.status_code == 302
    assert "This case changed" in second.get(response.location).get_data(as_text=True)
    assert _status(app, case_id) == ApplicationStatus.APPROVED
    with app.app_context():
        assert db.session.scalars(select(Decision)).all() == []


def test_approval_queues_issuance(
    app: Flask, signed_in: SignedIn, make_case: Callable[..., int], redis: Redis
) -> None:
    case_id = make_case()
    client, staff = signed_in()
    assert _post(client, case_id, "approve").status_code == 302
    assert _status(app, case_id) == ApplicationStatus.APPROVED
    from rq.job import Job

    from eta.tasks import ISSUANCE, get_queue

    job = Job.fetch(
        f"issue-{case_id}", connection=redis, serializer=get_queue(ISSUANCE, redis).serializer
    )
    assert job.func_name == "workers.issuance.issue_authorisation" and job.args == [case_id]
    with app.app_context():
        application = db.session.get(Application, case_id)
        assert application is not None and application.events[-1].officer_id == staff.id


def test_information_request_round_trip(
    app: Flask, signed_in: SignedIn, make_case: Callable[..., int]
) -> None:
    case_id = make_case()
    client, _staff = signed_in()
    response = _post(
        client, case_id, "request-information", questions="Where did you work in 2019?"
    )
    assert response.status_code == 302
    assert _status(app, case_id) == ApplicationStatus.INFO_REQUESTED
    with app.app_context():
        info = db.session.scalars(select(InformationRequest)).one()
        deadline = db.session.get(Application, case_id).decision_deadline  # type: ignore[union-attr]
        token = information_token(info.id)
    traveller = app.test_client()
    assert traveller.get("/respond/not-a-token").status_code == 404
    page = traveller.get(f"/respond/{token}")
    assert "Where did you work in 2019?" in page.get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert match
    empty = traveller.post(f"/respond/{token}", data={"csrf_token": match.group(1), "answer": " "})
    assert empty.status_code == 400
    done = traveller.post(
        f"/respond/{token}", data={"csrf_token": match.group(1), "answer": "At a bakery in Lund."}
    )
    assert done.status_code == 200
    assert _status(app, case_id) == ApplicationStatus.REFERRED
    with app.app_context():
        application = db.session.get(Application, case_id)
        assert application is not None and application.decision_deadline is not None
        assert deadline is not None and application.decision_deadline >= deadline
    assert "At a bakery in Lund." in client.get(f"/officer/cases/{case_id}").get_data(as_text=True)
    # The link works once.
    again = traveller.get(f"/respond/{token}").get_data(as_text=True)
    assert "already answered" in again


def test_a_pending_refusal_blocks_approval_until_a_second_officer_answers(
    app: Flask, signed_in: SignedIn, make_case: Callable[..., int]
) -> None:
    """Wave 1 approved (and issued) a case whose refusal was proposed: four eyes bypassed."""
    case_id = make_case()
    officer, _o = signed_in("officer")
    _post(officer, case_id, "refuse", reason_code="security", note="UN-listed, score 1.00")
    blocked = _post(officer, case_id, "approve")
    assert blocked.status_code == 302
    page = officer.get(f"/officer/cases/{case_id}").get_data(as_text=True)
    assert "waits for a supervisor" in page
    assert _status(app, case_id) == ApplicationStatus.REFERRED
    # Nor may anyone else approve it, or send it back to the traveller, meanwhile.
    other, _p = signed_in("supervisor")
    _post(other, case_id, "release")
    _post(other, case_id, "approve")
    _post(other, case_id, "request-information", questions="Why?")
    assert _status(app, case_id) == ApplicationStatus.REFERRED
    with app.app_context():
        decision = db.session.scalars(select(Decision)).one()
        assert decision.state == DecisionState.PROPOSED
    # The supervisor's list shows it waiting; once rejected, the case may be approved.
    with app.app_context():
        reference = db.session.get(Application, case_id).reference  # type: ignore[union-attr]
    assert reference in other.get("/officer/decisions").get_data(as_text=True)
    # The queue says so too, in words (wave 1 showed only the raw status `referred`).
    queue = other.get("/officer/").get_data(as_text=True)
    row = queue[queue.index(reference) :].split("</tr>")[0]
    assert "Referred to an officer" in row and "Refusal proposed" in row
    assert _post(other, case_id, f"decisions/{decision.id}/reject").status_code == 302
    assert _post(other, case_id, "approve").status_code == 302
    assert _status(app, case_id) == ApplicationStatus.APPROVED


def test_an_unanswered_information_request_returns_the_case_to_the_queue(
    app: Flask, signed_in: SignedIn, make_case: Callable[..., int]
) -> None:
    """Wave 1 left a case in info_requested for ever when the traveller never answered."""
    import datetime as dt

    from eta.applications import decisions
    from workers.maintenance import lapse_information_requests

    case_id = make_case()
    client, _staff = signed_in()
    _post(client, case_id, "request-information", questions="Where did you work in 2019?")
    assert _status(app, case_id) == ApplicationStatus.INFO_REQUESTED
    with app.app_context():
        days = app.config["ETA_INFORMATION_DAYS"]
        assert days == 21
        # Not yet due: nothing moves.
        assert lapse_information_requests() == 0
        info = db.session.scalars(select(InformationRequest)).one()
        info.created_at -= dt.timedelta(days=days, minutes=1)
        db.session.commit()
        token = information_token(info.id)
        assert lapse_information_requests() == 1
        assert decisions.lapse_information(db.session, days=days) == 0  # once only
        application = db.session.get(Application, case_id)
        assert application is not None
        assert application.status == ApplicationStatus.REFERRED
        assert application.deadline_paused_at is None
        assert application.events[-1].reason_code == "information_not_received"
    page = client.get(f"/officer/cases/{case_id}").get_data(as_text=True)
    assert "information_not_received" in page or "not received" in page.lower()
    # The traveller's link no longer takes an answer.
    late = app.test_client().get(f"/respond/{token}").get_data(as_text=True)
    assert 'name="answer"' not in late


def test_the_case_page_shows_answers_and_codes_in_words(
    signed_in: SignedIn, make_case: Callable[..., int]
) -> None:
    """Wave 1 showed `criminal_conviction False`, `Purpose tourism` and dropped the postcode."""
    case_id = make_case(address_postcode="111 29", travel_purpose="tourism")
    officer, _o = signed_in("officer")
    page = unescape(officer.get(f"/officer/cases/{case_id}").get_data(as_text=True))
    assert "Have you ever been convicted of a criminal offence in any country?" in page
    assert "criminal_conviction</dt>" not in page and "False" not in page
    assert "Tourism or visiting family and friends" in page
    assert "Storgatan 1, Stockholm, 111 29, Sweden" in page
    assert "Referred to an officer" in page
    assert ">None<" not in page


def test_the_case_page_names_countries_in_the_officers_language(
    signed_in: SignedIn, make_case: Callable[..., int]
) -> None:
    """Issue 15: country names on the case page stayed English on a French page."""
    case_id = make_case(nationality="DEU")
    officer, _o = signed_in("officer")
    page = unescape(officer.get(f"/officer/cases/{case_id}?lang=fr").get_data(as_text=True))
    assert "Allemagne" in page and "Suède" in page
    assert "Germany" not in page
