"""The one lock-out of staff sign-in: how long a run of failures locks an account."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from config import load_settings
from eta.accounts import lockout


def test_officers_lock_for_a_minute_doubling_to_an_hour(tmp_path: Path) -> None:
    rules = lockout.policy(load_settings(tmp_path, {}), "OFFICER")
    minutes = [rules.lock_for(failures) for failures in (1, 4, 5, 6, 7, 11, 12, 1000)]
    assert minutes == [None, None] + [dt.timedelta(minutes=m) for m in (1, 2, 4, 60, 60, 60)]


def test_carrier_staff_lock_for_fifteen_minutes(tmp_path: Path) -> None:
    rules = lockout.policy(load_settings(tmp_path, {}), "CARRIER")
    assert rules.lock_for(4) is None
    assert rules.lock_for(5) == rules.lock_for(50) == dt.timedelta(minutes=15)


def test_the_policy_comes_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path,
        {
            "ETA_CARRIER_LOCKOUT_FAILURES": "3",
            "ETA_CARRIER_LOCKOUT_FIRST_SECONDS": "30",
            "ETA_CARRIER_LOCKOUT_MAX_SECONDS": "100",
        },
    )
    rules = lockout.policy(settings, "CARRIER")
    assert [rules.lock_for(n) for n in (2, 3, 4, 5)] == [
        None,
        dt.timedelta(seconds=30),
        dt.timedelta(seconds=60),
        dt.timedelta(seconds=100),
    ]
