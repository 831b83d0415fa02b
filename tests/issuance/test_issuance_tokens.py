"""Tests for signing and verifying the authorisation token and the revocation list."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jwk, jwt
from jwt.api_jws import PyJWS

from eta.issuance.keys import Keyring, KeySet
from eta.issuance.revocations import (
    RevocationListError,
    read_revocation_list,
    revocation_hash,
    sign_revocation_list,
)
from eta.issuance.tokens import (
    AuthorisationClaims,
    VerificationResult,
    issue,
    validity_end,
    verify,
)

ISSUER = "https://eta.example.org"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
MakeClaims = Callable[..., AuthorisationClaims]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(_unb64(header)), json.loads(_unb64(payload)), signature


def _encode(part: dict[str, Any]) -> str:
    return _b64(json.dumps(part, separators=(",", ":")).encode())


def _check(token: str, keyring: Keyring, **kwargs: Any) -> VerificationResult:
    options: dict[str, Any] = {"revoked": set(), "now": NOW, "issuer": ISSUER}
    options.update(kwargs)
    return verify(token, keyring.public_jwks(), **options)


@pytest.fixture
def token(keyring: Keyring, make_claims: MakeClaims) -> str:
    return issue(make_claims(), keyring.active(), ISSUER)


def test_header_and_claims_are_exactly_the_contract(token: str, keyring: Keyring) -> None:
    header, claims, _ = _segments(token)
    assert header == {"alg": "ES256", "typ": "eta+jwt", "kid": keyring.active().kid}
    assert claims == {
        "iss": ISSUER,
        "aud": "eta-carriers",
        "sub": "ETA-7K3Q-9XPM",
        "jti": "8CtC3RWTPDSqn1JOkXUytg",
        "iat": int(NOW.timestamp()),
        "nbf": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(days=730)).timestamp()),
        "doc": {"num": "L898902C3", "cty": "SWE"},
        "nam": {"fn": "ERIKSSON", "gn": "ANNA MARIA"},
        "dob": "1974-08-12",
    }


def test_a_valid_token_verifies(token: str, keyring: Keyring) -> None:
    result = _check(token, keyring, expected_passport_number="l898 902-c3", expected_country="swe")
    assert (result.ok, result.reason, result.detail) == (True, "ok", "ok")
    assert result.claims is not None and result.claims["sub"] == "ETA-7K3Q-9XPM"


def test_joserfc_verifies_the_token_with_the_published_jwks(token: str, keyring: Keyring) -> None:
    published: Any = keyring.public_jwks()  # joserfc's TypedDict is narrower than dict
    key_set = jwk.KeySet.import_key_set(published)
    decoded = jwt.decode(token, key_set, algorithms=["ES256"])
    assert decoded.header["typ"] == "eta+jwt"
    registry = jwt.JWTClaimsRegistry(
        now=int(NOW.timestamp()) + 60,
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": "eta-carriers"},
    )
    registry.validate(decoded.claims)
    assert decoded.claims["nam"] == {"fn": "ERIKSSON", "gn": "ANNA MARIA"}


def test_token_fits_the_qr_budget_with_a_full_mrz_name_field(
    keyring: Keyring, make_claims: MakeClaims
) -> None:
    # TD3 name field: 39 characters "SURNAME<<GIVEN<NAMES" filled to the end.
    surname, given = "WOLFESCHLEGELSTEINHAUSEN", "HUBERT BLAINE"
    assert len(surname) + 2 + len(given) == 39
    claims = make_claims(
        surname_mrz=surname,
        given_names_mrz=given,
        reference="ETA-ABCD-EFGH-JKLM",
        passport_number="AB1234567",
    )
    token = issue(claims, keyring.active(), "https://eta.travel-authorisation.example.gov")
    assert len(token) <= 600, len(token)


def _tamper_payload(token: str) -> str:
    header, claims, signature = token.split(".")
    changed = json.loads(_unb64(claims))
    changed["exp"] += 365 * 86400
    return f"{header}.{_encode(changed)}.{signature}"


def _tamper_signature(token: str) -> str:
    head, signature = token.rsplit(".", 1)
    raw = bytearray(_unb64(signature))
    raw[10] ^= 0x01
    return f"{head}.{_b64(bytes(raw))}"


def _with_header(token: str, **changes: Any) -> str:
    header, claims, _ = _segments(token)
    header.update(changes)
    return f"{_encode(header)}.{_encode(claims)}."


def _hs256_with_public_key(token: str, keyring: Keyring) -> str:
    # The classic algorithm-confusion attack: HMAC keyed with the public key's PEM.
    header, claims, _ = _segments(token)
    header["alg"] = "HS256"
    public_pem = (
        keyring.active()
        .private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signing_input = f"{_encode(header)}.{_encode(claims)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


@pytest.mark.parametrize(
    ("forge", "detail"),
    [
        (lambda token, ring: _tamper_payload(token), "bad_signature"),
        (lambda token, ring: _tamper_signature(token), "bad_signature"),
        (lambda token, ring: _with_header(token, alg="none"), "alg_not_allowed"),
        (_hs256_with_public_key, "alg_not_allowed"),
        (lambda token, ring: _with_header(token, kid="AAAAAAAAAAA"), "unknown_kid"),
        (lambda token, ring: _with_header(token, typ="JWT"), "wrong_typ"),
        (lambda token, ring: "not.a.token", "malformed"),
        (lambda token, ring: token.split(".", 1)[1], "malformed"),
    ],
    ids=[
        "tampered-payload",
        "tampered-signature",
        "alg-none",
        "hs256-public-key",
        "unknown-kid",
        "wrong-typ",
        "garbage",
        "two-segments",
    ],
)
def test_forged_tokens_are_rejected(
    token: str, keyring: Keyring, forge: Callable[[str, Keyring], str], detail: str
) -> None:
    result = _check(forge(token, keyring), keyring)
    assert (result.ok, result.detail, result.reason) == (False, detail, "invalid_signature")
    assert result.claims is None


def test_hs256_forgery_is_not_an_accident_of_a_wrong_mac(token: str, keyring: Keyring) -> None:
    forged = _hs256_with_public_key(token, keyring)
    header, _, _ = _segments(forged)
    assert header["alg"] == "HS256" and header["kid"] == keyring.active().kid


def test_wrong_issuer_is_rejected(token: str, keyring: Keyring) -> None:
    result = _check(token, keyring, issuer="https://eta.example.org.evil")
    assert (result.ok, result.detail, result.reason) == (False, "wrong_iss", "invalid_signature")
    result = _check(token, keyring, issuer="https://eta.example")  # no prefix matching
    assert result.detail == "wrong_iss"


def test_wrong_audience_is_rejected(keyring: Keyring, make_claims: MakeClaims) -> None:
    signing_key = keyring.active()
    valid = issue(make_claims(), signing_key, ISSUER)
    header, claims, _ = _segments(valid)
    claims["aud"] = "eta-officers"
    # Re-sign honestly with the real key so only the audience is wrong.
    other = PyJWS().encode(
        json.dumps(claims).encode(),
        signing_key.private_key,
        algorithm="ES256",
        headers={"typ": header["typ"], "kid": header["kid"]},
    )
    result = _check(other, keyring)
    assert (result.ok, result.detail, result.reason) == (False, "wrong_aud", "invalid_signature")


def test_expired_and_not_yet_valid(token: str, keyring: Keyring) -> None:
    expired = _check(token, keyring, now=NOW + timedelta(days=730))
    assert (expired.ok, expired.detail, expired.reason) == (False, "expired", "expired")
    assert expired.claims is not None  # the carrier can still show which authorisation it was
    still_valid = _check(token, keyring, now=NOW + timedelta(days=730) - timedelta(seconds=1))
    assert still_valid.ok
    early = _check(token, keyring, now=NOW - timedelta(seconds=1))
    assert (early.ok, early.detail, early.reason) == (False, "not_yet_valid", "pending")
    assert _check(token, keyring, now=NOW - timedelta(seconds=30), leeway=timedelta(60)).ok


def test_revoked_token_is_rejected(token: str, keyring: Keyring) -> None:
    revoked = {revocation_hash("someone-else"), revocation_hash("8CtC3RWTPDSqn1JOkXUytg")}
    result = _check(token, keyring, revoked=revoked)
    assert (result.ok, result.detail, result.reason) == (False, "revoked", "revoked")


def test_revocation_hash_is_sha256_prefix() -> None:
    expected = base64.urlsafe_b64encode(hashlib.sha256(b"abc").digest()[:16]).rstrip(b"=")
    assert revocation_hash("abc") == expected.decode()
    assert len(revocation_hash("abc")) == 22


def test_document_mismatch(token: str, keyring: Keyring) -> None:
    result = _check(token, keyring, expected_passport_number="L898902C4")
    assert (result.ok, result.detail, result.reason) == (
        False,
        "document_mismatch",
        "document_mismatch",
    )
    assert _check(token, keyring, expected_country="NOR").detail == "document_mismatch"


def test_checks_run_in_the_specified_order(keyring: Keyring, make_claims: MakeClaims) -> None:
    # Expired, revoked and for another passport at once: expiry is reported first.
    token = issue(make_claims(), keyring.active(), ISSUER)
    result = _check(
        token,
        keyring,
        now=NOW + timedelta(days=1000),
        revoked={revocation_hash("8CtC3RWTPDSqn1JOkXUytg")},
        expected_passport_number="X",
    )
    assert result.detail == "expired"
    assert _check(token, keyring, issuer="x", now=NOW + timedelta(days=1000)).detail == "wrong_iss"


def test_token_signed_before_rotation_verifies_after(
    keyring: Keyring, make_claims: MakeClaims
) -> None:
    before = issue(make_claims(), keyring.active(), ISSUER)
    keyring.rotate(now=NOW + timedelta(days=1))
    after = issue(make_claims(jti="second"), keyring.active(), ISSUER)
    assert _segments(before)[0]["kid"] != _segments(after)[0]["kid"]
    assert _check(before, keyring).ok
    assert _check(after, keyring).ok


def test_token_of_a_removed_key_no_longer_verifies(
    keyring: Keyring, make_claims: MakeClaims
) -> None:
    old_kid = keyring.active().kid
    before = issue(make_claims(), keyring.active(), ISSUER)
    keyring.rotate(now=NOW)
    keyring.remove(old_kid, now=NOW + timedelta(days=731))
    result = _check(before, keyring)
    assert (result.ok, result.detail) == (False, "unknown_kid")


def test_a_keyset_is_accepted_in_place_of_the_jwks(token: str, keyring: Keyring) -> None:
    keys = KeySet.from_jwks(keyring.public_jwks())
    assert verify(token, keys, set(), NOW, ISSUER).ok


def test_keyset_ignores_keys_not_meant_for_es256(keyring: Keyring, token: str) -> None:
    jwks = keyring.public_jwks()
    for key in jwks["keys"]:
        key["alg"] = "ES384"
    assert len(KeySet.from_jwks(jwks)) == 0
    assert _check(token, keyring).ok
    assert verify(token, jwks, set(), NOW, ISSUER).detail == "unknown_kid"


@pytest.mark.parametrize(
    "changes",
    [
        {"surname_mrz": "Eriksson"},
        {"given_names_mrz": "ANNA<MARIA"},
        {"surname_mrz": "ÉRIKSSON"},
        {"issuing_country": "SE"},
        {"valid_until": NOW},
        {"issued_at": NOW.replace(tzinfo=None)},
    ],
)
def test_issue_refuses_claims_outside_the_contract(
    keyring: Keyring, make_claims: MakeClaims, changes: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        issue(make_claims(**changes), keyring.active(), ISSUER)


def test_single_name_holders_have_empty_given_names(
    keyring: Keyring, make_claims: MakeClaims
) -> None:
    token = issue(make_claims(given_names_mrz=""), keyring.active(), ISSUER)
    assert _segments(token)[1]["nam"] == {"fn": "ERIKSSON", "gn": ""}
    assert _check(token, keyring).ok


def test_validity_end_is_two_years_or_the_passport_expiry() -> None:
    issued = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert validity_end(issued, date(2035, 1, 1)) == datetime(2028, 11, 28, 12, 0, tzinfo=UTC)
    assert validity_end(issued, date(2027, 6, 30)) == datetime(2027, 6, 30, tzinfo=UTC)
    leap = datetime(2028, 2, 29, 9, 0, tzinfo=UTC)
    assert validity_end(leap, date(2040, 1, 1)) == datetime(2030, 2, 28, 9, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="expired"):
        validity_end(issued, date(2026, 11, 28))


# --- the revocation list ---------------------------------------------------------------------


def test_revocation_list_round_trip(keyring: Keyring) -> None:
    hashes = [revocation_hash("b"), revocation_hash("a"), revocation_hash("a")]
    signed = sign_revocation_list(hashes, 7, ISSUER, keyring.active(), NOW)
    header, claims, _ = _segments(signed)
    assert header == {"alg": "ES256", "typ": "eta-revocations+jwt", "kid": keyring.active().kid}
    assert claims == {
        "iss": ISSUER,
        "iat": int(NOW.timestamp()),
        "ver": 7,
        "revoked": sorted({revocation_hash("a"), revocation_hash("b")}),
    }
    read = read_revocation_list(signed, keyring.public_jwks(), ISSUER)
    assert (read.version, read.issued_at) == (7, NOW)
    assert read.revoked == frozenset({revocation_hash("a"), revocation_hash("b")})


def test_revocation_list_rejects_forgeries_and_tokens(
    keyring: Keyring, token: str, make_claims: MakeClaims
) -> None:
    signed = sign_revocation_list([revocation_hash("a")], 1, ISSUER, keyring.active(), NOW)
    header, claims, signature = signed.split(".")
    emptied = json.loads(_unb64(claims))
    emptied["revoked"] = []
    cases = {
        "bad_signature": f"{header}.{_encode(emptied)}.{signature}",
        "wrong_typ": token,  # an authorisation is not a revocation list
        "alg_not_allowed": _with_header(signed, alg="none"),
    }
    for detail, forged in cases.items():
        with pytest.raises(RevocationListError) as caught:
            read_revocation_list(forged, keyring.public_jwks(), ISSUER)
        assert caught.value.detail == detail
    with pytest.raises(RevocationListError) as caught:
        read_revocation_list(signed, keyring.public_jwks(), "https://other.example")
    assert caught.value.detail == "wrong_iss"
    # ...and a revocation list is not an authorisation.
    assert _check(signed, keyring).detail == "wrong_typ"


def test_revocation_list_refuses_values_that_are_not_hashes(keyring: Keyring) -> None:
    with pytest.raises(ValueError, match="not a revocation hash"):
        sign_revocation_list(["8CtC3RWTPDSqn1JOkXUytg-jti"], 1, ISSUER, keyring.active(), NOW)
