"""The signed revocation list: truncated jti hashes published as a versioned compact JWS."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eta.issuance.keys import MAX_TIMESTAMP, JWSError, KeySet, SigningKey, sign_jws

REVOCATIONS_TYP = "eta-revocations+jwt"
_HASH_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22}$")  # 16 bytes, base64url without padding


class RevocationListError(Exception):
    """A revocation list that does not verify or is not in the expected shape."""

    def __init__(self, detail: str, message: str = "") -> None:
        super().__init__(message or detail)
        self.detail = detail


@dataclass(frozen=True)
class RevocationList:
    """A verified revocation list."""

    version: int
    issued_at: datetime
    revoked: frozenset[str]


def revocation_hash(jti: str) -> str:
    """The published form of a revoked token's id: base64url of SHA-256(jti)[:16].

    Publishing hashes rather than jtis keeps the list free of anything that identifies a
    traveller while letting a verifier holding a token check it.
    """
    digest = hashlib.sha256(jti.encode("utf-8")).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def sign_revocation_list(
    hashes: Iterable[str], version: int, issuer: str, key: SigningKey, now: datetime
) -> str:
    """Sign the list of revoked hashes as a compact JWS (typ ``eta-revocations+jwt``).

    Hashes are deduplicated and sorted so the same set always gives the same claims.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValueError("version must be a non-negative integer")
    revoked = sorted(set(hashes))
    for value in revoked:
        if not _HASH_PATTERN.match(value):
            raise ValueError(f"not a revocation hash: {value!r}")
    claims = {"iss": issuer, "iat": int(now.timestamp()), "ver": version, "revoked": revoked}
    payload = json.dumps(claims, separators=(",", ":")).encode("ascii")
    return sign_jws(payload, key, REVOCATIONS_TYP)


def read_revocation_list(jws: str, jwks: Mapping[str, Any] | KeySet, issuer: str) -> RevocationList:
    """Verify a signed revocation list against the JWKS and the expected issuer.

    Raises :class:`RevocationListError` with ``detail`` naming the failed check (the JWS
    details of :meth:`KeySet.verify_jws`, then wrong_iss or malformed).
    """
    keys = jwks if isinstance(jwks, KeySet) else KeySet.from_jwks(jwks)
    try:
        _header, claims = keys.verify_jws(jws, REVOCATIONS_TYP)
    except JWSError as error:
        raise RevocationListError(error.detail, str(error)) from error
    if claims.get("iss") != issuer:
        raise RevocationListError("wrong_iss", "revocation list from another issuer")
    version, issued_at, revoked = claims.get("ver"), claims.get("iat"), claims.get("revoked")
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise RevocationListError("malformed", "ver is not a non-negative integer")
    if isinstance(issued_at, bool) or not isinstance(issued_at, int):
        raise RevocationListError("malformed", "iat is not an integer")
    if not 0 <= issued_at <= MAX_TIMESTAMP:
        raise RevocationListError("claim_out_of_range", "iat is not a time from 1970 to 9999")
    if not isinstance(revoked, list) or not all(isinstance(item, str) for item in revoked):
        raise RevocationListError("malformed", "revoked is not a list of strings")
    return RevocationList(
        version=version,
        issued_at=datetime.fromtimestamp(issued_at, tz=UTC),
        revoked=frozenset(revoked),
    )
