"""The public issuance endpoints: JWKS, revocation list and the /verify page, over HTTP."""

from __future__ import annotations

import base64
import io
import json
import re
from typing import Any

from flask.testing import FlaskClient
from joserfc import jws
from joserfc.jwk import KeySet as JoseKeySet

from eta import applications, authorisations
from eta.issuance.qr import qr_png
from eta.models import Actor, Application, Authorisation
from tests.factories import submitted_application


def _issued(session: Any, **overrides: Any) -> tuple[Application, Authorisation]:
    application = submitted_application(session, **overrides)
    applications.start_screening(session, application)
    applications.approve(session, application)
    authorisation = authorisations.issue_for(session, application)
    assert authorisation is not None
    return application, authorisation


def _csrf(client: FlaskClient) -> str:
    page = client.get("/verify")
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def test_an_independent_library_verifies_our_token_with_the_served_jwks(
    session: Any, client: FlaskClient
) -> None:
    _application, authorisation = _issued(session)
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    served = response.get_json()

    keys = JoseKeySet.import_key_set(served)
    verified = jws.deserialize_compact(authorisation.token, keys, algorithms=["ES256"])
    assert verified.headers() == {"alg": "ES256", "typ": "eta+jwt", "kid": authorisation.kid}
    claims = json.loads(verified.payload)
    assert claims["jti"] == authorisation.jti
    assert claims["iss"] == "http://eta.test"
    assert claims["aud"] == "eta-carriers"
    assert claims["doc"] == {"num": "L898902C3", "cty": "SWE"}
    for key in served["keys"]:
        assert (key["kty"], key["crv"], key["use"], key["alg"]) == ("EC", "P-256", "sig", "ES256")
        assert "d" not in key  # never a private half


def test_jwks_is_cacheable_cors_open_and_conditional(client: FlaskClient) -> None:
    response = client.get("/.well-known/jwks.json")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert re.fullmatch(r"public, max-age=\d+", response.headers["Cache-Control"])
    etag = response.headers["ETag"]
    assert etag
    again = client.get("/.well-known/jwks.json", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    other = client.get("/.well-known/jwks.json", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200
    preflight = client.options(
        "/.well-known/jwks.json",
        headers={"Origin": "https://carrier.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "If-None-Match" in preflight.headers["Access-Control-Allow-Headers"]


def test_jwks_publishes_the_next_key_and_changes_etag_on_rotation(
    app_ctx: Any, client: FlaskClient
) -> None:
    ring = authorisations.keyring()
    before = client.get("/.well-known/jwks.json")
    kids = {key["kid"] for key in before.get_json()["keys"]}
    next_kid = next(info.kid for info in ring.list() if info.state == "next")
    assert {ring.active().kid, next_kid} <= kids
    ring.rotate()
    after = client.get("/.well-known/jwks.json", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert {key["kid"] for key in after.get_json()["keys"]} > kids


def test_revocation_list_is_a_signed_cacheable_jws(session: Any, client: FlaskClient) -> None:
    _application, authorisation = _issued(session)
    authorisations.revoke(
        session, authorisation, reason_code="error", officer_id=None, actor=Actor.SYSTEM
    )
    response = client.get("/api/v1/revocations")
    assert response.status_code == 200
    assert response.mimetype == "application/jwt"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "max-age=" in response.headers["Cache-Control"]
    header = json.loads(base64.urlsafe_b64decode(response.text.split(".")[0] + "=="))
    assert header["typ"] == "eta-revocations+jwt"
    keys = JoseKeySet.import_key_set(client.get("/.well-known/jwks.json").get_json())
    claims = json.loads(jws.deserialize_compact(response.text, keys, algorithms=["ES256"]).payload)
    assert set(claims) == {"iss", "iat", "ver", "revoked"}
    assert claims["ver"] == 1
    assert len(claims["revoked"]) == 1
    cached = client.get("/api/v1/revocations", headers={"If-None-Match": response.headers["ETag"]})
    assert cached.status_code == 304


def _verify(client: FlaskClient, **data: Any) -> str:
    response = client.post(
        "/verify",
        data={"csrf_token": _csrf(client), **data},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    return response.text


def test_verify_page_says_a_pasted_token_is_valid_and_shows_only_its_content(
    session: Any, client: FlaskClient
) -> None:
    application, authorisation = _issued(session)
    wrapped = "\n".join(
        authorisation.token[i : i + 60] for i in range(0, len(authorisation.token), 60)
    )
    page = _verify(client, token=wrapped)
    assert "eta-result--ok" in page
    assert "This is a genuine authorisation and it is valid now." in page
    assert application.reference in page
    assert "ERIKSSON" in page
    assert "L898902C3" in page
    # Personal data the token does not carry stays out of the page.
    assert application.email not in page
    assert "Stockholm" not in page


def test_verify_page_reads_an_uploaded_qr_picture(session: Any, client: FlaskClient) -> None:
    _application, authorisation = _issued(session)
    picture = (io.BytesIO(qr_png(authorisation.token)), "scan.png")
    page = _verify(client, qr=picture)
    assert "This is a genuine authorisation and it is valid now." in page


def test_verify_page_rejects_tampered_revoked_and_garbage(
    session: Any, client: FlaskClient
) -> None:
    _application, authorisation = _issued(session)
    head, payload, signature = authorisation.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["nam"]["fn"] = "SOMEONEELSE"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    page = _verify(client, token=f"{head}.{forged}.{signature}")
    assert "Not genuine" in page
    assert "SOMEONEELSE" not in page

    assert "Not an authorisation" in _verify(client, token="hello")

    authorisations.revoke(
        session, authorisation, reason_code="error", officer_id=None, actor="system"
    )
    page = _verify(client, token=authorisation.token)
    assert "eta-result--not-ok" in page
    assert "it has been cancelled" in page


def test_verify_page_asks_for_something_to_check(client: FlaskClient) -> None:
    page = _verify(client, token="   ")
    assert "eta-error-summary" in page
    assert "<title>Error:" in page
    assert "Enter the authorisation code, or upload a picture of its QR" in page
    page = _verify(client, qr=(io.BytesIO(b"not a picture"), "x.png"))
    assert "The selected file must be a picture (PNG or JPEG)" in page
