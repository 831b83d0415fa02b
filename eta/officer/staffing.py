"""Officer hours needed for the forecast referrals, against the officers on the rota.

Totals only, never about a person: referral counts per day come in, weekly forecasts with
intervals and hours go out; officers are counted, not named.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from eta.models import Application, Officer, Role
from eta.models.base import SessionLike
from eta.officer import forecast as fc

# How far back the plan reads: half a year is enough for a weekly season and a trend.
HISTORY_DAYS = 26 * fc.WEEK
# Below eight weeks of history a weekly-seasonal model's backtest would have too few origins to
# say anything; the dashboard says so instead of showing numbers it cannot stand behind.
MIN_HISTORY_DAYS = 8 * fc.WEEK
GROUPINGS = ("nationality", "channel")


@dataclass(frozen=True)
class Week:
    """One forecast week: referrals (with interval) and the officer hours they need."""

    start: dt.date
    referrals: float
    lower: float
    upper: float
    hours_needed: float
    hours_needed_upper: float
    hours_available: float

    @property
    def gap(self) -> float:
        """Hours short (positive) or spare (negative) at the point forecast."""
        return self.hours_needed - self.hours_available


@dataclass(frozen=True)
class Staffing:
    """The rota plan for the next weeks, or why there is none (`weeks` empty)."""

    officers: int
    case_minutes: float
    hours_per_officer_per_day: float
    history_days: int
    weeks: list[Week]
    backtest: fc.Backtest | None
    level: float = 0.9


@dataclass(frozen=True)
class GroupForecast:
    """Forecast applications over the horizon for one nationality or channel."""

    group: str
    history_total: int
    total: float
    lower: float
    upper: float


def active_officers(session: SessionLike) -> int:
    """Active accounts with the officer role: the people who decide referred cases.

    Supervisors and admins are left out: their hours go to confirming refusals, rules and
    accounts, and counting them would promise capacity the queue does not get.
    """
    return int(
        session.scalar(
            select(func.count(Officer.id)).where(
                Officer.active.is_(True), Officer.role == Role.OFFICER.value
            )
        )
        or 0
    )


# Fitting is what the dashboard costs (about 1.7 s for the plan and ten groups). Each fit is
# kept for the series it was made from; the series end yesterday, so they change once a day (or
# when a late row lands): the key is the data itself, nothing to invalidate by hand.
@functools.lru_cache(maxsize=128)
def _summed_forecast(
    values: tuple[float, ...], periods: int, period: int, level: float
) -> fc.Forecast:
    return fc.summed_forecast(values, periods, period, level)


@functools.lru_cache(maxsize=16)
def _backtest(values: tuple[float, ...], origins: int, level: float) -> fc.Backtest:
    return fc.backtest(values, origins=origins, level=level)


def plan(
    referrals: Sequence[float],
    first_day: dt.date,
    *,
    officers: int,
    case_minutes: float,
    hours_per_officer_per_day: float,
    level: float = 0.9,
) -> Staffing:
    """The plan for the four weeks from `first_day`, after daily `referrals` up to the day
    before it. Leading days without any referral (before the service ran) are not history."""
    values = list(referrals)
    while values and values[0] == 0:
        values.pop(0)
    if len(values) < MIN_HISTORY_DAYS:
        return Staffing(
            officers, case_minutes, hours_per_officer_per_day, len(values), [], None, level
        )
    weekly = _summed_forecast(tuple(values), fc.HORIZON // fc.WEEK, fc.WEEK, level)
    available = officers * hours_per_officer_per_day * fc.WEEK
    weeks = [
        Week(
            start=first_day + dt.timedelta(days=fc.WEEK * n),
            referrals=mean,
            lower=low,
            upper=high,
            hours_needed=mean * case_minutes / 60,
            hours_needed_upper=high * case_minutes / 60,
            hours_available=available,
        )
        for n, (mean, low, high) in enumerate(
            zip(weekly.mean, weekly.lower, weekly.upper, strict=True)
        )
    ]
    # As many rolling origins a week apart as the history allows, up to eight.
    origins = min(8, (len(values) - fc.HORIZON - 3 * fc.WEEK) // fc.WEEK + 1)
    checked = _backtest(tuple(values), origins, level) if origins >= 1 else None
    return Staffing(
        officers, case_minutes, hours_per_officer_per_day, len(values), weeks, checked, level
    )


def group_volumes(
    session: SessionLike, start: dt.date, end: dt.date, by: str
) -> dict[str, list[int]]:
    """Applications submitted per day from `start` to `end` inclusive, one series per value
    of `by` ("nationality" or "channel")."""
    if by not in GROUPINGS:
        raise ValueError(f"cannot group volumes by {by!r}")
    column = getattr(Application, by)
    since = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    counts: dict[str, Counter[dt.date]] = defaultdict(Counter)
    # Only the group and the timestamp leave the database.
    for group, at in session.execute(
        select(column, Application.created_at).where(
            Application.created_at >= since, Application.created_at < until
        )
    ):
        counts[group][at.date()] += 1
    days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    return {group: [per_day[d] for d in days] for group, per_day in sorted(counts.items())}


def group_forecasts(
    series: dict[str, list[int]], *, limit: int = 10, level: float = 0.9
) -> list[GroupForecast]:
    """Four-week application forecasts for the `limit` busiest groups with enough history."""
    busiest = sorted(series.items(), key=lambda item: -sum(item[1]))[:limit]
    result = []
    for group, values in busiest:
        trimmed = list(values)
        while trimmed and trimmed[0] == 0:
            trimmed.pop(0)
        if len(trimmed) < MIN_HISTORY_DAYS:
            continue
        total = _summed_forecast(tuple(trimmed), 1, fc.HORIZON, level)
        result.append(
            GroupForecast(group, sum(values), total.mean[0], total.lower[0], total.upper[0])
        )
    return result


def referral_history(session: SessionLike, today: dt.date) -> list[int]:
    """Referrals per day over the last HISTORY_DAYS days before `today` (today is not over)."""
    _submitted, referred = fc.daily_volumes(
        session, today - dt.timedelta(days=HISTORY_DAYS), today - dt.timedelta(days=1)
    )
    return referred
