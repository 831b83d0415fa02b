"""The request's edge (issue 13): bad text and numbers are 4xx, links never follow Host,
back links never follow Referer, logs carry no query parameters, token claims are bounded."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from config import load_settings
from eta import applications, authorisations
from eta.accounts import create_carrier
from eta.extensions import db
from eta.issuance.keys import Keyring
from tests.factories import submitted_application, valid_payload
from tests.officer.conftest import (  # noqa: F401  (fixtures)
    Staff,
    csrf_token,
    make_officer,
    password_hash,
    signed_in,
)
from tests.traveller.conftest import smtp_server  # noqa: F401  (fixture)

EVIL = {"Host": "evil.example"}
STATUS_API = "/api/v1/applications/status"


@pytest.fixture
def no_rate_limits() -> Any:
    """Many requests from one client in one test."""
    from eta.extensions import limiter

    limiter.enabled = False
    yield
    limiter.enabled = True


@pytest.fixture
def signing_key(app: Flask) -> None:
    """An active key in the test keyring."""
    ring = Keyring.load(Path(os.environ["ETA_KEYS_DIR"]))
    if not any(info.state == "active" for info in ring.list()):
        ring.generate()


# ---- finding 10: NUL, lone surrogates, huge integers ---------------------------------------


@pytest.mark.parametrize("bad", ["ETA-2222\x00-2222-22", "ETA-\ud800-2222"])
def test_nul_or_a_lone_surrogate_in_a_json_string_is_a_422_naming_the_field(
    client: FlaskClient, no_rate_limits: None, bad: str
) -> None:
    body = {"reference": bad, "passport_number": "X12345", "date_of_birth": "1990-01-01"}
    response = client.post(STATUS_API, json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert list(response.get_json()["errors"]) == ["reference"]


def test_nul_deep_in_an_application_is_a_422_with_its_path(
    client: FlaskClient, no_rate_limits: None
) -> None:
    payload = valid_payload()
    payload["passport"]["number"] = "L898\x00902C3"
    response = client.post("/api/v1/applications", json=payload)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["passport.number"]


@pytest.mark.parametrize("number", [b"1e400", b"123456789012345678901234567890"])
def test_numbers_no_client_agrees_on_are_a_400(
    client: FlaskClient, no_rate_limits: None, number: bytes
) -> None:
    raw = b'{"reference": ' + number + b', "passport_number": "X1", "date_of_birth": "x"}'
    response = client.post(STATUS_API, data=raw, content_type="application/json")
    assert response.status_code == 400
    assert "number" in response.get_json()["detail"]


@pytest.mark.parametrize(
    ("path", "field"),
    [("/officer/sign-in", "email"), ("/carrier/sign-in", "email"), ("/status", "reference")],
)
def test_nul_in_a_form_field_is_a_400_page(client: FlaskClient, path: str, field: str) -> None:
    data = {
        "csrf_token": csrf_token(client, path),
        "email": "someone@example.org",
        "password": "whatever it is",
        "reference": "ETA-2222-2222-22",
        "passport_number": "X12345",
        field: "a\x00b@example.org",
    }
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert "there is a problem with your request" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("role", "path", "expected"),
    [
        ("officer", "/officer/cases/2147483648", 404),
        ("supervisor", "/officer/rules/99999999999", 404),
        ("admin", "/officer/admin/audit?before=99999999999999999999", 200),
        ("admin", "/officer/admin/audit?action=%00", 400),
        ("officer", "/officer/?check=%00", 400),
        ("supervisor", "/officer/watchlists/1?q=%00", 400),
    ],
)
def test_the_signed_in_pages_that_answered_500(
    signed_in: Callable[..., tuple[FlaskClient, Staff]],  # noqa: F811  (the fixture)
    role: str,
    path: str,
    expected: int,
) -> None:
    client, _staff = signed_in(role)
    assert client.get(path).status_code == expected


# ---- finding 2: Host never goes into a link ---------------------------------------------------


def test_the_api_links_come_from_the_public_url_not_from_host(
    app: Flask, client: FlaskClient, no_rate_limits: None
) -> None:
    submitted = client.post("/api/v1/applications", json=valid_payload(), headers=EVIL)
    assert submitted.status_code == 202
    public = app.config["ETA_PUBLIC_URL"]
    assert submitted.headers["Location"] == f"{public}/api/v1/applications/status"
    assert submitted.get_json()["status_url"] == f"{public}/status"
    query = {
        "reference": submitted.get_json()["reference"],
        "passport_number": "L898902C3",
        "date_of_birth": "1974-08-12",
    }
    status = client.post(STATUS_API, json=query, headers=EVIL)
    assert status.get_json()["status_url"] == f"{public}/status"


def test_the_pdf_link_comes_from_the_public_url_not_from_host(
    app: Flask, client: FlaskClient, no_rate_limits: None, signing_key: None
) -> None:
    with app.app_context():
        application = submitted_application(db.session)
        applications.start_screening(db.session, application)
        applications.approve(db.session, application)
        authorisations.issue_for(db.session, application)
        query = {
            "reference": application.reference,
            "passport_number": application.passport_number,
            "date_of_birth": application.date_of_birth.isoformat(),
        }
        db.session.commit()
    status = client.post(STATUS_API, json=query, headers=EVIL)
    pdf_url = status.get_json()["authorisation"]["pdf_url"]
    assert pdf_url.startswith(app.config["ETA_PUBLIC_URL"] + "/authorisation/")


def test_the_resume_email_links_to_the_public_url_whatever_the_host(
    app: Flask,
    client: FlaskClient,
    smtp_server: Any,  # noqa: F811
) -> None:
    evil = "http://evil.example"  # the whole visit under that Host, cookies included
    client.get("/apply", base_url=evil)
    form = client.get("/apply/save", base_url=evil).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    response = client.post(
        "/apply/save",
        data={"csrf_token": token.group(1), "email": "anna@example.org"},
        base_url=evil,
    )
    assert response.status_code == 200, response.text
    body = smtp_server.messages[0].get_body(("plain",)).get_content()
    links = re.findall(r"https?://\S+", body)
    assert links and all(link.startswith(app.config["ETA_PUBLIC_URL"] + "/") for link in links)
    assert "evil.example" not in body


def test_production_trusts_only_the_public_hosts(tmp_path: Path) -> None:
    production = {
        "ETA_ENV": "production",
        "ETA_SECRET_KEY": "s" * 40,
        "ETA_DATABASE_URL": "postgresql+psycopg://db/eta",
        "ETA_REDIS_URL": "redis://redis:6379/0",
        "ETA_PDF_SIGNING_CERT": "/etc/eta/pdf-signing-cert.pem",
        "ETA_PDF_SIGNING_KEY": "/etc/eta/pdf-signing-key.pem",
        "ETA_ISSUER": "https://eta.example.gov",
    }
    assert load_settings(tmp_path, production)["TRUSTED_HOSTS"] == ["eta.example.gov"]
    listed = {**production, "ETA_TRUSTED_HOSTS": "eta.example.gov, internal.lb"}
    assert load_settings(tmp_path, listed)["TRUSTED_HOSTS"] == ["eta.example.gov", "internal.lb"]
    assert load_settings(tmp_path, {})["TRUSTED_HOSTS"] is None  # development: any Host


def test_an_unexpected_host_is_refused(make_app: Callable[..., Flask]) -> None:
    guarded = make_app({"TRUSTED_HOSTS": ["eta.test"]})
    client = guarded.test_client()
    assert client.get("/healthz", headers={"Host": "eta.test"}).status_code == 200
    assert client.get("/healthz", headers=EVIL).status_code == 400
    assert client.get("/apply", headers=EVIL).status_code == 400
    refused = client.post("/api/v1/applications", json=valid_payload(), headers=EVIL)
    assert refused.status_code == 400
    assert refused.mimetype == "application/problem+json"


# ---- finding 12: the back link is the journey's ------------------------------------------------


@pytest.mark.parametrize("referer", ["javascript:alert(1)", "https://evil.example/phish"])
def test_save_never_echoes_the_referer(client: FlaskClient, referer: str) -> None:
    client.get("/apply")
    page = client.get("/apply/save?page=contact", headers={"Referer": referer}).text
    assert referer not in page
    assert 'href="/apply/contact"' in page
    unknown = client.get("/apply/save?page=javascript:alert(1)", headers={"Referer": referer})
    assert "javascript:" not in unknown.text


# ---- finding 11: no parameter in the logs ---------------------------------------------------


def test_a_failed_query_logs_no_parameter(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    failing = make_app()
    missing = sa.table("no_such_table", sa.column("number"))

    @failing.get("/test-failing-query")
    def failing_query() -> str:
        db.session.execute(sa.select(missing).where(missing.c.number == "P2GWV2V97"))
        return "unreachable"

    with caplog.at_level(logging.ERROR):
        response = failing.test_client().get("/test-failing-query")
    assert response.status_code == 500
    logged = "\n".join(
        record.getMessage() + (str(record.exc_info[1]) if record.exc_info else "")
        for record in caplog.records
    )
    assert "no_such_table" in logged  # the failure itself is logged
    assert "P2GWV2V97" not in logged
    with failing.app_context():
        assert all(engine.hide_parameters for engine in db.engines.values())


# ---- finding 14: bounded claims -----------------------------------------------------------------


def _token_with(app: Flask, **claims: Any) -> str:
    with app.app_context():
        key = authorisations.keyring().active()
        issuer = authorisations.issuer()
    payload = {
        "iss": issuer,
        "aud": "eta-carriers",
        "sub": "ETA-2222-2222-22",
        "jti": "abcdefghijklmnopqrstuv",
        "iat": 1_700_000_000,
        "nbf": 1_700_000_000,
        "exp": 1_900_000_000,
        "doc": {"num": "L898902C3", "cty": "UTO"},
        "nam": {"fn": "ERIKSSON", "gn": "ANNA MARIA"},
        "dob": "1974-08-12",
        **claims,
    }
    return jwt.api_jws.PyJWS().encode(
        json.dumps(payload).encode(),
        key.private_key,
        algorithm="ES256",
        headers={"typ": "eta+jwt", "kid": key.kid},
    )


@pytest.mark.parametrize("claims", [{"exp": 10**30}, {"nbf": -(10**20)}, {"iat": 2 * 10**12}])
def test_a_really_signed_token_with_an_absurd_time_is_not_ok_in_the_api(
    app: Flask, client: FlaskClient, session: Any, signing_key: None, claims: dict[str, int]
) -> None:
    _carrier, key = create_carrier(session, "Test Air")
    response = client.post(
        "/api/v1/carrier/verify",
        json={"token": _token_with(app, **claims)},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200
    assert response.get_json() == {"result": "NOT_OK", "reason": "invalid_signature"}


def test_a_really_signed_token_with_an_absurd_exp_is_not_ok_in_the_cli(
    app: Flask, signing_key: None
) -> None:
    result = app.test_cli_runner().invoke(args=["verify", _token_with(app, exp=10**30)])
    assert result.exit_code == 1, result.output
    assert result.output.strip() == "NOT_OK invalid_signature (claim_out_of_range)"
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_public_verify_page_says_not_genuine(
    app: Flask, client: FlaskClient, signing_key: None
) -> None:
    token = _token_with(app, exp=10**30)
    page = client.post(
        "/verify", data={"csrf_token": csrf_token(client, "/verify"), "token": token}
    )
    assert page.status_code < 500
