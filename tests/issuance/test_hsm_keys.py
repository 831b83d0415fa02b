"""The PKCS#11 key backend on SoftHSM2: keys made in the token, never out, signing as files do.

Always run (skipped only without SoftHSM2, and failed so in CI). `make pytest-hsm` runs the
issuance, audit and authorisation suites again with the app's keys in the token.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pkcs11
import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from joserfc import jws
from joserfc.jwk import KeySet as JoseKeySet
from pkcs11 import Attribute, ObjectClass
from pkcs11.exceptions import AttributeSensitive

from config.settings import ConfigurationError, load_settings
from eta.audit import checkpoints
from eta.issuance import hsm
from eta.issuance.backends import open_keyring
from eta.issuance.hsm import HsmEcPrivateKey, HsmEd25519PrivateKey, KeyNotExtractable
from eta.issuance.keys import KeyPurpose, Keyring, KeyState, sign_jws
from tests.softhsm import BACKEND, SoftToken

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ring_in_token(softhsm: SoftToken, tmp_path: Path) -> Callable[..., Keyring]:
    """Opens a keyring whose manifest is in tmp_path and whose keys are in the SoftHSM token."""

    def open_at(purpose: KeyPurpose = KeyPurpose.TOKENS) -> Keyring:
        ring = open_keyring(softhsm.settings(), tmp_path / purpose.value, purpose)
        ring.generate(now=NOW)
        return ring

    return open_at


def _token_session(token: SoftToken) -> Any:
    """A session of our own on the token, to look at its objects beside the key store."""
    return pkcs11.lib(token.module).get_token(token_label=token.label).open(rw=False)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("purpose", [KeyPurpose.TOKENS, KeyPurpose.AUDIT])
def test_keys_are_made_in_the_token_and_cannot_leave_it(
    ring_in_token: Callable[..., Keyring], softhsm: SoftToken, purpose: KeyPurpose
) -> None:
    ring = ring_in_token(purpose)
    assert not list(ring.path.glob("*.pem"))  # the directory holds the manifest only
    assert sorted(p.name for p in ring.path.iterdir() if not p.name.startswith(".")) == [
        "keyring.json"
    ]
    for info in ring.list():
        flags = ring.store.attributes(info.kid)  # type: ignore[attr-defined]
        assert flags == {
            "sensitive": True,
            "extractable": False,
            "always_sensitive": True,
            "never_extractable": True,
            "local": True,  # generated in the token, not imported into it
        }
    # Through PKCS#11 itself: the private value cannot be read.
    session = _token_session(softhsm)
    private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=ring.active().kid.encode())
    with pytest.raises(AttributeSensitive):
        private[Attribute.VALUE]
    # Nor through the key object the keyring hands out.
    key = ring.active().private_key
    assert isinstance(key, HsmEd25519PrivateKey if purpose is KeyPurpose.AUDIT else HsmEcPrivateKey)
    with pytest.raises(KeyNotExtractable):
        key.private_bytes(*_pkcs8_unencrypted())


def _pkcs8_unencrypted() -> tuple[Any, Any, Any]:
    from cryptography.hazmat.primitives import serialization

    return (
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_an_es256_jws_signed_in_the_token_verifies_in_joserfc_and_in_eta(
    ring_in_token: Callable[..., Keyring],
) -> None:
    ring = ring_in_token(KeyPurpose.TOKENS)
    payload = json.dumps({"sub": "hsm", "n": 1}).encode()
    token = sign_jws(payload, ring.active(), "test+jwt")
    # joserfc, an independent JOSE implementation, with only the published JWKS.
    verified = jws.deserialize_compact(token, JoseKeySet.import_key_set(ring.public_jwks()))
    assert verified.payload == payload
    assert verified.protected == {"alg": "ES256", "kid": ring.active().kid, "typ": "test+jwt"}
    _, claims = ring.key_set().verify_jws(token, "test+jwt")
    assert claims == {"sub": "hsm", "n": 1}
    # ECDSA signs with fresh randomness: two signatures of one payload differ, both verify.
    again = sign_jws(payload, ring.active(), "test+jwt")
    assert again.split(".")[2] != token.split(".")[2]
    ring.key_set().verify_jws(again, "test+jwt")
    # A flipped signature bit is refused.
    head, body, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[5] ^= 1
    with pytest.raises(Exception, match="signature"):
        ring.key_set().verify_jws(f"{head}.{body}.{_b64(bytes(raw))}", "test+jwt")


def test_an_audit_checkpoint_signed_in_the_token_is_a_c2sp_ed25519_note(
    ring_in_token: Callable[..., Keyring],
) -> None:
    ring = ring_in_token(KeyPurpose.AUDIT)
    origin = "eta.test/audit"
    key = ring.active().private_key
    assert isinstance(key, HsmEd25519PrivateKey)
    text = checkpoints.checkpoint_text(origin, 7, bytes(range(32)), NOW)
    note = checkpoints.sign_note(text, origin, key)
    # A witness holding only the verifier key (the text GET /audit/key serves) opens it.
    verifier = checkpoints.parse_verifier_key(checkpoints.active_verifier_key(ring, origin))
    opened, by = checkpoints.open_note(note, [verifier])
    assert opened == text and by == [verifier]
    # Ed25519 is deterministic (RFC 8032): the token signs the same text to the same bytes.
    assert checkpoints.sign_note(text, origin, key) == note
    forged = note.replace("\n7\n", "\n8\n")
    with pytest.raises(checkpoints.NoteError, match="does not verify"):
        checkpoints.open_note(forged, [verifier])


def test_rotation_and_removal_act_on_the_token(
    ring_in_token: Callable[..., Keyring], softhsm: SoftToken
) -> None:
    ring = ring_in_token(KeyPurpose.TOKENS)
    first = ring.active().kid
    ring.rotate(now=NOW + dt.timedelta(days=1))
    assert {info.kid: info.state for info in ring.list()}[first] is KeyState.RETIRED
    assert first in {key["kid"] for key in ring.public_jwks()["keys"]}
    session = _token_session(softhsm)
    assert len(list(session.get_objects({Attribute.ID: first.encode()}))) == 2  # pair
    ring.remove(first, now=NOW + dt.timedelta(days=900))
    assert list(session.get_objects({Attribute.ID: first.encode()})) == []  # destroyed
    assert first not in {key["kid"] for key in ring.public_jwks()["keys"]}
    # The others are labelled for an operator listing the token.
    labels = {
        item[Attribute.LABEL]
        for item in session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})
    }
    kept = {info.kid for info in ring.list() if info.state is not KeyState.REMOVED}
    assert {f"eta-tokens-{kid}" for kid in kept} <= labels


_OTHER_PROCESS = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from eta.issuance.backends import open_keyring
    from eta.issuance.keys import KeyPurpose, sign_jws

    config = json.loads(sys.argv[1])
    ring = open_keyring(config, Path(sys.argv[2]), KeyPurpose.TOKENS)
    print(sign_jws(b'{"from":"%s"}' % sys.argv[3].encode(), ring.active(), "test+jwt"), flush=True)
    if os.fork() == 0:  # a forked child opens its own session (the library initialised again)
        print(sign_jws(b'{"from":"child"}', ring.active(), "test+jwt"), flush=True)
        os._exit(0)
    os.wait()
    """
)


def test_another_process_and_a_forked_child_sign_with_the_same_token_keys(
    ring_in_token: Callable[..., Keyring], softhsm: SoftToken
) -> None:
    ring = ring_in_token(KeyPurpose.TOKENS)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOFTHSM2_CONF": str(softhsm.conf)}
    done = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, json.dumps(softhsm.settings()), str(ring.path), "x"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    tokens = done.stdout.split()
    assert len(tokens) == 2
    senders = [ring.key_set().verify_jws(token, "test+jwt")[1]["from"] for token in tokens]
    assert senders == ["x", "child"]


def test_a_session_the_token_lost_is_opened_again(
    ring_in_token: Callable[..., Keyring], softhsm: SoftToken
) -> None:
    ring = ring_in_token(KeyPurpose.TOKENS)
    sign_jws(b"{}", ring.active(), "test+jwt")
    key = (softhsm.module, softhsm.label)
    lost = hsm._sessions[key]
    lost.close()  # as an HSM restart or a network cut would leave it
    token = sign_jws(b'{"after":"reopen"}', ring.active(), "test+jwt")
    assert ring.key_set().verify_jws(token, "test+jwt")[1] == {"after": "reopen"}
    assert hsm._sessions[key] is not lost


def test_a_wrong_pin_is_a_clear_error_naming_no_pin(
    ring_in_token: Callable[..., Keyring], softhsm: SoftToken
) -> None:
    ring = ring_in_token(KeyPurpose.TOKENS)
    wrong = {**softhsm.settings(), "ETA_PKCS11_PIN": "0000-wrong"}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOFTHSM2_CONF": str(softhsm.conf)}
    done = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, json.dumps(wrong), str(ring.path), "x"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode != 0
    assert "cannot log in to the token 'eta-test': PinIncorrect" in done.stderr
    assert "0000-wrong" not in done.stderr and softhsm.pin not in done.stderr


def test_pkcs11_configuration_is_checked_at_start(tmp_path: Path) -> None:
    assert load_settings(tmp_path, {})["ETA_KEYS_BACKEND"] == "file"
    with pytest.raises(ConfigurationError, match="ETA_KEYS_BACKEND must be one of"):
        load_settings(tmp_path, {"ETA_KEYS_BACKEND": "kms"})
    with pytest.raises(ConfigurationError, match="ETA_PKCS11_TOKEN_LABEL is not set"):
        load_settings(tmp_path, {"ETA_KEYS_BACKEND": "pkcs11", "ETA_PKCS11_PIN": "1"})
    with pytest.raises(ConfigurationError, match="ETA_PKCS11_PIN is not set"):
        load_settings(tmp_path, {"ETA_KEYS_BACKEND": "pkcs11", "ETA_PKCS11_TOKEN_LABEL": "t"})
    settings = load_settings(
        tmp_path,
        {"ETA_KEYS_BACKEND": "PKCS11", "ETA_PKCS11_TOKEN_LABEL": "t", "ETA_PKCS11_PIN": "1"},
    )
    assert settings["ETA_KEYS_BACKEND"] == "pkcs11"
    assert settings["ETA_PKCS11_MODULE"] == "/usr/lib/softhsm/libsofthsm2.so"


def test_eta_keys_commands_on_the_token(
    app: Flask,
    runner: FlaskCliRunner,
    softhsm: SoftToken,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "ETA_KEYS_DIR", str(tmp_path / "keys"))
    for name, value in softhsm.settings().items():
        monkeypatch.setitem(app.config, name, value)
    for purpose in ("tokens", "audit", "feeds"):
        generated = runner.invoke(args=["keys", "generate", "--purpose", purpose])
        assert generated.exit_code == 0, generated.output
        assert "keys in PKCS#11 token 'eta-test'" in generated.output
    listed = runner.invoke(args=["keys", "list"]).output
    rows = [line.split() for line in listed.splitlines() if line.startswith(("tokens", "audit"))]
    assert sorted((row[0], row[1], row[3]) for row in rows) == [
        ("audit", "Ed25519", "active"),
        ("audit", "Ed25519", "next"),
        ("tokens", "ES256", "active"),
        ("tokens", "ES256", "next"),
    ]
    assert "Private keys (audit): PKCS#11 token 'eta-test'" in listed
    first = next(row[2] for row in rows if row[0] == "tokens" and row[3] == "active")
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    next_kid = next(
        row.split()[2]
        for row in runner.invoke(args=["keys", "list"]).output.splitlines()
        if row.startswith("tokens") and " next " in row
    )
    retired = runner.invoke(args=["keys", "retire", "--", next_kid])
    assert retired.exit_code == 0 and "retired" in retired.output
    removed = runner.invoke(args=["keys", "remove", "--yes", "--", first])
    assert removed.exit_code == 0, removed.output
    session = _token_session(softhsm)
    assert list(session.get_objects({Attribute.ID: first.encode()})) == []
    assert not list((tmp_path / "keys").rglob("*.pem"))
    with app.app_context():
        from eta import authorisations

        jwks = app.test_client().get("/.well-known/jwks.json").get_json()
        assert {key["kid"] for key in jwks["keys"]} == {
            key["kid"] for key in authorisations.public_jwks()["keys"]
        }
        assert first not in {key["kid"] for key in jwks["keys"]}


@pytest.mark.skipif(BACKEND != "pkcs11", reason="only when the suites run on the token")
def test_the_suites_run_with_the_apps_keys_in_the_token(app_ctx: Flask) -> None:
    # Guards `make pytest-hsm`: were the app on files, the re-run would prove nothing.
    from eta import authorisations

    ring, _ = checkpoints.log_signer(app_ctx.config)
    for keyring in (authorisations.keyring(), ring):
        assert keyring.location.startswith("PKCS#11 token 'eta-test'")
        assert not list(keyring.path.glob("*.pem"))
