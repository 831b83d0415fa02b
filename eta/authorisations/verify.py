"""Verifying a token with this deployment's published keys and current revocations."""

from __future__ import annotations

import datetime as dt
import logging

from eta.authorisations.keys import issuer, key_set
from eta.authorisations.state import current_revocations_state
from eta.issuance.tokens import (
    VerificationResult,
    verify,
)
from eta.partners.current import partner_tokens
from eta.timeutil import utcnow

log = logging.getLogger(__name__)


def verify_token(
    token: str,
    *,
    now: dt.datetime | None = None,
    expected_passport_number: str | None = None,
    expected_country: str | None = None,
) -> VerificationResult:
    """Verify a token with this deployment's published keys and current revocations.

    A token no key of ours signed is checked with the partners' keys the trust list vouches
    for (mutual recognition, :mod:`eta.partners.recognition`), each with its own issuer, and
    against the revocation list last imported from that partner.
    """
    from eta.extensions import db

    now = now or utcnow()
    text = token.strip() if isinstance(token, str) else token
    revocations = current_revocations_state(db.session)
    result = verify(
        text,
        key_set(),
        revocations.revoked_hashes,
        now,
        issuer(),
        expected_passport_number=expected_passport_number,
        expected_country=expected_country,
    )
    if result.detail == "unknown_kid":
        partners = partner_tokens(now)
        partner = partners.partner_of(text) if partners else None
        if partner is not None:
            found = partners.verify(
                text,
                now,
                revoked=revocations.partner_revoked_hashes(partner.id),
                expected_passport_number=expected_passport_number,
                expected_country=expected_country,
            )
            return found or result
    return result
