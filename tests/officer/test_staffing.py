"""The staffing plan: forecast referrals turned into officer hours, against the rota."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from eta.extensions import db
from eta.models import Application, ApplicationEvent, Officer
from eta.officer import staffing
from tests.factories import submitted_application
from tests.officer.conftest import Staff, referred_case

SignedIn = Callable[..., tuple[FlaskClient, Staff]]


def _referrals(days: int, seed: int = 3) -> list[float]:
    """About 20 referrals a day, fewer at weekends, with noise."""
    rng = np.random.default_rng(seed)
    weekday = np.array([22, 24, 23, 22, 25, 12, 10], dtype=float)
    return np.round(weekday[np.arange(days) % 7] + rng.normal(0, 2, days)).tolist()


def test_the_plan_turns_forecast_referrals_into_hours_against_the_rota() -> None:
    history = [0.0] * 30 + _referrals(140)  # the service started 30 days into the window
    first = dt.date(2026, 6, 1)

    plan = staffing.plan(history, first, officers=2, case_minutes=30, hours_per_officer_per_day=7.5)

    assert plan.history_days == 140  # the days before the first referral are not history
    assert [week.start for week in plan.weeks] == [
        first + dt.timedelta(days=7 * n) for n in range(4)
    ]
    expected_week = sum([22, 24, 23, 22, 25, 12, 10])  # 138
    for week in plan.weeks:
        assert week.lower <= week.referrals <= week.upper
        assert abs(week.referrals - expected_week) < 0.15 * expected_week
        assert week.hours_needed == pytest.approx(week.referrals * 30 / 60)
        assert week.hours_needed_upper == pytest.approx(week.upper * 30 / 60)
        assert week.hours_available == pytest.approx(2 * 7.5 * 7)
        assert week.gap == pytest.approx(week.hours_needed - 105)
    assert plan.backtest is not None
    assert plan.backtest.origins == 8
    assert plan.backtest.mase < 1
    assert 0.7 <= plan.backtest.coverage <= 1


def test_too_short_a_history_gives_no_numbers() -> None:
    plan = staffing.plan(
        [0.0] * 100 + _referrals(55),
        dt.date(2026, 6, 1),
        officers=3,
        case_minutes=20,
        hours_per_officer_per_day=7.5,
    )
    assert plan.weeks == []
    assert plan.backtest is None
    assert plan.history_days == 55


def test_two_nationalities_get_separate_series(session: Any) -> None:
    today = dt.datetime.now(dt.UTC).date()
    for n, (nationality, days_ago) in enumerate(
        [("FRA", 0), ("FRA", 0), ("FRA", 2), ("JPN", 1), ("JPN", 1)]
    ):
        application = submitted_application(
            session,
            nationality=nationality,
            passport_number=f"N{n:07d}",
            passport_number_normalised=f"N{n:07d}",
        )
        application.created_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    session.commit()

    start = today - dt.timedelta(days=2)
    by_nationality = staffing.group_volumes(session, start, today, "nationality")
    assert by_nationality == {"FRA": [1, 0, 2], "JPN": [0, 2, 0]}
    assert staffing.group_volumes(session, start, today, "channel") == {"web": [1, 2, 2]}
    with pytest.raises(ValueError):
        staffing.group_volumes(session, start, today, "surname")


def test_group_forecasts_keep_groups_apart_and_skip_short_ones() -> None:
    series = {
        "FRA": [int(v) for v in _referrals(84, seed=1)],
        "JPN": [int(v) // 4 for v in _referrals(84, seed=2)],
        "NZL": [0] * 70 + [3] * 14,  # two weeks only: no forecast
    }
    rows = staffing.group_forecasts(series)
    assert [row.group for row in rows] == ["FRA", "JPN"]
    fra, jpn = rows
    assert fra.history_total == sum(series["FRA"])
    assert fra.lower <= fra.total <= fra.upper
    assert jpn.lower <= jpn.total <= jpn.upper
    # Four weeks of each group's own level: France's is about four times Japan's.
    assert 3 < fra.total / jpn.total < 5.5


def test_active_officers_counts_only_active_officer_role(session: Any) -> None:
    for n, (role, active) in enumerate(
        [("officer", True), ("officer", True), ("officer", False), ("supervisor", True)]
    ):
        session.add(
            Officer(
                email=f"rota-{n}@border.test",
                password_hash="x",
                totp_secret="x",
                role=role,
                active=active,
            )
        )
    session.commit()
    assert staffing.active_officers(session) == 2


def test_the_dashboard_shows_the_staffing_section(app: Flask, signed_in: SignedIn) -> None:
    client, _supervisor = signed_in("supervisor")
    signed_in("officer")
    with app.app_context():
        submitted_application(db.session)
        assert db.session.query(Application).count() == 1

    page = client.get("/officer/dashboard").get_data(as_text=True)

    assert 'id="staffing"' in page
    assert "against the rota (active officers: 1, at 7.5 hours a day each)" in page
    assert "20 minutes a case" in page
    assert "Not enough history to forecast: 0 days of referrals, at least 56 needed." in page
    assert "No group has enough history to forecast yet." in page


def test_the_dashboard_shows_the_plan_once_there_is_history(
    app: Flask, signed_in: SignedIn
) -> None:
    """Nine weeks of real referrals (back-dated): the table, the backtest and both groupings."""
    client, _supervisor = signed_in("supervisor")
    signed_in("officer")
    signed_in("officer")
    now = dt.datetime.now(dt.UTC)
    rng = np.random.default_rng(5)
    with app.app_context():
        n = 0
        for days_ago in range(1, 64):
            # One to three referrals a weekday, one or two at weekends: a weekly pattern with
            # noise (a noiseless series would give zero-width intervals and no MASE scale).
            weekend = (now - dt.timedelta(days=days_ago)).weekday() >= 5
            for _ in range(int(rng.integers(1, 3 if weekend else 4))):
                n += 1
                case = referred_case(
                    db.session,
                    nationality="FRA" if n % 3 else "JPN",
                    passport_number=f"H{n:07d}",
                    passport_number_normalised=f"H{n:07d}",
                )
                moment = now - dt.timedelta(days=days_ago)
                case.created_at = moment
                for event in db.session.scalars(
                    select(ApplicationEvent).where(ApplicationEvent.application_id == case.id)
                ):
                    event.at = moment
        db.session.commit()

    page = client.get("/officer/dashboard").get_data(as_text=True)

    assert 'id="staffing-weeks"' in page
    assert "against the rota (active officers: 2, at 7.5 hours a day each)" in page
    # Two officers at 7.5 hours for seven days, in every week's row.
    assert page.count('<td class="eta-table--numeric">105.0</td>') == 4
    assert 'id="staffing-backtest"' in page and "rolling backtests" in page
    assert 'id="forecast-nationality"' in page
    assert '<th scope="row">FRA</th>' in page and '<th scope="row">JPN</th>' in page
    assert 'id="forecast-channel"' in page and '<th scope="row">web</th>' in page
    assert "Not enough history" not in page
