"""Submitting a validated application: save it once, with its screening and receipt.

Submitting twice never makes two applications. The web journey's draft is consumed once, by a
conditional UPDATE that is the transaction's first write (`submit_draft`); an API client's
`Idempotency-Key` is claimed the same way (`submit_document`, see eta.applications.idempotency).
A second submission, at once or later, answers with the first one's reference.

Everything an answer needs (id, reference, status) is read before the commit, into
`Submitted`: if the connection drops once COMMIT is sent, no read after it can turn a saved
application into an error for the traveller, and a retry with the same key finds it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from eta import applications, outbox, tasks
from eta.applications import idempotency
from eta.applications.idempotency import IdempotentRequest
from eta.applications.validation import validate_application
from eta.extensions import db
from eta.models import Application, ApplicationDraft
from eta.models import ApplicationStatus as S
from eta.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Submitted:
    """A saved application, as its answer shows it; `replayed` when an earlier request saved it."""

    application_id: int
    reference: str
    status: str
    replayed: bool = False

    def answer(self) -> dict[str, Any]:
        """What the submission answers (and what an idempotency key stores)."""
        return {"reference": self.reference, "status": self.status}


class InvalidApplication(ValueError):
    """The submitted document does not validate; `errors` maps field paths to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("the application does not validate")
        self.errors = errors


class DraftGone(LookupError):
    """The journey's draft expired or never existed, and was not submitted."""


def submit_application(data: dict[str, Any], *, channel: str) -> Submitted:
    """Save `data` (validate_application's output) as a submitted application, with its work.

    Screening and the receipt email are outbox rows committed with the application, so a
    Redis that is down (or loses its data) delays them and never loses them.
    """
    submitted = _save(data, channel=channel)
    outbox.commit(db.session)
    return submitted


def submit_document(
    document: dict[str, Any], *, channel: str, idempotency_key: str | None = None
) -> Submitted:
    """Validate and submit an API document, at most once per `idempotency_key`.

    With a key seen within its lifetime (ETA_IDEMPOTENCY_HOURS) and the same document, the
    first submission's answer comes back (`replayed`), even if the document would no longer
    validate today. Raises InvalidIdempotencyKey (malformed key), IdempotencyKeyReused (the
    key came with another document) or InvalidApplication (field errors).
    """
    request = None
    if idempotency_key is not None:
        request = IdempotentRequest.of(idempotency_key, document)
        stored = idempotency.stored_response(db.session, request)
        if stored is not None:
            return _replay(stored)
    result = validate_application(
        document,
        eligible_nationalities=eligible_nationalities(),
        exempt_nationalities=exempt_nationalities(),
        languages=languages(),
    )
    if result.errors:
        raise InvalidApplication(dict(result.errors))
    if request is None:
        return submit_application(result.data, channel=channel)
    lifetime = dt.timedelta(hours=int(current_app.config["ETA_IDEMPOTENCY_HOURS"]))
    if not idempotency.claim(db.session, request, lifetime=lifetime):
        # A request with this key committed while this one validated: answer as it did.
        stored = idempotency.stored_response(db.session, request)
        if stored is None:  # it expired in between: vanishingly rare, and safe to try again
            return submit_document(document, channel=channel, idempotency_key=idempotency_key)
        return _replay(stored)
    submitted = _save(result.data, channel=channel)
    idempotency.complete(
        db.session, request, application_id=submitted.application_id, response=submitted.answer()
    )
    outbox.commit(db.session)
    return submitted


def submit_draft(token: str, data: dict[str, Any]) -> Submitted:
    """Submit the web journey's draft `token` with its validated `data`, once.

    The draft is claimed by a conditional UPDATE (not yet submitted, not expired), the first
    write of the transaction: a concurrent submission of the same draft waits for it, then
    matches nothing and answers with this submission's application (`replayed`), as does any
    later one. Raises DraftGone when the draft expired unsubmitted or does not exist.
    """
    session = db.session
    now = utcnow()
    claimed = session.execute(
        update(ApplicationDraft)
        .where(
            ApplicationDraft.token == token,
            ApplicationDraft.application_id.is_(None),
            ApplicationDraft.expires_at > now,
        )
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        earlier = submitted_draft(token)
        if earlier is None:
            raise DraftGone("the draft expired or does not exist")
        return earlier
    submitted = _save(data, channel="web")
    session.execute(
        update(ApplicationDraft)
        .where(ApplicationDraft.token == token)
        .values(application_id=submitted.application_id)
        .execution_options(synchronize_session=False)
    )
    outbox.commit(session)
    return submitted


def submitted_draft(token: str) -> Submitted | None:
    """The application that draft `token` was submitted as, or None if it was not (or is gone)."""
    row = db.session.execute(
        select(Application.id, Application.reference, Application.status)
        .join(ApplicationDraft, ApplicationDraft.application_id == Application.id)
        .where(ApplicationDraft.token == token)
    ).first()
    if row is None:
        return None
    return Submitted(row.id, row.reference, row.status, replayed=True)


def _replay(stored: idempotency.Stored) -> Submitted:
    response = stored.response
    return Submitted(stored.application_id, response["reference"], response["status"], True)


def _save(data: dict[str, Any], *, channel: str) -> Submitted:
    """Add the application in the session's transaction and read its answer; no commit."""
    application = Application(**data, channel=channel)
    applications.submit(db.session, application, commit=False)
    db.session.flush()
    outbox.add(db.session, tasks.SCREEN, application.id, key=f"screen-{application.id}")
    outbox.add(
        db.session,
        tasks.NOTIFY,
        application.id,
        "submitted",
        key=f"notify-{application.id}-submitted",
    )
    return Submitted(application.id, application.reference, S(application.status).value)


def exempt_nationalities() -> tuple[str, ...]:
    """The nationalities that need no ETA at all (ETA_EXEMPT_NATIONALITIES)."""
    return tuple(current_app.config["ETA_EXEMPT_NATIONALITIES"])


def eligible_nationalities() -> tuple[str, ...]:
    """The nationalities that may apply for an ETA (ETA_ELIGIBLE_NATIONALITIES)."""
    return tuple(current_app.config["ETA_ELIGIBLE_NATIONALITIES"])


def languages() -> tuple[str, ...]:
    """The languages the service speaks (ETA_LANGUAGES), lower case."""
    return tuple(code.lower() for code in current_app.config["ETA_LANGUAGES"])
