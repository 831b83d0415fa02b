"""The retention limit: personal data is erased a set time after an application ends.

As ETIAS does, a record is kept for ETA_RETENTION_DAYS after the application's end: a refusal,
a withdrawal, a revocation, or the end of the authorisation's validity (expiry). The lifecycle
(eta.applications) sets `erase_after` with the move that ends an application; `erase_due()`,
run daily by the maintenance worker and by `eta retention run`, then erases what is due.

Erasing keeps a skeleton: id, reference, status, nationality, sex, the age at submission (in
place of the date of birth), country of residence, passport issuing country and dates, travel
purpose and dates, the status history, decisions, screening runs and hits (check, code, score,
list entry, rule) and the audit trail, so the statistics and the fairness dashboard still count
the row. Everything that names or reaches the person goes: names, date and place of birth,
passport number and MRZ, email, phone, address lines and city, occupation, the answers' free
text, the signed token, officers' notes and questions, the traveller's answers to them and
grounds for a review, the journey draft, the facial photo with its face template, and the hits'
explanations (they quote names and passport numbers).

Erased rows no longer match anything by name, birth date or passport: traveller look-ups find
nothing (as for an unknown reference), carriers get `not_found`, and screening's history check
no longer sees an earlier refusal of that person. That is the point of the limit.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import Table, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from eta import audit
from eta.chip.store import erase_chips
from eta.identity.store import erase_photos
from eta.models import (
    Application,
    ApplicationDraft,
    ApplicationEvent,
    Authorisation,
    CarrierQuery,
    Decision,
    InformationRequest,
    ReviewRequest,
    ScreeningHit,
    ScreeningRun,
)
from eta.models import ApplicationStatus as S
from eta.models.base import SessionLike
from eta.timeutil import utcnow

# The statuses in which an application has ended: nothing moves it any further, but a
# traveller's review request, which reopens a refusal (and clears its erase_after).
ENDED = frozenset({S.REFUSED, S.WITHDRAWN, S.REVOKED, S.EXPIRED})

DEFAULT_RETENTION_DAYS = 5 * 365
BATCH_SIZE = 500
# What an erased free-text column (hit explanations, officers' questions) says instead.
ERASED_TEXT = "[erased under the retention limit]"
# Keys of a screening hit's details that hold no personal data of the applicant: which list,
# entry key, rule and version, how strong. Anything else (the listed name as matched) goes.
HIT_DETAILS_KEPT = frozenset(
    {"source", "key", "rule", "version", "lost_stolen_id", "exact", "check", "field", "name_score"}
)

# Personal columns of an application, all set to NULL by the erasure.
PERSONAL_COLUMNS = (
    "given_names",
    "surname",
    "given_names_mrz",
    "surname_mrz",
    "latin_given_names",
    "latin_surname",
    "date_of_birth",
    "place_of_birth",
    "passport_number",
    "passport_number_normalised",
    "passport_mrz",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "address_city",
    "address_postcode",
    "occupation",
)

_APPLICATIONS: Table = Application.__table__  # type: ignore[assignment]
_HITS: Table = ScreeningHit.__table__  # type: ignore[assignment]


def retention_days() -> int:
    """ETA_RETENTION_DAYS of the running app (the default outside one)."""
    if has_app_context():
        return int(current_app.config.get("ETA_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))
    return DEFAULT_RETENTION_DAYS


def erase_after(end: dt.datetime) -> dt.datetime:
    """When the personal data of an application that ended at `end` is due for erasure."""
    return end + dt.timedelta(days=retention_days())


def _due(now: dt.datetime) -> ColumnElement[bool]:
    """Applications whose personal data is due for erasure at `now`.

    Only ended applications, whatever erase_after says, so a pending or valid one is never
    erased. Rows that ended before the lifecycle set erase_after (it is NULL) are due once
    their last status change is older than the retention.
    """
    cutoff = now - dt.timedelta(days=retention_days())
    return and_(
        Application.erased_at.is_(None),
        Application.status.in_([status.value for status in ENDED]),
        or_(
            Application.erase_after <= now,
            and_(Application.erase_after.is_(None), Application.status_changed_at <= cutoff),
        ),
    )


@dataclass(frozen=True)
class RetentionResult:
    """What a run erased (or, for a dry run, would erase)."""

    applications: int
    carrier_queries: int
    finished: bool = True  # False when the run stopped at its time limit with more due


def count_due(session: SessionLike, now: dt.datetime | None = None) -> RetentionResult:
    """How many applications and carrier query rows a run at `now` would erase (dry run)."""
    now = now or utcnow()
    applications = session.scalar(select(func.count()).select_from(Application).where(_due(now)))
    queries = session.scalar(
        select(func.count()).select_from(CarrierQuery).where(_old_queries(now))
    )
    return RetentionResult(int(applications or 0), int(queries or 0))


def _age(born: dt.date | None, on: dt.datetime) -> int | None:
    if born is None:
        return None
    day = on.date()
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def erase_batch(
    session: SessionLike,
    now: dt.datetime,
    *,
    batch_size: int = BATCH_SIZE,
    actor: str = "system",
) -> int:
    """Erase one batch of due applications in one transaction, committed; returns how many.

    The batch is locked (PostgreSQL: FOR UPDATE SKIP LOCKED, so two runs take different rows;
    SQLite: the database's write lock) and the UPDATE only touches rows not yet erased, so a
    concurrent or repeated run erases each row once and counts it once. A crash before the
    commit leaves the whole batch as it was: the next run takes it again.
    """
    candidates = select(
        Application.id, Application.answers, Application.date_of_birth, Application.created_at
    ).where(_due(now))
    if session.connection().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True, of=Application)
    rows = {
        row.id: row
        for row in session.execute(candidates.order_by(Application.id).limit(batch_size))
    }
    if not rows:
        session.rollback()
        return 0
    c = _APPLICATIONS.c
    erased: Sequence[int] = (
        session.execute(
            update(_APPLICATIONS)
            .where(c.id.in_(sorted(rows)), c.erased_at.is_(None))
            .values(
                {
                    **{name: None for name in PERSONAL_COLUMNS},
                    "erased_at": now,
                    # The ORM's optimistic lock: a case page open on this row cannot save over it.
                    "version": c.version + 1,
                }
            )
            .returning(c.id)
        )
        .scalars()
        .all()
    )
    if erased:
        session.execute(
            update(_APPLICATIONS)
            .where(c.id == bindparam("b_id"))
            .values(answers=bindparam("b_answers"), age_at_submission=bindparam("b_age")),
            [
                {
                    "b_id": row_id,
                    "b_answers": _kept_answers(rows[row_id].answers),
                    "b_age": _age(rows[row_id].date_of_birth, rows[row_id].created_at),
                }
                for row_id in erased
            ],
        )
        _erase_attached(session, list(erased))
        audit.record(
            session,
            "retention.erased",
            actor=actor,
            object_type="application",
            details={"count": len(erased)},
        )
    session.commit()
    return len(erased)


def _kept_answers(answers: dict[str, Any] | None) -> dict[str, Any]:
    """The yes/no answers without their free-text details (the rule engine's statistics)."""
    return {
        key: value
        for key, value in (answers or {}).items()
        if not key.endswith("_details") and isinstance(value, bool)
    }


def _erase_attached(session: SessionLike, ids: list[int]) -> None:
    """Erase what other tables hold about these applications (same transaction)."""
    session.execute(
        update(Authorisation)
        .where(Authorisation.application_id.in_(ids))
        .values(token=None, passport_number_normalised=None)
    )
    # A submitted journey's draft is a full copy of the form.
    session.execute(delete(ApplicationDraft).where(ApplicationDraft.application_id.in_(ids)))
    # The facial photo and its face template (biometric data: GDPR Art. 9) go whole.
    erase_photos(session, ids)
    # The chip's files hold the MRZ and the chip's facial image: they go whole too.
    erase_chips(session, ids)
    # Officers' notes, questions and the traveller's answers are free text about the person.
    session.execute(
        update(ApplicationEvent).where(ApplicationEvent.application_id.in_(ids)).values(note=None)
    )
    session.execute(update(Decision).where(Decision.application_id.in_(ids)).values(note=None))
    session.execute(
        update(InformationRequest)
        .where(InformationRequest.application_id.in_(ids))
        .values(questions=ERASED_TEXT, answer=None)
    )
    # A review request's grounds and statement are the traveller's own words about themselves.
    session.execute(
        update(ReviewRequest)
        .where(ReviewRequest.application_id.in_(ids))
        .values(grounds=ERASED_TEXT, statement=None)
    )
    hits = session.execute(
        select(ScreeningHit.id, ScreeningHit.details)
        .join(ScreeningRun, ScreeningRun.id == ScreeningHit.run_id)
        .where(ScreeningRun.application_id.in_(ids))
    ).all()
    if hits:
        session.execute(
            update(_HITS)
            .where(_HITS.c.id == bindparam("b_id"))
            .values(explanation=ERASED_TEXT, details=bindparam("b_details")),
            [
                {
                    "b_id": hit.id,
                    "b_details": {
                        key: value
                        for key, value in (hit.details or {}).items()
                        if key in HIT_DETAILS_KEPT
                    },
                }
                for hit in hits
            ],
        )


def _old_queries(now: dt.datetime) -> ColumnElement[bool]:
    return CarrierQuery.at <= now - dt.timedelta(days=retention_days())


def delete_old_carrier_queries(
    session: SessionLike, now: dt.datetime, *, batch_size: int = 5000, actor: str = "system"
) -> int:
    """Delete one batch of carrier query log rows older than the retention; returns how many.

    They hold only keyed hashes of passports, but a log of who was checked when is bounded too.
    """
    oldest = (
        select(CarrierQuery.id).where(_old_queries(now)).order_by(CarrierQuery.id).limit(batch_size)
    )
    ids = session.scalars(oldest).all()
    if not ids:
        session.rollback()
        return 0
    deleted = session.execute(delete(CarrierQuery).where(CarrierQuery.id.in_(ids)))
    count = int(deleted.rowcount or 0)  # type: ignore[attr-defined]
    audit.record(
        session,
        "retention.carrier_queries_deleted",
        actor=actor,
        object_type="carrier_query",
        details={"count": count},
    )
    session.commit()
    return count


def erase_due(
    session: SessionLike,
    *,
    now: dt.datetime | None = None,
    batch_size: int = BATCH_SIZE,
    time_limit: float | None = None,
    actor: str = "system",
) -> RetentionResult:
    """Erase everything due at `now`, batch after batch; returns the counts.

    With `time_limit` (seconds), no batch starts after it has passed (the job's timeout is
    finite; the next run goes on where this one stopped). A second run finds nothing to do.
    """
    now = now or utcnow()
    started = time.monotonic()

    def out_of_time() -> bool:
        return time_limit is not None and time.monotonic() - started > time_limit

    applications = 0
    while True:
        if out_of_time():
            return RetentionResult(applications, 0, finished=False)
        erased = erase_batch(session, now, batch_size=batch_size, actor=actor)
        applications += erased
        if erased == 0:
            break
    queries = 0
    while True:
        if out_of_time():
            return RetentionResult(applications, queries, finished=False)
        deleted = delete_old_carrier_queries(session, now, actor=actor)
        queries += deleted
        if deleted == 0:
            break
    return RetentionResult(applications, queries)
