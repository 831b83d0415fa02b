"""The one lock-out of staff sign-in (officers and carrier check-in staff), and its even timing.

An account locks after a run of wrong passwords (or, for officers, wrong codes), for longer after
each further failure. What a sign-in form answers must not tell an attacker whether an email
address has an account, so :func:`check_sign_in` does exactly one argon2 verification whatever
the case (unknown address, inactive or locked account, wrong or right password) and the forms
give the same message for every refusal at the password step.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import update

from eta.accounts.passwords import check_password, hash_password
from eta.models import CarrierUser, Officer
from eta.models.base import SessionLike

Account = Officer | CarrierUser


class Outcome(StrEnum):
    """What a password check found; only ACCEPTED lets the sign-in go on."""

    ACCEPTED = "accepted"
    WRONG = "wrong"  # a real, active account and a wrong password (counted)
    LOCKED = "locked"  # the account is locked: refused whatever the password
    UNKNOWN = "unknown"  # no such account, or one that is deactivated


@dataclass(frozen=True)
class Policy:
    """How many failures in a row lock an account, and for how long."""

    failures: int
    first_lock: dt.timedelta
    max_lock: dt.timedelta

    def lock_for(self, failures: int) -> dt.timedelta | None:
        """How long `failures` failures in a row lock the account for (None: not yet)."""
        beyond = failures - self.failures
        if beyond < 0:
            return None
        # Doubling, capped; the exponent is capped too so a long run cannot overflow.
        return min(self.first_lock * 2 ** min(beyond, 32), self.max_lock)


def policy(config: Mapping[str, Any], realm: str) -> Policy:
    """The lock-out policy of `realm` ("OFFICER" or "CARRIER") from ETA_<realm>_LOCKOUT_*."""
    return Policy(
        failures=int(config[f"ETA_{realm}_LOCKOUT_FAILURES"]),
        first_lock=dt.timedelta(seconds=int(config[f"ETA_{realm}_LOCKOUT_FIRST_SECONDS"])),
        max_lock=dt.timedelta(seconds=int(config[f"ETA_{realm}_LOCKOUT_MAX_SECONDS"])),
    )


@functools.cache
def _dummy_hash() -> str:
    """A hash no password matches, made once, so an unknown address costs one verification."""
    return hash_password("not-a-real-password-only-for-even-timing")


def is_locked(account: Account, now: dt.datetime) -> bool:
    """True while `account` is locked."""
    return account.locked_until is not None and account.locked_until > now


def check_sign_in(
    session: SessionLike,
    account: Account | None,
    password: str,
    rules: Policy,
    *,
    now: dt.datetime,
) -> Outcome:
    """Check `password` for `account` (None: no account has the address typed).

    Exactly one argon2 verification runs in every case, so the time taken says nothing. A
    wrong password for an active account is counted (:func:`record_failure`, flushed, not
    committed: the caller commits with its audit record). A locked account is refused even
    with the right password, and its failures are not counted further while locked.
    """
    if account is None or not account.active:
        check_password(_dummy_hash(), password)
        return Outcome.UNKNOWN
    if is_locked(account, now):
        check_password(account.password_hash, password)  # the same work; the answer is unused
        return Outcome.LOCKED
    if check_password(account.password_hash, password):
        return Outcome.ACCEPTED
    record_failure(session, account, rules, now=now)
    return Outcome.WRONG


def record_failure(
    session: SessionLike, account: Account, rules: Policy, *, now: dt.datetime
) -> bool:
    """Count one failure for `account`; lock it once the policy says so. True if now locked.

    The count is one conditional UPDATE (failed_sign_ins + 1, returned by the database), so
    concurrent wrong guesses are all counted: read-then-write would lose some of them.
    """
    model = type(account)
    failures = session.execute(
        update(model)
        .where(model.id == account.id)
        .values(failed_sign_ins=model.failed_sign_ins + 1)
        .returning(model.failed_sign_ins)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    lock = rules.lock_for(failures)
    locked_until = now + lock if lock is not None else account.locked_until
    if lock is not None:
        session.execute(
            update(model)
            .where(model.id == account.id)
            .values(locked_until=locked_until)
            .execution_options(synchronize_session=False)
        )
    # Keep the loaded object in step with the row, for the caller's audit record and page.
    session.expire(account, ["failed_sign_ins", "locked_until"])
    return lock is not None


def clear_failures(account: Account) -> None:
    """A successful sign-in: the run of failures ends and any lock with it."""
    account.failed_sign_ins = 0
    account.locked_until = None
