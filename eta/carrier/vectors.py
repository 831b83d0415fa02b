"""Test vectors for carriers who build their own verifier (SPEC §6: ``docs/test-vectors/``).

One signing key made for the vectors (its private half is thrown away), its JWKS, a signed
revocation list, and one folder per case with the token, its QR code and the answer a
verifier must give when it checks, in SPEC §5 order, the token against the passport in
``expected.json``. The validity windows are fixed far from today (the valid ones run to 2100,
the expired one ended in 2026), so the answers hold whenever the vectors are checked.

Flask-free: the tokens are made with the issuance code the service signs with.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from eta.issuance.keys import SigningKey, key_id, public_jwk
from eta.issuance.qr import qr_png
from eta.issuance.revocations import revocation_hash, sign_revocation_list
from eta.issuance.tokens import AUDIENCE, AUTHORISATION_TYP, AuthorisationClaims, issue

ISSUER = "https://eta.test-vectors.example"
_IN_FORCE = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
_ENDED = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
_LATER = (datetime(2099, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
_SPECIMEN = {"number": "L898902C3", "issuing_country": "SWE"}  # the ICAO 9303 specimen


@dataclass(frozen=True)
class Case:
    """One vector: what it shows, its token, the passport in hand and the expected answer."""

    name: str
    description: str
    token: str
    passport: dict[str, str]
    result: str
    reason: str
    detail: str  # the check that decides (eta.issuance.tokens detail names)

    def expected(self) -> dict[str, Any]:
        """expected.json: the answer (SPEC §6 ``{"result", "reason"}``) and its inputs."""
        return {
            "result": self.result,
            "reason": self.reason,
            "detail": self.detail,
            "description": self.description,
            "passport": self.passport,
        }


def _new_key() -> SigningKey:
    private_key = ec.generate_private_key(ec.SECP256R1())
    return SigningKey(kid=key_id(private_key.public_key()), private_key=private_key)


def _claims(name: str, window: tuple[datetime, datetime]) -> AuthorisationClaims:
    return AuthorisationClaims(
        reference=f"ETA-TEST-{name.upper().replace('-', '')[:12]}",
        jti=f"test-vector-{name}",
        issued_at=window[0],
        valid_from=window[0],
        valid_until=window[1],
        passport_number=_SPECIMEN["number"],
        issuing_country=_SPECIMEN["issuing_country"],
        surname_mrz="ERIKSSON",
        given_names_mrz="ANNA MARIA",
        date_of_birth=date(1974, 8, 12),
    )


def _unbase64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tampered(token: str) -> str:
    """The token with one bit of its signature changed (still valid base64url)."""
    header, payload, signature = token.split(".")
    raw = bytearray(_unbase64url(signature))
    raw[10] ^= 0x01
    return ".".join([header, payload, base64.urlsafe_b64encode(raw).rstrip(b"=").decode()])


def make_cases(key: SigningKey, stranger: SigningKey, issuer: str) -> list[Case]:
    """The eight cases of SPEC §6, signed by ``key`` (``stranger`` is not in the JWKS)."""

    def token(name: str, window: tuple[datetime, datetime] = _IN_FORCE, **how: Any) -> str:
        return issue(_claims(name, window), how.pop("signer", key), issuer, **how)

    other_passport = {"number": "X1234567", "issuing_country": "SWE"}
    bad = ("NOT_OK", "invalid_signature")
    rows: list[tuple[str, str, str, dict[str, str], tuple[str, str], str]] = [
        ("valid", "In force, not revoked, the passport matches.", token("valid"), _SPECIMEN,
         ("OK", "ok"), "ok"),
        ("expired", "Its exp (2026-01-01) has passed.", token("expired", _ENDED), _SPECIMEN,
         ("NOT_OK", "expired"), "expired"),
        ("not-yet-valid", "Its nbf (2099-01-01) has not come: not yet in force.",
         token("not-yet-valid", _LATER), _SPECIMEN, ("NOT_OK", "pending"), "not_yet_valid"),
        ("revoked", "In force, but the hash of its jti is in revocations.jws.", token("revoked"),
         _SPECIMEN, ("NOT_OK", "revoked"), "revoked"),
        ("unknown-kid", "Signed by a key whose kid is not in jwks.json.",
         token("unknown-kid", signer=stranger), _SPECIMEN, bad, "unknown_kid"),
        ("bad-signature", "The valid token with one bit of its signature changed.",
         _tampered(token("bad-signature")), _SPECIMEN, bad, "bad_signature"),
        ("wrong-audience", f"Genuinely signed, but its aud is not {AUDIENCE!r}.",
         token("wrong-audience", audience="eta-officers"), _SPECIMEN, bad, "wrong_aud"),
        ("document-mismatch", "A valid token, but the passport in hand has another number.",
         token("document-mismatch"), other_passport, ("NOT_OK", "document_mismatch"),
         "document_mismatch"),
    ]  # fmt: skip
    return [
        Case(name, description, signed, passport, result, reason, detail)
        for name, description, signed, passport, (result, reason), detail in rows
    ]


def generate(directory: Path, *, issuer: str = ISSUER, now: datetime) -> list[Case]:
    """Write the vectors into ``directory`` (created if need be); return the cases written.

    A new key each time: the private key exists only while this runs, so nobody can sign
    anything the vectors' JWKS would accept.
    """
    key, stranger = _new_key(), _new_key()
    cases = make_cases(key, stranger, issuer)
    directory.mkdir(parents=True, exist_ok=True)
    public = key.private_key.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):  # token keys are ES256 (P-256)
        raise TypeError("test vectors need an ES256 token key")
    _write(directory / "jwks.json", {"keys": [public_jwk(public, key.kid)]})
    revoked = [revocation_hash(f"test-vector-{name}") for name in ("revoked", "withdrawn-1")]
    revocations = sign_revocation_list(revoked, 1, issuer, key, now)
    (directory / "revocations.jws").write_text(revocations + "\n", encoding="ascii")
    _write(
        directory / "index.json",
        {
            "issuer": issuer,
            "audience": AUDIENCE,
            "typ": AUTHORISATION_TYP,
            "generated_at": now.astimezone(UTC).replace(microsecond=0).isoformat(),
            "cases": [case.name for case in cases],
        },
    )
    for case in cases:
        folder = directory / case.name
        folder.mkdir(exist_ok=True)
        (folder / "token.txt").write_text(case.token + "\n", encoding="ascii")
        (folder / "qr.png").write_bytes(qr_png(case.token))
        _write(folder / "expected.json", case.expected())
    return cases


def _write(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
