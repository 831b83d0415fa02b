"""Authorisations inside the app: issue, signed links, revoke, verify (binds eta.issuance to it).

The Flask-free core (eta.issuance) signs and checks; this package binds it to the app's
configuration (ETA_KEYS_DIR, ETA_ISSUER, SECRET_KEY) and to the database. The other rooms
call it: the issuance job calls :func:`issue_for`, the traveller pages show
:func:`authorisation_summary`, officers :func:`revoke`, carriers :func:`verify_token` and
:func:`revoked_hashes`.
"""

from eta.authorisations.issue import (
    IssuanceError,
    authorisation_claims,
    authorisation_document_pdf,
    authorisation_summary,
    issue_for,
)
from eta.authorisations.keys import issuer, key_set, keyring, public_jwks
from eta.authorisations.links import (
    LINK_KINDS,
    LINK_MAX_AGE,
    LinkTarget,
    authorisation_for_link,
    download_url,
    link_token,
    read_link,
    verify_page_url,
)
from eta.authorisations.revocation import (
    current_revocations,
    revocation_list_jws,
    revocation_list_version,
    revoke,
    revoked_hashes,
)
from eta.authorisations.verify import verify_token

__all__ = [
    "LINK_KINDS",
    "LINK_MAX_AGE",
    "IssuanceError",
    "LinkTarget",
    "authorisation_claims",
    "authorisation_document_pdf",
    "authorisation_for_link",
    "authorisation_summary",
    "current_revocations",
    "download_url",
    "issue_for",
    "issuer",
    "key_set",
    "keyring",
    "link_token",
    "public_jwks",
    "read_link",
    "revocation_list_jws",
    "revocation_list_version",
    "revoke",
    "revoked_hashes",
    "verify_page_url",
    "verify_token",
]
