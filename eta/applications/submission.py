"""Submitting a validated application: save it once, with its screening and receipt.

Submitting twice never makes two applications. The web journey's draft is consumed once, by a
conditional UPDATE that is the transaction's first write (`submit_draft`); an API client's
`Idempotency-Key` is claimed the same way (`submit_document`, see eta.applications.idempotency).
A second submission, at once or later, answers with the first one's reference.

Everything an answer needs (id, reference, status) is read before the commit, into
`Submitted`: if the connection drops once COMMIT is sent, no read after it can turn a saved
application into an error for the traveller, and a retry with the same key finds it.

A reference is never looked up before it is used: the database's unique constraint refuses
one drawn twice, and the whole transaction (draft claim, idempotency claim, application, work)
is then rolled back and run again with a fresh draw (`_with_a_free_reference`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from eta import applications, outbox, tasks
from eta.applications import chips, idempotency, photos
from eta.applications.idempotency import IdempotentRequest
from eta.applications.validation import validate_application
from eta.extensions import db
from eta.models import Application, ApplicationDraft
from eta.models import ApplicationStatus as S
from eta.timeutil import utcnow

log = logging.getLogger(__name__)

# How many references one submission draws before it gives up. Two draws colliding is a
# one-in-1e14 event per pair: a second attempt is already unheard of, a fifth means the
# generator is broken, and looping for ever would hide that.
REFERENCE_ATTEMPTS = 5

T = TypeVar("T")


class NoFreeReference(RuntimeError):
    """Every reference drawn for a submission was taken: the generator is broken."""


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


def submit_application(
    data: dict[str, Any],
    *,
    channel: str,
    photo: photos.Photo | None = None,
    chip: chips.Chip | None = None,
) -> Submitted:
    """Save `data` (validate_application's output) as a submitted application, with its work.

    Screening and the receipt email are outbox rows committed with the application, so a
    Redis that is down (or loses its data) delays them and never loses them. A `photo` that
    passed the gate (eta.applications.photos) is stored with it, sealed, as is a passport
    `chip` that was read (eta.applications.chips).
    """

    def once() -> Submitted:
        submitted = _save(data, channel=channel, photo=photo, chip=chip)
        outbox.commit(db.session)
        return submitted

    return _with_a_free_reference(once)


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
    errors = dict(result.errors)
    photo = photos.accept(document, errors)
    chip = chips.accept(document, result.data, errors)
    if errors:
        raise InvalidApplication(errors)
    if request is None:
        return submit_application(result.data, channel=channel, photo=photo, chip=chip)
    lifetime = dt.timedelta(hours=int(current_app.config["ETA_IDEMPOTENCY_HOURS"]))
    claimed = request

    def once() -> Submitted:
        # A retry after a taken reference rolled the claim back with everything else.
        if not idempotency.claim(db.session, claimed, lifetime=lifetime):
            raise _ClaimLost
        submitted = _save(result.data, channel=channel, photo=photo, chip=chip)
        idempotency.complete(
            db.session,
            claimed,
            application_id=submitted.application_id,
            response=submitted.answer(),
        )
        outbox.commit(db.session)
        return submitted

    try:
        return _with_a_free_reference(once)
    except _ClaimLost:
        # A request with this key committed while this one validated: answer as it did.
        stored = idempotency.stored_response(db.session, request)
        if stored is None:  # it expired in between: vanishingly rare, and safe to try again
            return submit_document(document, channel=channel, idempotency_key=idempotency_key)
        return _replay(stored)


def submit_draft(
    token: str, data: dict[str, Any], *, photo: photos.Photo | None = None
) -> Submitted:
    """Submit the web journey's draft `token` with its validated `data` (and photo), once.

    The draft is claimed by a conditional UPDATE (not yet submitted, not expired), the first
    write of the transaction: a concurrent submission of the same draft waits for it, then
    matches nothing and answers with this submission's application (`replayed`), as does any
    later one. Raises DraftGone when the draft expired unsubmitted or does not exist.
    """
    return _with_a_free_reference(lambda: _submit_draft_once(token, data, photo))


def _submit_draft_once(token: str, data: dict[str, Any], photo: photos.Photo | None) -> Submitted:
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
    submitted = _save(data, channel="web", photo=photo)
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


class _ClaimLost(Exception):
    """Another request committed this idempotency key first (see submit_document)."""


def _with_a_free_reference(attempt: Callable[[], T]) -> T:
    """Run `attempt` (one whole submission transaction), again while its reference was taken.

    Any other integrity error is the caller's to see. Raises NoFreeReference after
    REFERENCE_ATTEMPTS draws that were all taken.
    """
    for _ in range(REFERENCE_ATTEMPTS):
        try:
            return attempt()
        except IntegrityError as error:
            db.session.rollback()
            if not applications.reference_taken(error):
                raise
            log.warning("submission: reference already taken, drawing another")
    raise NoFreeReference(f"{REFERENCE_ATTEMPTS} references drawn, every one taken")


def _save(
    data: dict[str, Any],
    *,
    channel: str,
    photo: photos.Photo | None = None,
    chip: chips.Chip | None = None,
) -> Submitted:
    """Insert the application, its photo, chip and work in the session's transaction; no commit."""
    new = applications.insert_submitted(db.session, data, channel=channel)
    if photo is not None:
        photos.save(db.session, new.id, photo)
    if chip is not None:
        chips.save(db.session, new.id, chip)
    outbox.add_all(
        db.session,
        [
            outbox.Work(tasks.SCREEN, (new.id,), f"screen-{new.id}"),
            outbox.Work(tasks.NOTIFY, (new.id, "submitted"), f"notify-{new.id}-submitted"),
        ],
    )
    return Submitted(new.id, new.reference, S.SUBMITTED.value)


def exempt_nationalities() -> tuple[str, ...]:
    """The nationalities that need no ETA at all (ETA_EXEMPT_NATIONALITIES)."""
    return tuple(current_app.config["ETA_EXEMPT_NATIONALITIES"])


def eligible_nationalities() -> tuple[str, ...]:
    """The nationalities that may apply for an ETA (ETA_ELIGIBLE_NATIONALITIES)."""
    return tuple(current_app.config["ETA_ELIGIBLE_NATIONALITIES"])


def languages() -> tuple[str, ...]:
    """The languages the service speaks (ETA_LANGUAGES), lower case."""
    return tuple(code.lower() for code in current_app.config["ETA_LANGUAGES"])
