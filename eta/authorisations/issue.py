"""Issuing an approved application's authorisation, and what the traveller is shown of it."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from eta import audit, outbox
from eta.authorisations.keys import issuer, keyring
from eta.authorisations.links import download_url, verify_page_url
from eta.documents import normalise_document_number
from eta.issuance.pdf import AuthorisationDocument, authorisation_pdf
from eta.issuance.qr import MAX_TOKEN_BYTES, MAX_VERSION
from eta.issuance.tokens import (
    AuthorisationClaims,
    issue,
    new_jti,
    validity_end,
)
from eta.models import Actor, Application, ApplicationStatus, Authorisation
from eta.models.base import SessionLike
from eta.screening.mrz import mrz_name_parts
from eta.tasks import Task
from eta.timeutil import utcnow

log = logging.getLogger(__name__)


class IssuanceError(Exception):
    """An authorisation cannot be issued (say, the passport has expired since approval)."""


def _mrz_words(text: str) -> str:
    """A name in MRZ letters: fillers as spaces, single spaces, upper case."""
    return " ".join(re.sub(r"[^A-Z]+", " ", text.replace("<", " ").upper()).split())


def mrz_names(application: Application) -> tuple[str, str]:
    """(surname, given names) as the passport's MRZ prints them: its 39-character name field,
    truncated as ICAO 9303 Part 4 4.2.3 truncates it, fillers as single spaces.

    What the token carries and carriers are told, so they compare it with the passport's MRZ
    letter for letter; and any name that fits a passport fits the token's QR code.
    """
    return mrz_name_parts(
        _mrz_words(application.surname_mrz or ""), _mrz_words(application.given_names_mrz or "")
    )


def authorisation_claims(
    application: Application, *, jti: str, issued_at: dt.datetime, valid_until: dt.datetime
) -> AuthorisationClaims:
    """What the token of ``application``'s authorisation states."""
    surname, given_names = mrz_names(application)
    return AuthorisationClaims(
        reference=application.reference,
        jti=jti,
        issued_at=issued_at,
        valid_from=issued_at,
        valid_until=valid_until,
        passport_number=application.passport_number_normalised or application.passport_number,
        issuing_country=application.passport_issuing_country,
        surname_mrz=surname,
        given_names_mrz=given_names,
        date_of_birth=application.date_of_birth,
    )


def _existing(session: SessionLike, application_id: int) -> Authorisation | None:
    return session.scalar(
        select(Authorisation).where(Authorisation.application_id == application_id)
    )


def issue_for(
    session: SessionLike,
    application: Application,
    *,
    now: dt.datetime | None = None,
    follow: Sequence[tuple[Task, tuple[int | str | None, ...], str]] = (),
) -> Authorisation | None:
    """Create the authorisation of an approved application, once; return it.

    `follow` lists outbox rows (task, arguments, key) written in the same transaction as the
    authorisation (the approval email): they happen if and only if it is issued. When the
    transaction is committed outside a job (session.info[outbox.DONE_WITH_COMMIT]), the job's
    own outbox row is marked done in it too.

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
    for task, args, key in follow:
        outbox.add(session, task, *args, key=key)
    outbox.finish_current(session)
    try:
        outbox.commit(session)
    except IntegrityError:
        session.rollback()
        return _existing(session, application.id)
    return authorisation


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
    from flask_babel import force_locale

    from eta.countries import country_name_in
    from eta.web.i18n import localise_digits, service_name

    application = authorisation.application
    language = (application.language or "en").split("-")[0].lower()
    with force_locale(language):  # the applicant's language, wherever it is rendered
        localised_name = service_name()
    document = AuthorisationDocument(
        service_name=localised_name,
        reference=application.reference,
        surname_mrz=_mrz_words(application.surname_mrz),
        given_names_mrz=_mrz_words(application.given_names_mrz),
        surname=application.surname,
        given_names=application.given_names,
        date_of_birth=application.date_of_birth,
        passport_number=authorisation.passport_number_normalised,
        issuing_country=f"{country_name_in(authorisation.passport_issuing_country, language)} "
        f"({authorisation.passport_issuing_country})",
        valid_from=authorisation.valid_from,
        valid_until=authorisation.valid_until,
        token=authorisation.token,
        verify_url=verify_page_url(),
    )

    def localised(value: dt.date) -> str:
        try:
            return localise_digits(format_date(value, "long", locale=language), language)
        except ValueError:  # a language babel does not know
            return value.isoformat()

    from eta.authorisations.pdf_signing import sign_document

    # Signed on every download (the signature's time is the download's): a border guard's
    # PDF reader checks it came from the agency and was not changed (docs/issuance.md).
    return sign_document(
        authorisation_pdf(document, language, localised),
        reason=f"{localised_name} {application.reference}",
    )
