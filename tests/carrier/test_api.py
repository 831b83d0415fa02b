"""The carrier API: authentication, every answer of SPEC §4, batches, validation, the query log."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from eta import applications, authorisations
from eta.accounts import new_api_key, revoke_api_keys
from eta.carrier.querylog import QueryLog
from eta.carrier.service import carrier_engine, query_log
from eta.extensions import db
from eta.models import Actor, Carrier, CarrierQuery, Officer
from eta.timeutil import today, utcnow
from tests import factories

VERIFY = "/api/v1/carrier/verify"
BATCH = "/api/v1/carrier/verify-batch"


def _officer(session: Any) -> Officer:
    officer = Officer(email="o@example.gov", password_hash="x", totp_secret="A" * 32)
    session.add(officer)
    session.commit()
    return officer


def _refused(session: Any, pending: Any, **overrides: Any) -> None:
    application = pending(**overrides)
    applications.refer(session, application, deadline=utcnow() + dt.timedelta(days=4))
    officer = _officer(session)
    factories.refuse(
        session, application, officer_id=officer.id, reason_code="watchlist", note=None
    )


def _post(client: Any, url: str, body: Any, headers: dict[str, str]) -> Any:
    return client.post(url, json=body, headers=headers)


# --- authentication -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "Basic abc", "Bearer ", "Bearer short", "Bearer eta_" + "x" * 43],
)
def test_missing_malformed_or_unknown_key_is_401_problem(client, carrier_key, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.post(VERIFY, json={"token": "x"}, headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["status"] == 401


def test_right_prefix_wrong_key_is_refused(client, carrier_key):
    forged = carrier_key[:-4] + ("AAAA" if not carrier_key.endswith("AAAA") else "BBBB")
    response = client.post(
        VERIFY, json={"token": "x"}, headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401


def test_revoked_key_is_refused_and_rotation_keeps_two_keys_valid(client, session, carrier_key):
    carrier = session.scalar(select(Carrier))
    second = new_api_key(session, carrier)
    body = {"passport_number": "X1", "issuing_country": "SWE"}
    for key in (carrier_key, second):
        assert (
            client.post(VERIFY, json=body, headers={"Authorization": f"Bearer {key}"}).status_code
            == 200
        )
    revoke_api_keys(session, carrier)
    response = client.post(VERIFY, json=body, headers={"Authorization": f"Bearer {second}"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_key_revoked_after_use_is_refused_for_batches_and_bad_bodies(
    client, session, carrier_key
):
    # This process has seen the key (it skips the look-up next time); the revocation must
    # still count at once, on every endpoint and whatever the body.
    headers = {"Authorization": f"Bearer {carrier_key}"}
    body = {"passport_number": "X1", "issuing_country": "SWE"}
    assert client.post(VERIFY, json=body, headers=headers).status_code == 200
    assert client.post(BATCH, json={"passengers": [body]}, headers=headers).status_code == 200
    revoke_api_keys(session, session.scalar(select(Carrier)))
    assert client.post(BATCH, json={"passengers": [body]}, headers=headers).status_code == 401
    assert client.post(VERIFY, json={"nope": 1}, headers=headers).status_code == 401
    malformed = client.post(
        VERIFY, data=b"{", headers={**headers, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 401
    # A valid key with a bad body still hears what is wrong with the body.
    carrier = session.scalar(select(Carrier))
    fresh = {"Authorization": f"Bearer {new_api_key(session, carrier)}"}
    assert client.post(VERIFY, json={"nope": 1}, headers=fresh).status_code == 422
    assert client.post(VERIFY, json=body, headers=headers).status_code == 401
    query_log().flush()
    assert session.scalar(select(func.count()).select_from(CarrierQuery)) == 2


def test_a_dropped_database_connection_is_retried(app, client, session, auth_headers):
    # The carrier engine skips the per-request ping; a connection the server has closed
    # (restart, idle timeout) must cost a retry, not a 500.
    engine = carrier_engine()
    if engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL to terminate a server connection")
    body = {"passport_number": "X1", "issuing_country": "SWE"}
    assert client.post(VERIFY, json=body, headers=auth_headers).status_code == 200
    with engine.connect() as connection:
        mine = connection.scalar(text("SELECT pg_backend_pid()"))
    session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": mine})
    session.commit()
    response = client.post(VERIFY, json=body, headers=auth_headers)
    assert response.status_code == 200
    assert response.get_json()["reason"] == "not_found"


def test_rate_limit_is_per_key_with_a_clear_429(app, client, session, carrier_key):
    carrier = session.scalar(select(Carrier))
    other = new_api_key(session, carrier)
    # Per day, so a minute boundary in the middle of a slow run cannot reset the count.
    saved_limit = app.config["ETA_CARRIER_RATE_LIMIT"]
    app.config["ETA_CARRIER_RATE_LIMIT"] = "3/day"
    try:
        body = {"passport_number": "X1", "issuing_country": "SWE"}
        mine = {"Authorization": f"Bearer {carrier_key}"}
        codes = [client.post(VERIFY, json=body, headers=mine).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.post(VERIFY, json=body, headers=mine)
        assert limited.mimetype == "application/problem+json"
        assert "API key" in limited.get_json()["detail"]
        assert "Retry-After" in limited.headers
        theirs = {"Authorization": f"Bearer {other}"}
        assert client.post(VERIFY, json=body, headers=theirs).status_code == 200
    finally:
        app.config["ETA_CARRIER_RATE_LIMIT"] = saved_limit


def test_every_limit_of_a_key_counts(app, client, carrier_key):
    # Several limits in one setting are counted in the same round trip; the tighter one trips.
    saved_limit = app.config["ETA_CARRIER_RATE_LIMIT"]
    app.config["ETA_CARRIER_RATE_LIMIT"] = "100/day;2/hour"
    try:
        body = {"passport_number": "X1", "issuing_country": "SWE"}
        headers = {"Authorization": f"Bearer {carrier_key}"}
        codes = [client.post(VERIFY, json=body, headers=headers).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        limited = client.post(VERIFY, json=body, headers=headers)
        assert "2 per 1 hour" in limited.get_json()["detail"]
        assert 0 < int(limited.headers["Retry-After"]) <= 3600
    finally:
        app.config["ETA_CARRIER_RATE_LIMIT"] = saved_limit


# --- answers ------------------------------------------------------------------------------


def test_ok_by_token_and_by_passport(client, auth_headers, authorise):
    authorisation = authorise()
    by_token = _post(client, VERIFY, {"token": authorisation.token}, auth_headers).get_json()
    by_passport = _post(
        client,
        VERIFY,
        {"passport_number": "l898902c3", "issuing_country": "swe", "date_of_birth": "1974-08-12"},
        auth_headers,
    ).get_json()
    for answer in (by_token, by_passport):
        assert answer["result"] == "OK"
        assert answer["reason"] == "ok"
        assert answer["reference"] == authorisation.application.reference
        assert answer["surname"] == "ERIKSSON"
        assert answer["given_names"] == "ANNA MARIA"
        assert dt.datetime.fromisoformat(
            answer["valid_until"]
        ) == authorisation.valid_until.replace(microsecond=0)
        assert set(answer) == {
            "result",
            "reason",
            "reference",
            "valid_until",
            "surname",
            "given_names",
        }


def test_not_found(client, auth_headers, signing_key):
    answer = _post(
        client, VERIFY, {"passport_number": "ZZ0000000", "issuing_country": "SWE"}, auth_headers
    ).get_json()
    assert answer == {"result": "NOT_OK", "reason": "not_found"}


def test_pending_and_refused(client, session, auth_headers, pending):
    pending(passport_number="P1", passport_number_normalised="P1")
    _refused(session, pending, passport_number="R1", passport_number_normalised="R1")
    for number, reason in (("P1", "pending"), ("R1", "refused")):
        answer = _post(
            client, VERIFY, {"passport_number": number, "issuing_country": "SWE"}, auth_headers
        ).get_json()
        assert answer == {"result": "NOT_OK", "reason": reason}


def test_revoked_immediately_after_revocation(client, session, auth_headers, authorise):
    authorisation = authorise()
    token = authorisation.token
    assert _post(client, VERIFY, {"token": token}, auth_headers).get_json()["result"] == "OK"
    authorisations.revoke(
        session, authorisation, reason_code="new_information", officer_id=None, actor=Actor.SYSTEM
    )
    for body in ({"token": token}, {"passport_number": "L898902C3", "issuing_country": "SWE"}):
        answer = _post(client, VERIFY, body, auth_headers).get_json()
        assert answer == {"result": "NOT_OK", "reason": "revoked"}


def test_expired_by_token_and_by_passport(client, auth_headers, authorise):
    authorisation = authorise(issued_at=utcnow() - dt.timedelta(days=3 * 366))
    for body in (
        {"token": authorisation.token},
        {"passport_number": "L898902C3", "issuing_country": "SWE"},
    ):
        assert _post(client, VERIFY, body, auth_headers).get_json() == {
            "result": "NOT_OK",
            "reason": "expired",
        }


def test_travel_date_after_validity_is_expired(client, auth_headers, authorise):
    authorisation = authorise()
    later = (authorisation.valid_until + dt.timedelta(days=2)).date().isoformat()
    body = {"passport_number": "L898902C3", "issuing_country": "SWE", "travel_date": later}
    assert _post(client, VERIFY, body, auth_headers).get_json()["reason"] == "expired"
    body["travel_date"] = (today() + dt.timedelta(days=10)).isoformat()
    assert _post(client, VERIFY, body, auth_headers).get_json()["result"] == "OK"


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["doc"]["num"] = "X9999999"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_tampered_token_is_invalid_signature(client, auth_headers, authorise):
    authorisation = authorise()
    for token in (_tamper(authorisation.token), "not-a-token", authorisation.token[:-6] + "AAAAAA"):
        answer = _post(client, VERIFY, {"token": token}, auth_headers).get_json()
        assert answer == {"result": "NOT_OK", "reason": "invalid_signature"}


def test_token_for_another_passport_is_document_mismatch(client, auth_headers, authorise):
    token = authorise().token
    for extra in (
        {"passport_number": "L898902C4"},
        {"issuing_country": "NOR"},
        {"date_of_birth": "1974-08-13"},
    ):
        answer = _post(client, VERIFY, {"token": token, **extra}, auth_headers).get_json()
        assert answer == {"result": "NOT_OK", "reason": "document_mismatch"}
    answer = _post(
        client, VERIFY, {"token": token, "passport_number": "L898902 C3"}, auth_headers
    ).get_json()
    assert answer["result"] == "OK"


def test_wrong_birth_date_by_passport_is_document_mismatch(client, auth_headers, authorise):
    authorise()
    body = {"passport_number": "L898902C3", "issuing_country": "SWE", "date_of_birth": "1980-01-01"}
    assert _post(client, VERIFY, body, auth_headers).get_json()["reason"] == "document_mismatch"


def test_exempt_nationality_is_not_applicable(client, auth_headers, signing_key):
    answer = _post(
        client, VERIFY, {"passport_number": "123456789", "issuing_country": "GBR"}, auth_headers
    ).get_json()
    assert answer == {"result": "NOT_APPLICABLE", "reason": "exempt_nationality"}


def test_latest_application_decides_and_a_valid_one_wins(
    client, session, auth_headers, pending, authorise
):
    _refused(session, pending)
    authorise()
    body = {"passport_number": "L898902C3", "issuing_country": "SWE"}
    assert _post(client, VERIFY, body, auth_headers).get_json()["result"] == "OK"


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({}, "passport_number"),
        ({"passport_number": "L898902C3"}, "issuing_country"),
        ({"passport_number": "L898902C3", "issuing_country": "SE"}, "issuing_country"),
        ({"passport_number": 5, "issuing_country": "SWE"}, "passport_number"),
        (
            {"passport_number": "A1", "issuing_country": "SWE", "travel_date": "2026-02-30"},
            "travel_date",
        ),
        (
            {"passport_number": "A1", "issuing_country": "SWE", "date_of_birth": "20200101"},
            "date_of_birth",
        ),
        ({"passport_number": "A1", "issuing_country": "SWE", "name": "x"}, "name"),
        ({"token": ""}, "token"),
        ({"token": 7}, "token"),
    ],
)
def test_bad_bodies_are_422_with_field_paths(client, auth_headers, body, path):
    response = client.post(VERIFY, json=body, headers=auth_headers)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert path in response.get_json()["errors"]


COUNTRY_MESSAGE = (
    "Must be the issuing country's code as the passport prints it "
    "(ICAO 9303: ISO 3166-1 alpha-3, or D for Germany)."
)


def test_germanys_d_is_a_country_and_ger_is_not(client, auth_headers, authorise):
    """Wave 1 refused D (Germany's MRZ code) and took GER, which no passport prints."""
    authorise(
        passport_number="C01X00T47",
        passport_number_normalised="C01X00T47",
        passport_issuing_country="DEU",
        nationality="DEU",
    )
    body = {
        "passengers": [
            {"passport_number": "C01X00T47", "issuing_country": "D"},
            {"passport_number": "C01X00T47", "issuing_country": "GER"},
        ]
    }
    response = client.post(BATCH, json=body, headers=auth_headers)
    assert response.status_code == 200, response.get_json()
    by_d, by_ger = response.get_json()["results"]
    assert by_d["result"] == "OK", by_d
    assert by_ger == {"result": "ERROR", "errors": {"issuing_country": [COUNTRY_MESSAGE]}}


def test_an_invalid_passenger_gets_errors_in_its_place_and_the_others_are_answered(
    client, auth_headers, authorise
):
    """SPEC §6 batch answers (before: one bad passenger made the whole batch a 422)."""
    ok = authorise()
    body = {
        "passengers": [
            {"token": ok.token},
            {"passport_number": "A1", "issuing_country": "S"},
            3,
            {"passport_number": "L898902C3", "issuing_country": "SWE", "seat": "12A"},
            {"passport_number": "L898902C3", "issuing_country": "SWE"},
        ]
    }
    response = client.post(BATCH, json=body, headers=auth_headers)
    assert response.status_code == 200
    first, short_country, not_an_object, unknown_field, last = response.get_json()["results"]
    assert (first["result"], last["result"]) == ("OK", "OK")
    assert short_country == {
        "result": "ERROR",
        "errors": {"issuing_country": [COUNTRY_MESSAGE]},
    }
    assert not_an_object == {"result": "ERROR", "errors": {"": ["Must be an object."]}}
    assert unknown_field == {"result": "ERROR", "errors": {"seat": ["Unknown field."]}}
    only_errors = client.post(BATCH, json={"passengers": [7]}, headers=auth_headers)
    assert only_errors.get_json() == {
        "results": [{"result": "ERROR", "errors": {"": ["Must be an object."]}}]
    }


def test_a_batch_of_the_wrong_shape_is_a_422(client, auth_headers):
    assert client.post(BATCH, json={"passengers": {}}, headers=auth_headers).status_code == 422
    unknown = client.post(BATCH, json={"passengers": [], "flight": 1}, headers=auth_headers)
    assert set(unknown.get_json()["errors"]) == {"flight", "passengers"}
    too_many = {"passengers": [{"token": "x"}] * 1001}
    assert client.post(BATCH, json=too_many, headers=auth_headers).status_code == 422
    assert client.post(BATCH, json={"passengers": []}, headers=auth_headers).status_code == 422
    not_json = client.post(
        BATCH, data="{", headers={**auth_headers, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400


# --- batch --------------------------------------------------------------------------------


def test_batch_of_1000_mixed_passengers_in_order_with_one_query(
    app, client, session, auth_headers, authorise, pending, carrier_statements
):
    ok = authorise()
    revoked = authorise(passport_number="RV1", passport_number_normalised="RV1")
    authorisations.revoke(
        session, revoked, reason_code="new_information", officer_id=None, actor=Actor.SYSTEM
    )
    expired = authorise(
        passport_number="EX1",
        passport_number_normalised="EX1",
        issued_at=utcnow() - dt.timedelta(days=3 * 366),
    )
    pending(passport_number="PE1", passport_number_normalised="PE1")
    _refused(session, pending, passport_number="RF1", passport_number_normalised="RF1")
    kinds: list[tuple[dict[str, Any], tuple[str, str]]] = [
        ({"token": ok.token}, ("OK", "ok")),
        ({"passport_number": "L898902C3", "issuing_country": "SWE"}, ("OK", "ok")),
        ({"token": revoked.token}, ("NOT_OK", "revoked")),
        ({"passport_number": "RV1", "issuing_country": "SWE"}, ("NOT_OK", "revoked")),
        ({"token": expired.token}, ("NOT_OK", "expired")),
        ({"passport_number": "PE1", "issuing_country": "SWE"}, ("NOT_OK", "pending")),
        ({"passport_number": "RF1", "issuing_country": "SWE"}, ("NOT_OK", "refused")),
        ({"token": _tamper(ok.token)}, ("NOT_OK", "invalid_signature")),
        ({"token": ok.token, "passport_number": "OTHER1"}, ("NOT_OK", "document_mismatch")),
        (
            {"passport_number": "GB1", "issuing_country": "GBR"},
            ("NOT_APPLICABLE", "exempt_nationality"),
        ),
    ]
    passengers: list[dict[str, Any]] = []
    expected: list[tuple[str, str]] = []
    for index in range(1000):
        if index % 7 == 3:  # many distinct unknown passports, interleaved
            passengers.append({"passport_number": f"NF{index}", "issuing_country": "SWE"})
            expected.append(("NOT_OK", "not_found"))
        else:
            body, answer = kinds[index % len(kinds)]
            passengers.append(body)
            expected.append(answer)

    # This process reads the carrier state (revocations, keys) once after the revocation.
    assert _post(client, VERIFY, {"token": ok.token}, auth_headers).status_code == 200
    with carrier_statements() as statements:
        response = client.post(BATCH, json={"passengers": passengers}, headers=auth_headers)
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [(r["result"], r["reason"]) for r in results] == expected
    # One statement in the request: the records of every passport. Tokens are answered from
    # the carrier state; the query log's row is written after, in the log's own batch.
    assert len(statements) == 1, statements
    assert "applications" in statements[0]
    query_log().flush()
    logged = session.scalars(select(CarrierQuery)).all()
    assert [(row.kind, row.passengers) for row in logged] == [("token", 1), ("batch", 1000)]


# --- query log ----------------------------------------------------------------------------


def test_every_query_is_logged_with_a_keyed_passport_hash(
    app, client, session, auth_headers, authorise
):
    authorisation = authorise()
    _post(client, VERIFY, {"token": authorisation.token}, auth_headers)
    _post(client, VERIFY, {"passport_number": "NOPE1", "issuing_country": "SWE"}, auth_headers)
    _post(client, BATCH, {"passengers": [{"token": authorisation.token}] * 3}, auth_headers)
    query_log().flush()
    rows = session.scalars(select(CarrierQuery).order_by(CarrierQuery.id)).all()
    assert [(r.kind, r.result, r.reason, r.passengers) for r in rows] == [
        ("token", "OK", "ok", 1),
        ("passport", "NOT_OK", "not_found", 1),
        ("batch", "OK", None, 3),
    ]
    assert rows[0].passport_hash is not None and len(rows[0].passport_hash) == 64
    assert "L898902C3" not in rows[0].passport_hash
    from eta.carrier.verification import passport_hash

    assert rows[0].passport_hash == passport_hash(app.config["SECRET_KEY"], "SWE", "L898902C3")
    assert rows[0].passport_hash != passport_hash("another key", "SWE", "L898902C3")
    assert session.scalar(select(func.count()).select_from(CarrierQuery)) == 3


def test_the_query_log_reaches_the_table_by_itself(session, auth_headers, client):
    # No flush by hand: the log's writer thread writes within about half a second.
    body = {"passport_number": "X1", "issuing_country": "SWE"}
    for _ in range(3):
        assert client.post(VERIFY, json=body, headers=auth_headers).status_code == 200
    deadline = time.monotonic() + 15
    while session.scalar(select(func.count()).select_from(CarrierQuery)) < 3:
        assert time.monotonic() < deadline, "the query log was never written"
        session.rollback()  # a fresh snapshot on the next read
        time.sleep(0.1)
    assert query_log().pending == 0


def test_the_query_log_keeps_its_rows_while_the_database_is_down(session):
    carrier = session.scalar(select(Carrier)) or Carrier(name="Down Air")
    session.add(carrier)
    session.commit()
    row = {
        "carrier_id": carrier.id,
        "api_key_id": None,
        "at": utcnow(),
        "kind": "passport",
        "passengers": 1,
        "result": "NOT_OK",
        "reason": "not_found",
        "passport_hash": None,
    }
    unreachable = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    down = QueryLog(unreachable, flush_seconds=3600)
    down.add(row)
    down.add(row)
    assert down.flush() == 0
    assert down.pending == 2  # kept for the next attempt, not dropped
    down.close()
    # The database is back: the same rows are written, once.
    back = QueryLog(db.engine, flush_seconds=3600)
    back.add(row)
    assert back.flush() == 1
    back.close()
    assert session.scalar(select(func.count()).select_from(CarrierQuery)) == 1


@pytest.mark.parametrize(
    "field", ["travel_date", "date_of_birth", "passport_number", "issuing_country", "token"]
)
def test_null_is_not_an_optional_field_left_out(client, auth_headers, field):
    """The document types these as strings (optional, not nullable): null is a 422 naming it."""
    body: dict[str, Any] = {"passport_number": "L898902C3", "issuing_country": "SWE", field: None}
    answer = client.post("/api/v1/carrier/verify", json=body, headers=auth_headers)
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    assert field in answer.get_json()["errors"]
    batch = client.post(
        "/api/v1/carrier/verify-batch", json={"passengers": [body]}, headers=auth_headers
    )
    assert batch.status_code == 200
    assert batch.get_json()["results"][0]["result"] == "ERROR"
    assert field in batch.get_json()["results"][0]["errors"]
