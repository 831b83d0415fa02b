"""Issuance inside the app: authorisation rows, signed links, revocation, and verification.

The Flask-free core (eta.issuance) signs and checks; this module binds it to the app's
configuration (ETA_KEYS_DIR, ETA_ISSUER, SECRET_KEY) and to the database. The other rooms
call it: screening and officers enqueue `workers.issuance.issue_authorisation`, the traveller
pages show :func:`authorisation_summary`, officers :func:`revoke`, carriers
:func:`verify_token` and :func:`revoked_hashes`.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, has_request_context, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from eta import applications, audit
from eta.documents import normalise_document_number
from eta.issuance.keys import Keyring, KeySet
from eta.issuance.pdf import AuthorisationDocument, authorisation_pdf
from eta.issuance.qr import MAX_TOKEN_BYTES, MAX_VERSION
from eta.issuance.revocations import revocation_hash, sign_revocation_list
from eta.issuance.tokens import (
    AuthorisationClaims,
    VerificationResult,
    issue,
    new_jti,
    validity_end,
    verify,
)
from eta.models import Actor, Application, ApplicationStatus, Authorisation, RevocationListVersion
from eta.models.base import SessionLike
from eta.timeutil import utcnow

log = logging.getLogger(__name__)

# Signed links to the PDF and QR images: long enough to download after reading the email or
# status page, short enough that a forwarded or logged link soon stops working.
LINK_MAX_AGE = 24 * 3600
LINK_KINDS = ("pdf", "png", "svg")
_LINK_SALT = "eta.issuing.authorisation-link"

# A revocation reaches every process within this many seconds (the one revoking: at once).
REVOCATIONS_CACHE_SECONDS = 2.0

_lock = threading.Lock()
_keyrings: dict[str, Keyring] = {}
_key_sets: dict[str, tuple[tuple[int, int, int] | None, KeySet]] = {}
_revocations: dict[str, tuple[float, tuple[Any, ...], frozenset[str]]] = {}
_revocation_lists: dict[str, tuple[tuple[Any, ...], str, str]] = {}


class IssuanceError(Exception):
    """An authorisation cannot be issued (say, the passport has expired since approval)."""


# --- configuration and keys ---------------------------------------------------------------


def issuer() -> str:
    """The `iss` of this deployment's tokens (ETA_ISSUER, without a trailing slash)."""
    return str(current_app.config["ETA_ISSUER"]).rstrip("/")


def _keys_dir() -> str:
    return _resolved(str(current_app.config["ETA_KEYS_DIR"]))


@functools.lru_cache(maxsize=16)
def _resolved(path: str) -> str:
    # Resolving walks the path with a system call per component: once per setting, not on
    # every carrier verification (key_set() is on that path).
    return str(Path(path).resolve())


def keyring() -> Keyring:
    """The app's signing keyring (ETA_KEYS_DIR), one instance per directory and process.

    Outside production an empty keyring gets its first keys on first use (as `make run`
    does); production never mints keys implicitly: run `eta keys generate` once.
    """
    path = _keys_dir()
    with _lock:
        ring = _keyrings.get(path)
        if ring is None:
            ring = Keyring.load(Path(path))
            if current_app.config.get("ETA_ENV") != "production" and not ring.list():
                ring.generate()
            _keyrings[path] = ring
        return ring


def _manifest_stamp(path: str) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(os.path.join(path, "keyring.json"))
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def key_set() -> KeySet:
    """The published public keys, parsed once and re-read when the keyring manifest changes."""
    path = _keys_dir()
    stamp = _manifest_stamp(path)
    cached = _key_sets.get(path)
    if cached is not None and cached[0] == stamp and stamp is not None:
        return cached[1]
    keys = keyring().key_set()
    _key_sets[path] = (stamp, keys)
    return keys


def public_jwks() -> dict[str, Any]:
    """The JWKS to publish: every key whose tokens may still be valid, plus the next key."""
    return keyring().public_jwks()


# --- issuing ------------------------------------------------------------------------------


def _mrz_words(text: str) -> str:
    """A name in the token's MRZ form: fillers as spaces, single spaces, upper case."""
    return " ".join(re.sub(r"[^A-Z]+", " ", text.replace("<", " ").upper()).split())


def authorisation_claims(
    application: Application, *, jti: str, issued_at: dt.datetime, valid_until: dt.datetime
) -> AuthorisationClaims:
    """What the token of ``application``'s authorisation states."""
    return AuthorisationClaims(
        reference=application.reference,
        jti=jti,
        issued_at=issued_at,
        valid_from=issued_at,
        valid_until=valid_until,
        passport_number=application.passport_number_normalised or application.passport_number,
        issuing_country=application.passport_issuing_country,
        surname_mrz=_mrz_words(application.surname_mrz),
        given_names_mrz=_mrz_words(application.given_names_mrz),
        date_of_birth=application.date_of_birth,
    )


def _existing(session: SessionLike, application_id: int) -> Authorisation | None:
    return session.scalar(
        select(Authorisation).where(Authorisation.application_id == application_id)
    )


def issue_for(
    session: SessionLike, application: Application, *, now: dt.datetime | None = None
) -> Authorisation | None:
    """Create the authorisation of an approved application, once; return it.

    Idempotent: an application that already has one gets it back unchanged (the unique
    application_id settles a race between two workers). Returns None when the application
    is not approved. Raises :class:`IssuanceError` when the passport has already expired.
    """
    existing = _existing(session, application.id)
    if existing is not None:
        return existing
    if application.status != ApplicationStatus.APPROVED:
        return None
    now = now or utcnow()
    try:
        valid_until = validity_end(
            now,
            application.passport_expiry_date,
            int(current_app.config.get("ETA_VALIDITY_YEARS", 2)),
        )
    except ValueError as error:
        raise IssuanceError(f"{application.reference}: {error}") from error
    signing_key = keyring().active()
    jti = new_jti()
    claims = authorisation_claims(application, jti=jti, issued_at=now, valid_until=valid_until)
    token = issue(claims, signing_key, issuer())
    if len(token) > MAX_TOKEN_BYTES:
        # Fail before the row exists: a token that cannot be printed must not be issued.
        raise IssuanceError(
            f"{application.reference}: a {len(token)}-character token does not fit a "
            f"version-{MAX_VERSION} QR code; shorten ETA_ISSUER (see docs/issuance.md)"
        )
    authorisation = Authorisation(
        application_id=application.id,
        jti=jti,
        kid=signing_key.kid,
        issued_at=now,
        valid_from=claims.valid_from,
        valid_until=valid_until,
        token=token,
        passport_number_normalised=normalise_document_number(claims.passport_number),
        passport_issuing_country=application.passport_issuing_country,
    )
    session.add(authorisation)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return _existing(session, application.id)
    audit.record(
        session,
        "authorisation.issued",
        actor=Actor.SYSTEM.value,
        object_type="application",
        object_id=application.reference,
        details={"kid": signing_key.kid, "valid_until": valid_until.isoformat()},
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return _existing(session, application.id)
    return authorisation


# --- signed links -------------------------------------------------------------------------


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


def _external_url(endpoint: str, **values: Any) -> str:
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    # Jobs (the decision email) have no request: links start at the public base, ETA_ISSUER.
    with current_app.test_request_context(base_url=issuer() + "/"):
        return url_for(endpoint, _external=True, **values)


def download_url(authorisation: Authorisation, kind: str) -> str:
    """A signed link (valid :data:`LINK_MAX_AGE` seconds) to the PDF, PNG or SVG."""
    return _external_url(f"public.authorisation_{kind}", link=link_token(authorisation, kind))


def verify_page_url() -> str:
    """The public page where anyone checks an authorisation."""
    return _external_url("public.verify")


def authorisation_summary(application: Application) -> dict[str, Any] | None:
    """What the traveller's status page and status API show of the authorisation.

    Keys: token, pdf_url, qr_png_url (signed links that expire), valid_until (ISO 8601).
    None when the application has no authorisation or it was revoked.
    """
    authorisation = application.authorisation
    if authorisation is None or authorisation.revoked_at is not None:
        return None
    return {
        "token": authorisation.token,
        "pdf_url": download_url(authorisation, "pdf"),
        "qr_png_url": download_url(authorisation, "png"),
        "valid_until": authorisation.valid_until.isoformat(),
    }


def authorisation_document_pdf(authorisation: Authorisation) -> bytes:
    """The printable authorisation in the applicant's language, rendered on demand."""
    from babel.dates import format_date

    from eta.countries import country_name

    application = authorisation.application
    language = (application.language or "en").split("-")[0].lower()
    document = AuthorisationDocument(
        service_name=str(current_app.config["ETA_SERVICE_NAME"]),
        reference=application.reference,
        surname_mrz=_mrz_words(application.surname_mrz),
        given_names_mrz=_mrz_words(application.given_names_mrz),
        surname=application.surname,
        given_names=application.given_names,
        date_of_birth=application.date_of_birth,
        passport_number=authorisation.passport_number_normalised,
        issuing_country=f"{country_name(authorisation.passport_issuing_country)} "
        f"({authorisation.passport_issuing_country})",
        valid_from=authorisation.valid_from,
        valid_until=authorisation.valid_until,
        token=authorisation.token,
        verify_url=verify_page_url(),
    )

    def localised(value: dt.date) -> str:
        try:
            return str(format_date(value, "long", locale=language))
        except ValueError:  # a language babel does not know
            return value.isoformat()

    return authorisation_pdf(document, language, localised)


# --- revocation ---------------------------------------------------------------------------


def _cache_key() -> str:
    return str(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _list_state(session: SessionLike) -> tuple[Any, ...]:
    """Identifies the current revocation list version (survives a test's emptied tables)."""
    latest = session.execute(
        select(
            RevocationListVersion.version,
            RevocationListVersion.published_at,
            RevocationListVersion.authorisation_id,
        )
        .order_by(RevocationListVersion.version.desc())
        .limit(1)
    ).first()
    return (0, None, None) if latest is None else tuple(latest)


def _forget_revocations() -> None:
    key = _cache_key()
    _revocations.pop(key, None)


def revoked_hashes(session: SessionLike) -> set[str]:
    """Revocation hashes (SPEC §4) of every revoked authorisation, as verifiers hold them.

    Cached per process: reused for :data:`REVOCATIONS_CACHE_SECONDS`, then reused again only
    while the latest revocation list version is unchanged.
    """
    return set(_revoked(session))


def _revoked(session: SessionLike) -> frozenset[str]:
    key = _cache_key()
    cached = _revocations.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[0] < REVOCATIONS_CACHE_SECONDS:
        return cached[2]
    state = _list_state(session)
    if cached is not None and cached[1] == state:
        _revocations[key] = (now, state, cached[2])
        return cached[2]
    jtis = session.scalars(select(Authorisation.jti).where(Authorisation.revoked_at.is_not(None)))
    hashes = frozenset(revocation_hash(jti) for jti in jtis)
    _revocations[key] = (now, state, hashes)
    return hashes


def revocation_list_version(session: SessionLike) -> int:
    """The current version of the revocation list (0 before any revocation)."""
    return int(_list_state(session)[0])


def revocation_list_jws(session: SessionLike) -> str:
    """The signed revocation list (compact JWS, typ eta-revocations+jwt) of SPEC §4.

    Signed once per list version and active key, so repeated requests get the same bytes
    (and the same ETag) until something changes.
    """
    state = _list_state(session)
    signing_key = keyring().active()
    key = _cache_key()
    cached = _revocation_lists.get(key)
    if cached is not None and cached[0] == state and cached[1] == signing_key.kid:
        return cached[2]
    _forget_revocations()
    jws = sign_revocation_list(_revoked(session), int(state[0]), issuer(), signing_key, utcnow())
    _revocation_lists[key] = (state, signing_key.kid, jws)
    return jws


def revoke(
    session: SessionLike,
    authorisation: Authorisation,
    *,
    reason_code: str,
    officer_id: int | None,
    actor: Actor | str,
) -> None:
    """Revoke an authorisation: mark it, move its application to revoked, bump the list.

    Commits the mark, the status change, the new list version and the audit event together,
    then enqueues the "revoked" email. Revoking an already revoked authorisation changes
    nothing.
    """
    if authorisation.revoked_at is not None:
        return
    actor = Actor(actor)
    now = utcnow()
    authorisation.revoked_at = now
    authorisation.revocation_reason = reason_code
    authorisation.revoked_by_id = officer_id
    application = authorisation.application
    applications.revoke(
        session,
        application,
        reason_code=reason_code,
        officer_id=officer_id,
        actor=actor,
        commit=False,
    )
    session.add(RevocationListVersion(published_at=now, authorisation_id=authorisation.id))
    audit.record(
        session,
        "authorisation.revoked",
        actor=f"officer:{officer_id}" if officer_id is not None else actor.value,
        object_type="application",
        object_id=application.reference,
        details={"reason": reason_code},
    )
    session.commit()
    _forget_revocations()
    _enqueue_notification(application.id, "revoked")


def _enqueue_notification(application_id: int, kind: str) -> None:
    from eta.extensions import redis_client
    from workers.enqueue import enqueue
    from workers.queues import NOTIFICATIONS

    try:
        enqueue(
            redis_client.client,
            NOTIFICATIONS,
            "workers.notifications.notify_traveller",
            application_id,
            kind,
            job_id=f"notify-{kind}-{application_id}",
        )
    except Exception:  # the decision stands without Redis; the notification sweeper resends
        log.exception("could not enqueue the %s email for application %s", kind, application_id)


# --- verification -------------------------------------------------------------------------


def verify_token(
    token: str,
    *,
    now: dt.datetime | None = None,
    expected_passport_number: str | None = None,
    expected_country: str | None = None,
) -> VerificationResult:
    """Verify a token with this deployment's published keys and current revocations."""
    from eta.extensions import db

    return verify(
        token.strip() if isinstance(token, str) else token,
        key_set(),
        _revoked(db.session),
        now or utcnow(),
        issuer(),
        expected_passport_number=expected_passport_number,
        expected_country=expected_country,
    )
