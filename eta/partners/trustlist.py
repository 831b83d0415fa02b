"""The partner trust list: a JWS (typ ``eta-trustlist+jwt``) signed by an offline anchor key.

It names each partner agency (id, country, roles, endpoints) and its keys with their purpose
(``token_signing``: its travel authorisations verify at our carriers; ``feed_signing``: its
lost/stolen document feeds), validity and status. The anchor key is held apart from the
service: ``eta trust sign`` runs where it is, ``eta trust import`` checks a list here against
the anchor's public key. A list is refused when its signature does not verify, when its
``seq`` is not above the last list imported (a replayed or older list), when its
``next_update`` has passed (a stale list: the anchor's holder stopped vouching for it), and
when any entry is malformed. Flask-free.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard

from eta.issuance.keys import JWSError, KeySet, SigningKey, sign_jws

TRUSTLIST_TYP = "eta-trustlist+jwt"
ROLES = frozenset({"authorisation_issuer", "sltd_publisher", "audit_witness"})
KEY_PURPOSES = frozenset({"token_signing", "feed_signing"})
STATUSES = frozenset({"active", "suspended", "revoked"})
_PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_COUNTRY = re.compile(r"^[A-Z]{3}$")
# The iss of a partner's tokens, as its ETA_ISSUER says it (http only for instances on one
# machine, as in docs/partners.md's worked exchange).
_ISSUER = re.compile(r"^https?://[^\s/?#]+(?:/[^\s?#]*)?$")


class TrustListError(Exception):
    """A trust list that must not be used; ``detail`` names the check that refused it."""

    def __init__(self, detail: str, message: str) -> None:
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True)
class PartnerKey:
    """One key of a partner: its public JWK, what it signs, when and whether it counts."""

    jwk: dict[str, Any]
    purpose: str
    not_before: datetime
    not_after: datetime
    status: str

    def in_force(self, now: datetime) -> bool:
        """Whether this key may verify something signed at ``now``."""
        return self.status == "active" and self.not_before <= now < self.not_after


@dataclass(frozen=True)
class Partner:
    """A partner agency as the trust list describes it."""

    id: str
    country: str
    roles: frozenset[str]
    endpoints: dict[str, str]
    keys: tuple[PartnerKey, ...]
    status: str
    # The ``iss`` its authorisations carry (required when it has token signing keys).
    issuer: str | None = None

    def keys_for(self, purpose: str, now: datetime) -> list[PartnerKey]:
        """Its keys of ``purpose`` that count at ``now`` (none while the partner is not active)."""
        if self.status != "active":
            return []
        return [key for key in self.keys if key.purpose == purpose and key.in_force(now)]


@dataclass(frozen=True)
class TrustList:
    """A verified trust list."""

    issuer: str
    sequence: int
    issued_at: datetime
    next_update: datetime
    partners: tuple[Partner, ...]

    def token_keys(self, now: datetime) -> KeySet:
        """The keys whose authorisations our carriers accept now (mutual recognition)."""
        jwks = [
            key.jwk
            for partner in self.partners
            if partner.status == "active" and "authorisation_issuer" in partner.roles
            for key in partner.keys
            if key.purpose == "token_signing" and key.in_force(now)
        ]
        return KeySet.from_jwks({"keys": jwks})

    def token_issuers(self, now: datetime) -> dict[str, tuple[Partner, KeySet]]:
        """By kid: the partner whose authorisations that key signs now, and the key alone.

        A partner's key verifies only tokens carrying that partner's own ``issuer``, so no
        partner can sign in another's name, or in ours.
        """
        found: dict[str, tuple[Partner, KeySet]] = {}
        for partner in self.partners:
            if "authorisation_issuer" not in partner.roles or partner.issuer is None:
                continue
            for key in partner.keys_for("token_signing", now):
                found[str(key.jwk["kid"])] = (partner, KeySet.from_jwks({"keys": [key.jwk]}))
        return found

    def feed_signers(self, now: datetime) -> dict[str, tuple[Partner, KeySet]]:
        """By kid: the partner whose lost/stolen feed that key signs now, and the key alone."""
        found: dict[str, tuple[Partner, KeySet]] = {}
        for partner in self.partners:
            if "sltd_publisher" not in partner.roles:
                continue
            for key in partner.keys_for("feed_signing", now):
                found[str(key.jwk["kid"])] = (partner, KeySet.from_jwks({"keys": [key.jwk]}))
        return found

    def stale(self, now: datetime) -> bool:
        """Whether the anchor's holder has stopped vouching for this list (next_update passed)."""
        return now >= self.next_update

    def partner(self, partner_id: str) -> Partner | None:
        """The partner with this id, or None."""
        return next((partner for partner in self.partners if partner.id == partner_id), None)


def sign_trust_list(
    partners: list[Mapping[str, Any]],
    *,
    issuer: str,
    sequence: int,
    next_update: datetime,
    anchor: SigningKey,
    now: datetime,
) -> str:
    """Sign the partners (the JSON form :func:`read_trust_list` reads) as a trust list.

    The entries are checked first, so the anchor never signs a list that would be refused.
    """
    claims = {
        "iss": issuer,
        "seq": sequence,
        "iat": int(now.timestamp()),
        "next_update": int(next_update.timestamp()),
        "partners": [dict(partner) for partner in partners],
    }
    _trust_list(claims)  # raises TrustListError for a malformed entry
    if next_update <= now:
        raise TrustListError("stale", "next_update must be after now")
    payload = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return sign_jws(payload, anchor, TRUSTLIST_TYP)


def read_trust_list(
    token: str, anchor: Mapping[str, Any] | KeySet, *, now: datetime, last_sequence: int | None
) -> TrustList:
    """Verify a trust list against the anchor's JWKS; :class:`TrustListError` says why not.

    ``last_sequence`` is the ``seq`` of the list in use (None before the first import): a
    list must be newer than that one.
    """
    keys = anchor if isinstance(anchor, KeySet) else KeySet.from_jwks(anchor)
    try:
        _header, claims = keys.verify_jws(token.strip(), TRUSTLIST_TYP)
    except JWSError as error:
        raise TrustListError(error.detail, f"the trust list does not verify: {error}") from error
    trust_list = _trust_list(claims)
    if last_sequence is not None and trust_list.sequence <= last_sequence:
        raise TrustListError(
            "replayed",
            f"sequence {trust_list.sequence} is not newer than the list in use "
            f"({last_sequence}): an old list sent again",
        )
    if now >= trust_list.next_update:
        raise TrustListError(
            "stale",
            f"the list was due to be replaced at {trust_list.next_update.isoformat()}: "
            "ask the anchor's holder for a new one",
        )
    return trust_list


def sequence_of(token: str, anchor: Mapping[str, Any] | KeySet) -> int:
    """The ``seq`` of a list the anchor signed, stale or not (the one in use, to compare with)."""
    return verified_trust_list(token, anchor).sequence


def verified_trust_list(token: str, anchor: Mapping[str, Any] | KeySet) -> TrustList:
    """A list the anchor signed, stale or not: the one in use, checked again where it is kept.

    Whoever uses it for a decision checks ``next_update`` (:meth:`TrustList.stale`).
    """
    keys = anchor if isinstance(anchor, KeySet) else KeySet.from_jwks(anchor)
    try:
        _header, claims = keys.verify_jws(token.strip(), TRUSTLIST_TYP)
    except JWSError as error:
        raise TrustListError(
            error.detail, f"the stored trust list does not verify: {error}"
        ) from None
    return _trust_list(claims)


def _trust_list(claims: Mapping[str, Any]) -> TrustList:
    issuer, sequence = claims.get("iss"), claims.get("seq")
    issued_at, next_update = claims.get("iat"), claims.get("next_update")
    partners = claims.get("partners")
    if not isinstance(issuer, str) or not _is_int(sequence) or sequence < 0:
        raise TrustListError("malformed", "iss must be text and seq a non-negative integer")
    if not _is_int(issued_at) or not _is_int(next_update):
        raise TrustListError("malformed", "iat and next_update must be integers (seconds)")
    if not isinstance(partners, list):
        raise TrustListError("malformed", "partners must be a list")
    read = tuple(_partner(entry, index) for index, entry in enumerate(partners))
    ids = [partner.id for partner in read]
    if len(set(ids)) != len(ids):
        raise TrustListError("malformed", "a partner id appears twice")
    kids = [str(key.jwk["kid"]) for partner in read for key in partner.keys]
    if len(set(kids)) != len(kids):
        # A kid must name one key of one partner: it decides whose signature is checked.
        raise TrustListError("malformed", "a key id appears twice")
    return TrustList(
        issuer=issuer,
        sequence=int(sequence),
        issued_at=_time(issued_at),
        next_update=_time(next_update),
        partners=read,
    )


def _partner(entry: object, index: int) -> Partner:
    where = f"partners[{index}]"
    if not isinstance(entry, Mapping):
        raise TrustListError("malformed", f"{where} must be an object")
    partner_id, country = entry.get("id"), entry.get("country")
    roles, endpoints = entry.get("roles"), entry.get("endpoints", {})
    keys, status = entry.get("keys"), entry.get("status", "active")
    issuer = entry.get("issuer")
    if not isinstance(partner_id, str) or not _PARTNER_ID.match(partner_id):
        raise TrustListError("malformed", f"{where}.id must be lower-case letters, digits, -")
    if not isinstance(country, str) or not _COUNTRY.match(country):
        raise TrustListError("malformed", f"{where}.country must be an ISO 3166-1 alpha-3 code")
    if not isinstance(roles, list) or not roles or not set(roles) <= ROLES:
        raise TrustListError("malformed", f"{where}.roles must be some of {sorted(ROLES)}")
    if not isinstance(endpoints, Mapping) or not all(
        isinstance(value, str) and value.startswith("https://") for value in endpoints.values()
    ):
        raise TrustListError("malformed", f"{where}.endpoints must map names to https URLs")
    if status not in STATUSES:
        raise TrustListError("malformed", f"{where}.status must be one of {sorted(STATUSES)}")
    if not isinstance(keys, list):
        raise TrustListError("malformed", f"{where}.keys must be a list")
    read_keys = tuple(_key(key, f"{where}.keys[{n}]") for n, key in enumerate(keys))
    if issuer is not None and not (isinstance(issuer, str) and _ISSUER.match(issuer)):
        raise TrustListError("malformed", f"{where}.issuer must be an http(s) URL")
    if issuer is None and any(key.purpose == "token_signing" for key in read_keys):
        # Without it a carrier could not tell whose tokens a key may sign.
        raise TrustListError("malformed", f"{where}.issuer is needed with token signing keys")
    return Partner(
        id=partner_id,
        country=country,
        roles=frozenset(roles),
        endpoints={str(name): str(url) for name, url in endpoints.items()},
        keys=read_keys,
        status=status,
        issuer=issuer,
    )


def _key(entry: object, where: str) -> PartnerKey:
    if not isinstance(entry, Mapping):
        raise TrustListError("malformed", f"{where} must be an object")
    jwk, purpose = entry.get("jwk"), entry.get("purpose")
    not_before, not_after = entry.get("not_before"), entry.get("not_after")
    status = entry.get("status", "active")
    if not isinstance(jwk, Mapping) or len(KeySet.from_jwks({"keys": [jwk]})) != 1:
        raise TrustListError("malformed", f"{where}.jwk must be a P-256 ES256 key with a kid")
    if purpose not in KEY_PURPOSES:
        raise TrustListError("malformed", f"{where}.purpose must be one of {sorted(KEY_PURPOSES)}")
    if not (_is_int(not_before) and _is_int(not_after) and not_before < not_after):
        raise TrustListError("malformed", f"{where}: not_before < not_after, in seconds")
    if status not in STATUSES:
        raise TrustListError("malformed", f"{where}.status must be one of {sorted(STATUSES)}")
    return PartnerKey(
        jwk=dict(jwk),
        purpose=purpose,
        not_before=_time(not_before),
        not_after=_time(not_after),
        status=status,
    )


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _time(seconds: Any) -> datetime:  # an int, checked by the caller
    return datetime.fromtimestamp(seconds, tz=UTC)
