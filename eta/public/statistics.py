"""Public statistics: applications and decisions per month and nationality, totals only.

Every figure is an aggregate over many applications; a cell below the configured minimum is
suppressed (shown as "fewer than N"), and so is a median over fewer decided cases, because a
small count beside a nationality and a month could point at a person.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

from sqlalchemy import func, select

from eta.models import Application, ApplicationEvent, ApplicationStatus
from eta.models.base import SessionLike

_DECIDED = (ApplicationStatus.APPROVED.value, ApplicationStatus.REFUSED.value)


@dataclass(frozen=True)
class Cell:
    """One published figure: its value, or None when suppressed as too small."""

    value: float | None

    @property
    def suppressed(self) -> bool:
        """Whether the figure is hidden as below the minimum count."""
        return self.value is None


@dataclass(frozen=True)
class Row:
    """The figures for one month and one nationality."""

    month: dt.date
    nationality: str
    applications: Cell
    approvals: Cell
    refusals: Cell
    median_decision_days: Cell


@dataclass
class _Tally:
    applications: int = 0
    approved: int = 0
    refused: int = 0
    days: list[float] = field(default_factory=list)


def _count(n: int, minimum: int) -> Cell:
    return Cell(float(n) if n >= minimum else None)


def monthly_by_nationality(session: SessionLike, minimum: int) -> list[Row]:
    """Applications, approvals, refusals and median days to decision, per submission month and
    nationality, newest month first; counts below `minimum` and medians over fewer than
    `minimum` decisions are suppressed."""
    # The first decision of each application (a later revocation does not move it).
    first_decision = (
        select(
            ApplicationEvent.application_id.label("application_id"),
            func.min(ApplicationEvent.at).label("decided_at"),
        )
        .where(ApplicationEvent.to_status.in_(_DECIDED))
        .group_by(ApplicationEvent.application_id)
        .subquery()
    )
    outcome = (
        select(ApplicationEvent.application_id, ApplicationEvent.to_status, ApplicationEvent.at)
        .where(ApplicationEvent.to_status.in_(_DECIDED))
        .subquery()
    )
    # Only the three non-personal columns leave the database; grouping by month is done here
    # because SQLite and PostgreSQL truncate dates differently.
    statement = (
        select(
            Application.created_at,
            Application.nationality,
            first_decision.c.decided_at,
            outcome.c.to_status,
        )
        .outerjoin(first_decision, first_decision.c.application_id == Application.id)
        .outerjoin(
            outcome,
            (outcome.c.application_id == Application.id)
            & (outcome.c.at == first_decision.c.decided_at),
        )
    )
    tallies: dict[tuple[dt.date, str], _Tally] = {}
    for created_at, nationality, decided_at, to_status in session.execute(statement):
        month = dt.date(created_at.year, created_at.month, 1)
        tally = tallies.setdefault((month, nationality), _Tally())
        tally.applications += 1
        if decided_at is None:
            continue
        if to_status == ApplicationStatus.APPROVED:
            tally.approved += 1
        else:
            tally.refused += 1
        tally.days.append((decided_at - created_at).total_seconds() / 86400)
    ordered = sorted(tallies.items(), key=lambda item: (-item[0][0].toordinal(), item[0][1]))
    return [
        Row(
            month=month,
            nationality=nationality,
            applications=_count(tally.applications, minimum),
            approvals=_count(tally.approved, minimum),
            refusals=_count(tally.refused, minimum),
            median_decision_days=Cell(
                round(statistics.median(tally.days), 1) if len(tally.days) >= minimum else None
            ),
        )
        for (month, nationality), tally in ordered
    ]
