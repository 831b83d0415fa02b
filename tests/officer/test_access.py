"""Access control for every officer route and role, CSRF on every form, the audit chain."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from werkzeug.routing import Rule

from eta.accounts.roles import ROLE_RANK
from eta.extensions import db
from eta.models import AuditEvent, Decision, DecisionKind
from eta.officer.auth import PUBLIC_ENDPOINTS
from eta.web.links import information_token
from tests.officer.conftest import Staff, csrf_token

SignedIn = Callable[..., tuple[FlaskClient, Staff]]
ROLES = ("officer", "supervisor", "admin")
SIGN_OUTS = {"officer.sign_out", "officer.sign_out_everywhere"}


def _officer_rules(app: Flask) -> list[Rule]:
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/officer/")]
    assert len(rules) > 20
    return rules


def _method(rule: Rule) -> str:
    return "GET" if "GET" in (rule.methods or ()) else "POST"


def _url(rule: Rule, ids: dict[str, int]) -> str:
    return re.sub(r"<(?:int:)?(\w+)>", lambda m: str(ids.get(m.group(1), 1)), rule.rule)


def test_every_officer_route_declares_a_role(app: Flask) -> None:
    for rule in _officer_rules(app):
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "required_role", None) is not None, rule.endpoint


def test_signed_out_visitors_are_sent_to_sign_in(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client, "/officer/sign-in")
    for rule in _officer_rules(app):
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = _url(rule, {})
        if _method(rule) == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token, "version": "1"})
        assert response.status_code == 302, (rule.rule, response.status_code)
        assert response.location.endswith("/officer/sign-in"), rule.rule


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_its_routes(
    app: Flask,
    role: str,
    signed_in: SignedIn,
    make_officer: Callable[..., Staff],
    make_case: Callable[..., int],
) -> None:
    client, staff = signed_in(role)
    proposer = make_officer("officer")
    token = csrf_token(client, "/officer/account")
    for rule in _officer_rules(app):
        if rule.endpoint in PUBLIC_ENDPOINTS | SIGN_OUTS:
            continue
        case_id = make_case(passport_number=f"P{rule.endpoint[-8:]}")
        with app.app_context():
            decision = Decision(
                application_id=case_id,
                kind=DecisionKind.REFUSE,
                reason_code="security",
                note="n",
                proposed_by_id=proposer.id,
            )
            db.session.add(decision)
            db.session.commit()
            ids = {"application_id": case_id, "decision_id": decision.id, "officer_id": proposer.id}
        url = _url(rule, ids)
        if _method(rule) == "GET":
            response = client.get(url)
        else:
            form = {
                "csrf_token": token,
                "version": "2",
                "reason_code": "security",
                "note": "n",
                "questions": "q",
                "active": "1",
                "email": f"new-{rule.endpoint}@border.test",
                "password": "a long enough password",
                "role": "officer",
                "name": f"rule {rule.endpoint}",
            }
            response = client.post(url, data=form)
        required = getattr(app.view_functions[rule.endpoint], "required_role")  # noqa: B009
        allowed = ROLE_RANK[role] >= ROLE_RANK[required.value]
        if allowed:
            assert response.status_code not in (401, 403), (role, rule.rule, response.status_code)
            assert response.status_code < 500, (role, rule.rule)
            assert not (response.location or "").endswith("/sign-in"), (role, rule.rule)
        else:
            assert response.status_code == 403, (role, rule.rule, response.status_code)
    assert client.get("/officer/").status_code == 200, "still signed in"
    assert staff.role == role


def test_every_form_post_needs_a_csrf_token(
    app: Flask, signed_in: SignedIn, make_case: Callable[..., int]
) -> None:
    client, _staff = signed_in("admin")
    case_id = make_case()
    for rule in _officer_rules(app):
        if "POST" not in (rule.methods or ()):
            continue
        response = client.post(_url(rule, {"application_id": case_id}), data={"version": "2"})
        assert response.status_code == 400, rule.rule
    with app.app_context():
        assert db.session.scalar(select(Decision.id)) is None
    anonymous = app.test_client()
    assert anonymous.post("/respond/anything", data={"answer": "x"}).status_code == 400


def test_forged_and_unknown_ids_are_not_found(
    app: Flask, signed_in: SignedIn, make_case: Callable[..., int]
) -> None:
    client, _staff = signed_in("admin")
    token = csrf_token(client, "/officer/account")
    assert client.get("/officer/cases/424242").status_code == 404
    for action in ("claim", "approve", "release", "revoke"):
        response = client.post(
            f"/officer/cases/424242/{action}", data={"csrf_token": token, "version": "1"}
        )
        assert response.status_code == 404, action
    response = client.post(
        "/officer/admin/officers/424242/end-sessions", data={"csrf_token": token}
    )
    assert response.status_code == 404
    case_id = make_case()
    # Revoking a case that has no authorisation finds nothing to revoke.
    response = client.post(
        f"/officer/cases/{case_id}/revoke",
        data={"csrf_token": token, "version": "2", "reason_code": "other"},
    )
    assert response.status_code == 404
    with app.app_context():
        forged = information_token(1)[:-2] + "xx"
    assert app.test_client().get(f"/respond/{forged}").status_code == 404


def test_audit_chain_holds_after_officer_work_and_breaks_when_edited(
    app: Flask, signed_in: SignedIn, make_case: Callable[..., int]
) -> None:
    client, _staff = signed_in("officer")
    case_id = make_case()
    client.get(f"/officer/cases/{case_id}")
    token = csrf_token(client, "/officer/account")
    client.post(f"/officer/cases/{case_id}/claim", data={"csrf_token": token, "version": "2"})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        viewed = db.session.scalars(
            select(AuditEvent.id).where(AuditEvent.action == "application.viewed")
        ).one()
        db.session.execute(
            text("UPDATE audit_events SET actor = 'officer:999' WHERE id = :id"), {"id": viewed}
        )
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"event {viewed}" in result.output
