"""Signing and verifying the authorisation token (SPEC §5): a compact ES256 JWS."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from eta.documents import normalise_document_number
from eta.issuance.keys import MAX_TIMESTAMP, JWSError, KeySet, SigningKey, sign_jws
from eta.issuance.revocations import revocation_hash

AUTHORISATION_TYP = "eta+jwt"
AUDIENCE = "eta-carriers"

# Carrier-facing reasons (SPEC §4) for each precise verification detail. A token that is not
# yet in force is reported as "pending": the authorisation exists but does not yet allow travel.
REASON_FOR_DETAIL: dict[str, str] = {
    "ok": "ok",
    "malformed": "invalid_signature",
    "wrong_typ": "invalid_signature",
    "unknown_kid": "invalid_signature",
    "alg_not_allowed": "invalid_signature",
    "bad_signature": "invalid_signature",
    "wrong_iss": "invalid_signature",
    "wrong_aud": "invalid_signature",
    "claim_out_of_range": "invalid_signature",
    "not_yet_valid": "pending",
    "expired": "expired",
    "revoked": "revoked",
    "document_mismatch": "document_mismatch",
}

_MRZ_NAME = re.compile(r"^[A-Z]+(?: [A-Z]+)*$")
_COUNTRY = re.compile(r"^[A-Z]{3}$")
_DOCUMENT_NUMBER = re.compile(r"^[A-Z0-9]{1,20}$")
_REQUIRED_CLAIMS = ("iss", "aud", "sub", "jti", "iat", "nbf", "exp", "doc", "nam", "dob")
_TIME_CLAIMS = ("iat", "nbf", "exp")
# Names, numbers and references are short (SPEC §5); a longer string is not one of ours.
MAX_CLAIM_CHARS = 100


@dataclass(frozen=True)
class AuthorisationClaims:
    """What goes into a token: the authorisation and the passport it is linked to.

    Names are in the passport's MRZ form (ICAO 9303 transliteration, upper case A-Z, words
    separated by single spaces); the given names may be empty (single-name holders).
    """

    reference: str
    jti: str
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime
    passport_number: str
    issuing_country: str
    surname_mrz: str
    given_names_mrz: str
    date_of_birth: date


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of :func:`verify`.

    ``reason`` uses the carrier vocabulary of SPEC §4 ("ok" when valid); ``detail`` says
    precisely which check failed, for logs and for the operator.
    """

    ok: bool
    reason: str
    detail: str
    claims: dict[str, Any] | None = None

    @classmethod
    def failure(cls, detail: str, claims: dict[str, Any] | None = None) -> VerificationResult:
        """A failed verification with the reason that goes with ``detail``."""
        return cls(ok=False, reason=REASON_FOR_DETAIL[detail], detail=detail, claims=claims)


def new_jti() -> str:
    """A fresh, unguessable token id (128 random bits, base64url)."""
    return secrets.token_urlsafe(16)


def validity_end(issued_at: datetime, passport_expiry: date, years: int = 2) -> datetime:
    """When an authorisation issued at ``issued_at`` ends: ``years`` later or the passport's
    expiry, whichever comes first.

    The passport bound is the start (00:00 UTC) of its expiry day, so the authorisation never
    outlasts the passport in any time zone's reading of that date. Raises ``ValueError`` if
    the passport has already expired.
    """
    _require_aware(issued_at, "issued_at")
    issued_utc = issued_at.astimezone(UTC)
    try:
        by_years = issued_utc.replace(year=issued_utc.year + years)
    except ValueError:  # 29 February into a common year
        by_years = issued_utc.replace(year=issued_utc.year + years, day=28)
    by_passport = datetime.combine(passport_expiry, time.min, tzinfo=UTC)
    end = min(by_years, by_passport)
    if end <= issued_utc:
        raise ValueError("the passport has expired")
    return end


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _check(claims: AuthorisationClaims) -> None:
    for name in ("issued_at", "valid_from", "valid_until"):
        _require_aware(getattr(claims, name), name)
    if claims.valid_until <= claims.valid_from:
        raise ValueError("valid_until must be after valid_from")
    if not _MRZ_NAME.match(claims.surname_mrz):
        raise ValueError("surname_mrz must be upper-case A-Z words (MRZ form)")
    if claims.given_names_mrz and not _MRZ_NAME.match(claims.given_names_mrz):
        raise ValueError("given_names_mrz must be upper-case A-Z words (MRZ form)")
    if not _COUNTRY.match(claims.issuing_country):
        raise ValueError("issuing_country must be an ISO 3166-1 alpha-3 code")
    if not _DOCUMENT_NUMBER.match(normalise_document_number(claims.passport_number)):
        raise ValueError("passport_number must be letters and digits")
    if not claims.reference or not claims.jti:
        raise ValueError("reference and jti are required")


def issue(
    claims: AuthorisationClaims, key: SigningKey, issuer: str, *, audience: str = AUDIENCE
) -> str:
    """Sign ``claims`` with ``key`` as the compact JWS carried in the QR code.

    ``audience`` is always the carriers' outside the test vectors' wrong-audience case.
    """
    _check(claims)
    payload = {
        "iss": issuer,
        "aud": audience,
        "sub": claims.reference,
        "jti": claims.jti,
        "iat": int(claims.issued_at.timestamp()),
        "nbf": int(claims.valid_from.timestamp()),
        "exp": int(claims.valid_until.timestamp()),
        "doc": {
            "num": normalise_document_number(claims.passport_number),
            "cty": claims.issuing_country,
        },
        "nam": {"fn": claims.surname_mrz, "gn": claims.given_names_mrz},
        "dob": claims.date_of_birth.isoformat(),
    }
    encoded = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return sign_jws(encoded, key, AUTHORISATION_TYP)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _in_range(claims: Mapping[str, Any]) -> bool:
    """Every time claim a second from 1970 to 9999, in order, and every string claim short."""
    iat, nbf, exp = (claims[name] for name in _TIME_CLAIMS)
    strings = (
        claims["sub"],
        claims["jti"],
        claims["dob"],
        claims["doc"]["num"],
        claims["doc"]["cty"],
        claims["nam"]["fn"],
        claims["nam"]["gn"],
    )
    return (
        all(0 <= claims[name] <= MAX_TIMESTAMP for name in _TIME_CLAIMS)
        and iat <= exp
        and nbf <= exp
        and all(len(text) <= MAX_CLAIM_CHARS for text in strings)
    )


def _well_formed(claims: Mapping[str, Any]) -> bool:
    if any(name not in claims for name in _REQUIRED_CLAIMS):
        return False
    doc, nam = claims["doc"], claims["nam"]
    return (
        all(_is_int(claims[name]) for name in ("iat", "nbf", "exp"))
        and isinstance(claims["jti"], str)
        and isinstance(claims["sub"], str)
        and isinstance(doc, dict)
        and isinstance(doc.get("num"), str)
        and isinstance(doc.get("cty"), str)
        and isinstance(nam, dict)
        and isinstance(nam.get("fn"), str)
        and isinstance(nam.get("gn"), str)
        and isinstance(claims["dob"], str)
    )


def verify(
    token: str,
    jwks: Mapping[str, Any] | KeySet,
    revoked: Collection[str],
    now: datetime,
    issuer: str,
    *,
    expected_passport_number: str | None = None,
    expected_country: str | None = None,
    leeway: timedelta = timedelta(0),
) -> VerificationResult:
    """Check a token in the order of SPEC §5 and say whether it allows travel.

    Order: typ, kid known, ES256 signature (allow-list of one), claims well formed and in range
    (times from 1970 to 9999, iat and nbf not after exp: ``claim_out_of_range``), iss, aud, nbf/exp,
    revocation (``revoked`` holds :func:`revocation_hash` values), then — only when
    ``expected_passport_number`` / ``expected_country`` are given — the document against the
    passport presented. ``leeway`` tolerates clock skew on nbf/exp. Pass a :class:`KeySet`
    rather than a JWKS dict when verifying many tokens, to parse the keys once.
    """
    _require_aware(now, "now")
    keys = jwks if isinstance(jwks, KeySet) else KeySet.from_jwks(jwks)
    try:
        _header, claims = keys.verify_jws(token, AUTHORISATION_TYP)
    except JWSError as error:
        return VerificationResult.failure(error.detail)
    if not _well_formed(claims):
        return VerificationResult.failure("malformed")
    if not _in_range(claims):
        return VerificationResult.failure("claim_out_of_range")
    if claims["iss"] != issuer:
        return VerificationResult.failure("wrong_iss")
    audience = claims["aud"]
    if audience != AUDIENCE and not (isinstance(audience, list) and AUDIENCE in audience):
        return VerificationResult.failure("wrong_aud")
    instant = now.timestamp()
    slack = leeway.total_seconds()
    if claims["nbf"] > instant + slack:
        return VerificationResult.failure("not_yet_valid", claims)
    if claims["exp"] <= instant - slack:
        return VerificationResult.failure("expired", claims)
    if revocation_hash(claims["jti"]) in revoked:
        return VerificationResult.failure("revoked", claims)
    if expected_passport_number is not None and normalise_document_number(
        expected_passport_number
    ) != normalise_document_number(claims["doc"]["num"]):
        return VerificationResult.failure("document_mismatch", claims)
    if (
        expected_country is not None
        and expected_country.strip().upper() != claims["doc"]["cty"].upper()
    ):
        return VerificationResult.failure("document_mismatch", claims)
    return VerificationResult(ok=True, reason="ok", detail="ok", claims=claims)
