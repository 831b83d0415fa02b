"""Officers' one-time codes (TOTP, RFC 6238): which time step a code is, and using it once.

A code is good once (ASVS V6.5.1), even when several browsers that passed the password step
post it at the same moment: :func:`claim_step` records the step with one conditional UPDATE, so
the database lets exactly one of them through.
"""

from __future__ import annotations

import hmac

import pyotp
from sqlalchemy import or_, update

from eta.models import Officer
from eta.models.base import SessionLike

STEP_SECONDS = 30


def accepted_step(secret: str, code: str, last_step: int | None, now: float) -> int | None:
    """The TOTP time step `code` belongs to (one step of clock drift allowed), if not yet used."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // STEP_SECONDS)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            if last_step is not None and step <= last_step:
                return None  # a code is good once
            return step
    return None


def claim_step(session: SessionLike, officer: Officer, step: int) -> bool:
    """Record `step` as `officer`'s last used code; False when it (or a later one) already was.

    One UPDATE whose WHERE re-checks the last step: concurrent claims of the same step queue on
    the row's lock (PostgreSQL re-evaluates the condition once the first commits; SQLite has
    one writer at a time), so exactly one claim changes the row. Nothing is committed here.
    """
    claimed = session.execute(
        update(Officer)
        .where(
            Officer.id == officer.id,
            or_(Officer.last_totp_step.is_(None), Officer.last_totp_step < step),
        )
        .values(last_totp_step=step)
        .execution_options(synchronize_session=False)
    )
    session.expire(officer, ["last_totp_step"])
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]
