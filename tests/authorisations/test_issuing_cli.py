"""`eta keys ...` and `eta verify` (offline, from a PNG, with JWKS and revocation files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from eta import applications, authorisations
from eta.issuance.qr import qr_png
from eta.models import Actor, Authorisation
from tests.factories import submitted_application


def _issued(session: Any) -> Authorisation:
    application = submitted_application(session)
    applications.start_screening(session, application)
    applications.approve(session, application)
    authorisation = authorisations.issue_for(session, application)
    assert authorisation is not None
    return authorisation


@pytest.fixture
def own_keys(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A keyring of this test's own, so key commands do not disturb other tests."""
    path = tmp_path / "keys"
    monkeypatch.setitem(app.config, "ETA_KEYS_DIR", str(path))
    return path


def test_keys_generate_list_rotate_retire(
    app_ctx: Flask, runner: FlaskCliRunner, own_keys: Path
) -> None:
    generated = runner.invoke(args=["keys", "generate"])
    assert generated.exit_code == 0, generated.output
    listed = runner.invoke(args=["keys", "list"])
    # Columns: purpose, algorithm, kid, state, ...; the audit keyring is listed beside it.
    tokens = [line.split() for line in listed.output.splitlines()[1:] if line.startswith("tokens")]
    assert sorted(row[3] for row in tokens) == ["active", "next"]
    assert all(row[1] == "ES256" for row in tokens)
    first_active = next(row[2] for row in tokens if row[3] == "active")
    # generate again changes nothing
    assert runner.invoke(args=["keys", "generate"]).exit_code == 0
    relisted = runner.invoke(args=["keys", "list"]).output.splitlines()
    assert len([line for line in relisted if line.startswith("tokens")]) == 2

    rotated = runner.invoke(args=["keys", "rotate"])
    assert rotated.exit_code == 0
    assert f"retired: {first_active}" in rotated.output
    # the active key cannot be retired; a retired one stays retired; unknown kids are errors
    active = authorisations.keyring().active().kid
    refused = runner.invoke(args=["keys", "retire", "--", active])
    assert refused.exit_code != 0
    assert "rotate" in refused.output
    assert runner.invoke(args=["keys", "retire", "--", first_active]).exit_code == 0
    assert runner.invoke(args=["keys", "retire", "nosuchkid"]).exit_code != 0
    removed = runner.invoke(args=["keys", "remove", "--yes", "--", first_active])
    assert removed.exit_code == 0, removed.output
    assert "removed" in removed.output
    assert (own_keys / f"{first_active}.pem").exists() is False


def test_verify_png_offline_ok_then_revoked(
    session: Any, client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    authorisation = _issued(session)
    png = tmp_path / "qr.png"
    png.write_bytes(qr_png(authorisation.token))
    jwks = tmp_path / "jwks.json"
    jwks.write_bytes(client.get("/.well-known/jwks.json").data)
    revocations = tmp_path / "revocations.jwt"
    revocations.write_bytes(client.get("/api/v1/revocations").data)
    arguments = [str(png), "--jwks", str(jwks), "--revocations", str(revocations)]

    ok = runner.invoke(args=["verify", *arguments])
    assert ok.exit_code == 0, ok.output
    assert "OK ok (ok)" in ok.output.splitlines()
    assert authorisation.application.reference in ok.output

    authorisations.revoke(
        session, authorisation, reason_code="error", officer_id=None, actor=Actor.SYSTEM
    )
    revocations.write_bytes(client.get("/api/v1/revocations").data)
    revoked = runner.invoke(args=["verify", *arguments])
    assert revoked.exit_code == 1
    assert "NOT_OK revoked" in revoked.output


def test_verify_text_token_against_the_server_keys_and_database(
    session: Any, runner: FlaskCliRunner
) -> None:
    authorisation = _issued(session)
    assert runner.invoke(args=["verify", authorisation.token]).exit_code == 0
    tampered = authorisation.token[:-4] + ("AAAA" if authorisation.token[-4:] != "AAAA" else "BBBB")
    result = runner.invoke(args=["verify", tampered])
    assert result.exit_code == 1
    assert "NOT_OK invalid_signature" in result.output
    mismatch = runner.invoke(args=["verify", authorisation.token, "--passport-number", "X1"])
    assert mismatch.exit_code == 1
    assert "document_mismatch" in mismatch.output


def test_verify_with_another_issuers_keys_or_a_forged_list_fails(
    session: Any, client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    authorisation = _issued(session)
    jwks = tmp_path / "jwks.json"
    jwks.write_bytes(client.get("/.well-known/jwks.json").data)
    wrong_issuer = runner.invoke(
        args=["verify", authorisation.token, "--jwks", str(jwks), "--issuer", "https://other"]
    )
    assert wrong_issuer.exit_code == 1
    assert "wrong_iss" in wrong_issuer.output
    forged = tmp_path / "revocations.jwt"
    forged.write_text(client.get("/api/v1/revocations").text[:-3] + "xyz")
    result = runner.invoke(
        args=["verify", authorisation.token, "--jwks", str(jwks), "--revocations", str(forged)]
    )
    assert result.exit_code != 0
    assert "does not verify" in result.output
