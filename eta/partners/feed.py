"""The hashed lost/stolen feed: a signed batch (typ ``eta-sltd-batch+jwt``) of keyed hashes.

A partner never sends a document number. Each entry is HMAC-SHA-256, under a key the
publisher shares with its partners and rotates by *epoch*, of the normalised (country,
document type, number), truncated to 128 bits. A plain hash would not do: there are only
about 10⁹ possible numbers per country, hashed in seconds; without the key, the entries say
nothing. A receiver hashes an applicant's document under the same key and looks it up.

A batch is a *snapshot* (every listed document: it replaces what the receiver holds) or a
*delta* (entries added, entries deleted since batch ``prev``). It names its issuer (the
partner's id in the trust list), its sequence, its expiry, its key epoch and that key's check
value, and is signed with the partner's ``feed_signing`` key from the trust list. Flask-free.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard

from eta.documents import normalise_document_number
from eta.issuance.keys import MAX_TIMESTAMP, JWSError, SigningKey, sign_jws
from eta.partners.trustlist import TrustList

FEED_TYP = "eta-sltd-batch+jwt"
DIGEST_BYTES = 16  # 128 bits of the HMAC: collisions stay out of reach at any feed's size
KEY_BYTES = 32
SNAPSHOT, DELTA = "snapshot", "delta"
PASSPORT = "P"  # ICAO 9303 document type of a passport: the only kind eta screens
# Domain separation: these HMACs are for this purpose and version only.
_DIGEST_LABEL = b"eta-sltd-v1\x00"
_KEY_CHECK_LABEL = b"eta-sltd-v1\x00key-check"


class FeedError(Exception):
    """A feed batch that must not be applied; ``detail`` names the check that refused it."""

    def __init__(self, detail: str, message: str) -> None:
        super().__init__(message)
        self.detail = detail


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def normalised_document(country: str, document_type: str, number: str) -> bytes:
    """What is hashed: ``COUNTRY|TYPE|NUMBER`` in upper case, the number without spaces or dashes.

    The document type is its first letter (ICAO 9303: P, I, A, C, V), so ``PP`` and ``P`` agree.
    """
    code = (country or "").strip().upper()
    kind = (document_type or "").strip().upper()[:1]
    text = f"{code}|{kind}|{normalise_document_number(number or '')}"
    return text.encode("ascii", "replace")


def document_digest(key: bytes, country: str, document_type: str, number: str) -> bytes:
    """HMAC-SHA-256 of the normalised document under an epoch key, truncated to 128 bits."""
    message = _DIGEST_LABEL + normalised_document(country, document_type, number)
    return hmac.new(key, message, hashlib.sha256).digest()[:DIGEST_BYTES]


def key_check(key: bytes) -> str:
    """A key's check value (8 bytes of an HMAC of a fixed label): names it without showing it.

    A batch carries its epoch key's check value, signed: a receiver holding another key for
    that epoch is told so instead of silently never matching.
    """
    return _b64url(hmac.new(key, _KEY_CHECK_LABEL, hashlib.sha256).digest()[:8])


@dataclass(frozen=True)
class FeedBatch:
    """A verified batch: who published it, where it sits in their feed, and its hashes."""

    issuer: str
    sequence: int
    issued_at: datetime
    expires_at: datetime
    epoch: int
    key_check: str
    kind: str
    previous: int | None
    entries: frozenset[bytes]
    deletions: frozenset[bytes]
    sha256: str


def sign_feed_batch(
    *,
    issuer: str,
    sequence: int,
    epoch: int,
    epoch_key: bytes,
    kind: str,
    entries: Iterable[bytes],
    deletions: Iterable[bytes] = (),
    previous: int | None = None,
    now: datetime,
    expires_at: datetime,
    signer: SigningKey,
) -> str:
    """Sign a batch of digests (from :func:`document_digest`) as a compact JWS."""
    if kind not in (SNAPSHOT, DELTA):
        raise FeedError("malformed", f"kind must be {SNAPSHOT} or {DELTA}")
    if kind == DELTA and previous is None:
        raise FeedError("malformed", "a delta names the batch it follows (previous)")
    if expires_at <= now:
        raise FeedError("stale", "expires_at must be after now")
    claims: dict[str, Any] = {
        "iss": issuer,
        "seq": sequence,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "epoch": epoch,
        "kcv": key_check(epoch_key),
        "kind": kind,
        # Sorted: the same documents always make the same batch, whatever order they came in.
        "entries": sorted(_b64url(digest) for digest in entries),
        "deletions": sorted(_b64url(digest) for digest in deletions),
    }
    if kind == DELTA:
        claims["prev"] = previous
    if kind == SNAPSHOT and claims["deletions"]:
        raise FeedError("malformed", "a snapshot lists what is there: it deletes nothing")
    payload = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("ascii")
    return sign_jws(payload, signer, FEED_TYP)


def read_feed_batch(token: str, trust_list: TrustList, *, now: datetime) -> FeedBatch:
    """Verify a batch against its publisher's feed signing key in the trust list.

    Raises :class:`FeedError`: ``bad_signature``/``unknown_kid``/``wrong_typ``/``malformed``
    (tampered, or signed by no feed key the list vouches for now), ``wrong_issuer`` (a key
    of one partner signing in another's name), ``stale`` (past its expiry). Whether the
    sequence is newer than the one applied is for the store (:mod:`eta.partners.feeds`).
    """
    token = token.strip()
    signers = trust_list.feed_signers(now)
    header_kid = _header_kid(token)
    if header_kid not in signers:
        raise FeedError(
            "unknown_kid",
            "the batch is not signed by a feed signing key the trust list vouches for now "
            "(an unknown, suspended, revoked or expired key, or a partner without the "
            "sltd_publisher role)",
        )
    partner, keys = signers[header_kid]
    try:
        _header, claims = keys.verify_jws(token, FEED_TYP)
    except JWSError as error:
        raise FeedError(error.detail, f"the batch does not verify: {error}") from error
    batch = _batch(claims, hashlib.sha256(token.encode("ascii")).hexdigest())
    if batch.issuer != partner.id:
        raise FeedError(
            "wrong_issuer",
            f"the batch says it is from {batch.issuer!r} but is signed by {partner.id}'s key",
        )
    if now >= batch.expires_at:
        raise FeedError(
            "stale",
            f"the batch expired at {batch.expires_at.isoformat()}: ask {partner.id} for a "
            "newer one",
        )
    return batch


def _header_kid(token: str) -> str | None:
    """The kid a compact JWS names (a lookup hint only: the signature decides)."""
    try:
        header = json.loads(_b64url_decode(token.split(".", 1)[0]))
    except (ValueError, UnicodeDecodeError):
        raise FeedError("malformed", "not a compact JWS") from None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _digests(values: object, name: str) -> frozenset[bytes]:
    if not isinstance(values, list):
        raise FeedError("malformed", f"{name} must be a list")
    digests = set()
    for value in values:
        try:
            digest = _b64url_decode(value) if isinstance(value, str) else b""
        except ValueError:
            digest = b""
        if len(digest) != DIGEST_BYTES:
            raise FeedError("malformed", f"{name} holds something that is not a 128-bit digest")
        digests.add(digest)
    return frozenset(digests)


def _batch(claims: dict[str, Any], sha256: str) -> FeedBatch:
    issuer, sequence, epoch = claims.get("iss"), claims.get("seq"), claims.get("epoch")
    issued_at, expires_at = claims.get("iat"), claims.get("exp")
    kind, previous, kcv = claims.get("kind"), claims.get("prev"), claims.get("kcv")
    if not isinstance(issuer, str) or not issuer:
        raise FeedError("malformed", "iss must name the publishing partner")
    if not (_is_int(sequence) and _is_int(epoch) and sequence >= 1 and epoch >= 1):
        raise FeedError("malformed", "seq and epoch must be positive integers")
    if not (_is_int(issued_at) and _is_int(expires_at)):
        raise FeedError("malformed", "iat and exp must be integers (seconds)")
    if not (0 <= issued_at <= MAX_TIMESTAMP and 0 <= expires_at <= MAX_TIMESTAMP):
        raise FeedError("malformed", "iat and exp are out of range")
    if kind not in (SNAPSHOT, DELTA) or not isinstance(kcv, str) or len(kcv) > 16:
        raise FeedError("malformed", f"kind must be {SNAPSHOT} or {DELTA}, with a kcv")
    if kind == DELTA and not (_is_int(previous) and 0 < previous < sequence):
        raise FeedError("malformed", "a delta's prev must be an earlier sequence")
    entries = _digests(claims.get("entries"), "entries")
    deletions = _digests(claims.get("deletions", []), "deletions")
    if kind == SNAPSHOT and deletions:
        raise FeedError("malformed", "a snapshot deletes nothing")
    return FeedBatch(
        issuer=issuer,
        sequence=sequence,
        issued_at=datetime.fromtimestamp(issued_at, tz=UTC),
        expires_at=datetime.fromtimestamp(expires_at, tz=UTC),
        epoch=epoch,
        key_check=kcv,
        kind=kind,
        previous=previous if kind == DELTA else None,
        entries=entries,
        deletions=deletions,
        sha256=sha256,
    )
