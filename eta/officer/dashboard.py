"""The supervisors' dashboard: throughput, timeliness and fairness, as SVG charts and tables."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, render_template
from markupsafe import Markup, escape
from sqlalchemy import select

from eta.extensions import db
from eta.models import (
    Actor,
    Application,
    ApplicationEvent,
    ApplicationStatus,
    Role,
    ScreeningHit,
    ScreeningRun,
)
from eta.models.base import SessionLike
from eta.officer import staffing
from eta.officer.blueprint import blueprint, role_required
from eta.screening.rules import AGE_BANDS, age_band
from eta.timeutil import utcnow

S = ApplicationStatus


@dataclass
class Rate:
    """A share of a group: how many of how many."""

    value: str
    part: int
    whole: int

    @property
    def rate(self) -> float:
        """The share in [0, 1] (0 for an empty group)."""
        return self.part / self.whole if self.whole else 0.0


@dataclass
class Dashboard:
    """Every figure the dashboard shows, for one window of days."""

    days: int
    since: dt.datetime
    per_day: list[tuple[str, int]] = field(default_factory=list)
    submitted: int = 0
    auto_approved: int = 0
    referred: int = 0
    referrals_by_check: list[tuple[str, int]] = field(default_factory=list)
    decision_hours_median: float | None = None
    decision_hours_p90: float | None = None
    officer_decisions: int = 0
    past_deadline: int = 0
    fairness: dict[str, list[Rate]] = field(default_factory=dict)

    @property
    def auto_approval_rate(self) -> float:
        """Automatic approvals among applications that finished screening."""
        screened = self.auto_approved + self.referred
        return self.auto_approved / screened if screened else 0.0


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (share in (0, 1]) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def compute(session: SessionLike, now: dt.datetime, days: int) -> Dashboard:
    """Work out the dashboard's figures for applications submitted in the last `days` days."""
    since = now - dt.timedelta(days=days)
    board = Dashboard(days=days, since=since)
    rows = session.execute(
        select(
            Application.id,
            Application.created_at,
            Application.nationality,
            Application.sex,
            Application.date_of_birth,
            Application.age_at_submission,
        ).where(Application.created_at >= since)
    ).all()
    applicants = {row.id: row for row in rows}
    board.submitted = len(rows)
    per_day = Counter(row.created_at.date().isoformat() for row in rows)
    first = since.date()
    board.per_day = [
        (
            (first + dt.timedelta(days=n)).isoformat(),
            per_day.get((first + dt.timedelta(days=n)).isoformat(), 0),
        )
        for n in range(days + 1)
    ]

    events = session.execute(
        select(
            ApplicationEvent.application_id,
            ApplicationEvent.to_status,
            ApplicationEvent.actor,
            ApplicationEvent.at,
        )
        .join(Application, Application.id == ApplicationEvent.application_id)
        .where(Application.created_at >= since)
        .order_by(ApplicationEvent.id)
    ).all()
    referred_at: dict[int, dt.datetime] = {}
    auto: set[int] = set()
    waits: list[float] = []
    for event in events:
        if event.to_status == S.REFERRED:
            referred_at.setdefault(event.application_id, event.at)
        elif event.to_status == S.APPROVED and event.actor == Actor.SYSTEM:
            auto.add(event.application_id)
        elif event.to_status in (S.APPROVED, S.REFUSED) and event.application_id in referred_at:
            waits.append((event.at - referred_at[event.application_id]).total_seconds() / 3600)
    board.auto_approved = len(auto)
    board.referred = len(referred_at)
    board.officer_decisions = len(waits)
    board.decision_hours_median = percentile(waits, 0.5)
    board.decision_hours_p90 = percentile(waits, 0.9)

    checks: dict[str, set[int]] = defaultdict(set)
    for application_id, check in session.execute(
        select(ScreeningRun.application_id, ScreeningHit.check_name)
        .join(ScreeningHit, ScreeningHit.run_id == ScreeningRun.id)
        .join(Application, Application.id == ScreeningRun.application_id)
        .where(Application.created_at >= since)
    ):
        checks[check].add(application_id)
    board.referrals_by_check = sorted(
        ((check, len(ids)) for check, ids in checks.items()), key=lambda item: -item[1]
    )
    board.past_deadline = len(
        session.scalars(
            select(Application.id).where(
                Application.status == S.REFERRED, Application.decision_deadline < now
            )
        ).all()
    )

    # Fairness: of the applications that finished screening, the share referred, per group.
    screened = auto | set(referred_at)
    groups: dict[str, dict[str, list[int]]] = {
        "nationality": defaultdict(lambda: [0, 0]),
        "sex": defaultdict(lambda: [0, 0]),
        "age_band": defaultdict(lambda: [0, 0]),
    }
    for application_id in screened:
        row = applicants[application_id]
        on = row.created_at.date()
        if row.date_of_birth is None:
            # Erased under the retention limit: the age at submission was kept in its place.
            age = row.age_at_submission
        else:
            age = (
                on.year
                - row.date_of_birth.year
                - ((on.month, on.day) < (row.date_of_birth.month, row.date_of_birth.day))
            )
        for name, value in (
            ("nationality", row.nationality),
            ("sex", row.sex),
            ("age_band", None if age is None else age_band(age)),
        ):
            if value is None:
                continue  # no age known (never so for a row erased by eta.applications.retention)
            groups[name][value][1] += 1
            groups[name][value][0] += application_id in referred_at
    band_order = [label for _low, _high, label in AGE_BANDS]
    for name, counts in groups.items():
        keys = band_order if name == "age_band" else sorted(counts)
        board.fairness[name] = [
            Rate(key, counts[key][0], counts[key][1]) for key in keys if key in counts
        ]
    return board


# ---- server-rendered SVG charts ----------------------------------------------------------------

BAR_HEIGHT = 22
LABEL_WIDTH = 120
CHART_WIDTH = 560


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, percent: bool = False) -> Markup:
    """A horizontal bar chart as accessible inline SVG (title, and a table beside it)."""
    top = max((value for _label, value in items), default=0) or 1
    span = CHART_WIDTH - LABEL_WIDTH - 70
    height = BAR_HEIGHT * max(len(items), 1) + 10
    parts = [
        f'<svg class="eta-chart" role="img" viewBox="0 0 {CHART_WIDTH} {height}" '
        f'width="{CHART_WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (label, value) in enumerate(items):
        y = 5 + index * BAR_HEIGHT
        width = 0 if value <= 0 else max(1.0, span * value / top)
        shown = f"{value * 100:.1f}%" if percent else f"{value:g}"
        parts.append(
            f'<text class="eta-chart__label" x="{LABEL_WIDTH - 6}" y="{y + 15}" '
            f'text-anchor="end">{escape(label)}</text>'
            f'<rect class="eta-chart__bar" x="{LABEL_WIDTH}" y="{y + 2}" '
            f'width="{width:.1f}" height="{BAR_HEIGHT - 6}"></rect>'
            f'<text class="eta-chart__value" x="{LABEL_WIDTH + width + 6:.1f}" '
            f'y="{y + 15}">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every label and value is escaped above)


def column_chart(items: Sequence[tuple[str, int]], *, title: str) -> Markup:
    """A column chart of counts per day as inline SVG, first and last dates labelled."""
    top = max((value for _label, value in items), default=0) or 1
    height = 160
    step = (CHART_WIDTH - 40) / max(len(items), 1)
    parts = [
        f'<svg class="eta-chart" role="img" viewBox="0 0 {CHART_WIDTH} {height + 30}" '
        f'width="{CHART_WIDTH}" height="{height + 30}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text class="eta-chart__value" x="0" y="12">{top}</text>',
    ]
    for index, (label, value) in enumerate(items):
        bar = height * value / top
        parts.append(
            f'<rect class="eta-chart__bar" x="{30 + index * step:.1f}" y="{height - bar:.1f}" '
            f'width="{max(step - 2, 1):.1f}" height="{bar:.1f}"><title>{escape(label)}: {value}'
            "</title></rect>"
        )
    if items:
        parts.append(
            f'<text class="eta-chart__label" x="30" y="{height + 20}">{escape(items[0][0])}</text>'
            f'<text class="eta-chart__label" x="{CHART_WIDTH - 10}" y="{height + 20}" '
            f'text-anchor="end">{escape(items[-1][0])}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every label and value is escaped above)


@blueprint.get("/dashboard")
@role_required(Role.SUPERVISOR)
def dashboard() -> str:
    """Applications per day, approval rate, referrals, decision times, fairness."""
    days = int(current_app.config["ETA_DASHBOARD_DAYS"])
    board = compute(db.session, utcnow(), days)
    charts: dict[str, Any] = {
        "per_day": column_chart(board.per_day, title="Applications per day"),
        "checks": bar_chart(
            [(check, float(count)) for check, count in board.referrals_by_check],
            title="Referred applications by check",
        ),
    }
    for name, rates in board.fairness.items():
        charts[name] = bar_chart(
            [(rate.value, rate.rate) for rate in rates],
            title=f"Referral rate by {name.replace('_', ' ')}",
            percent=True,
        )
    today = utcnow().date()
    plan = staffing.plan(
        staffing.referral_history(db.session, today),
        today,
        officers=staffing.active_officers(db.session),
        case_minutes=float(current_app.config["ETA_CASE_MINUTES"]),
        hours_per_officer_per_day=float(current_app.config["ETA_ROTA_HOURS_PER_OFFICER_PER_DAY"]),
    )
    start = today - dt.timedelta(days=staffing.HISTORY_DAYS)
    yesterday = today - dt.timedelta(days=1)
    groups = {
        by: staffing.group_forecasts(staffing.group_volumes(db.session, start, yesterday, by))
        for by in staffing.GROUPINGS
    }
    return render_template(
        "officer/dashboard.html",
        board=board,
        charts=charts,
        plan=plan,
        groups=groups,
        min_history_days=staffing.MIN_HISTORY_DAYS,
    )
