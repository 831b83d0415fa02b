"""Signed, expiring download links to an authorisation's PDF, PNG and SVG, and the verify page."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from eta.models import Authorisation
from eta.models.base import SessionLike
from eta.web.urls import public_url

log = logging.getLogger(__name__)

# Signed links to the PDF and QR images: long enough to download after reading the email or
# status page, short enough that a forwarded or logged link soon stops working.
LINK_MAX_AGE = 24 * 3600
LINK_KINDS = ("pdf", "png", "svg")
_LINK_SALT = (
    "eta.issuing.authorisation-link"  # unchanged since wave 1: links already sent stay valid
)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_LINK_SALT)


def link_token(authorisation: Authorisation, kind: str) -> str:
    """The signed, expiring part of a download link for ``authorisation`` as ``kind``."""
    if kind not in LINK_KINDS:
        raise ValueError(f"unknown link kind {kind!r}")
    # The jti ties the link to this very authorisation, never to a row that reuses the id.
    return _serializer().dumps({"a": authorisation.id, "j": authorisation.jti, "k": kind})


@dataclass(frozen=True)
class LinkTarget:
    """What a valid download link points at."""

    authorisation_id: int
    jti: str
    kind: str


def read_link(token: str, kind: str, max_age: int | None = None) -> LinkTarget | None:
    """The target of a signed link, or None if it is forged, of another kind, or expired.

    ``max_age`` defaults to :data:`LINK_MAX_AGE` seconds.
    """
    try:
        data = _serializer().loads(token, max_age=LINK_MAX_AGE if max_age is None else max_age)
    except (SignatureExpired, BadSignature):
        return None
    if (
        not isinstance(data, dict)
        or data.get("k") != kind
        or not isinstance(data.get("a"), int)
        or not isinstance(data.get("j"), str)
    ):
        return None
    return LinkTarget(authorisation_id=data["a"], jti=data["j"], kind=kind)


def authorisation_for_link(session: SessionLike, token: str, kind: str) -> Authorisation | None:
    """The authorisation a signed link names, if the link is valid and it is not revoked."""
    target = read_link(token, kind)
    if target is None:
        return None
    authorisation = session.get(Authorisation, target.authorisation_id)
    if authorisation is None or authorisation.jti != target.jti:
        return None
    if authorisation.revoked_at is not None or authorisation.token is None:
        return None  # revoked, or erased under the retention limit
    return authorisation


def download_url(authorisation: Authorisation, kind: str) -> str:
    """A signed link (valid :data:`LINK_MAX_AGE` seconds) to the PDF, PNG or SVG."""
    return public_url(f"public.authorisation_{kind}", link=link_token(authorisation, kind))


def verify_page_url() -> str:
    """The public page where anyone checks an authorisation."""
    return public_url("public.verify")
