"""Mutual recognition: a partner's authorisations checked with its own keys and its own issuer."""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Mapping
from datetime import datetime

from eta.issuance.keys import KeySet
from eta.issuance.tokens import VerificationResult, verify
from eta.partners.trustlist import Partner


def token_kid(token: str) -> str | None:
    """The kid a compact JWS's header names, or None (a lookup hint: the signature decides)."""
    if not isinstance(token, str):
        return None
    head = token.strip().split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


class PartnerTokens:
    """The partners' token signing keys the trust list vouches for now, by kid.

    Built from :meth:`eta.partners.trustlist.TrustList.token_issuers`. A token a partner's
    key signed verifies only with that key and only if it carries that partner's ``iss``.
    """

    def __init__(self, issuers: Mapping[str, tuple[Partner, KeySet]]) -> None:
        self._by_kid = dict(issuers)

    def __bool__(self) -> bool:
        return bool(self._by_kid)

    def partner_of(self, token: str) -> Partner | None:
        """The partner whose key the token names, if the list vouches for that key."""
        found = self._by_kid.get(token_kid(token) or "")
        return found[0] if found else None

    def verify(
        self,
        token: str,
        now: datetime,
        *,
        revoked: Collection[str] = (),
        expected_passport_number: str | None = None,
        expected_country: str | None = None,
    ) -> VerificationResult | None:
        """Verify a partner's token as :func:`eta.issuance.tokens.verify` does; None if its
        kid is no partner's."""
        found = self._by_kid.get(token_kid(token) or "")
        if found is None:
            return None
        partner, keys = found
        return verify(
            token.strip(),
            keys,
            revoked,
            now,
            str(partner.issuer),
            expected_passport_number=expected_passport_number,
            expected_country=expected_country,
        )


NO_PARTNERS = PartnerTokens({})
