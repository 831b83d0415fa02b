"""The dashboard's figures (throughput, decision times, fairness) and its SVG charts."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from eta import applications
from eta.extensions import db
from eta.models import Application, ApplicationEvent
from eta.officer.dashboard import bar_chart, compute, percentile
from eta.timeutil import utcnow
from tests.factories import submitted_application
from tests.officer.conftest import Staff, referred_case

SignedIn = Callable[..., tuple[FlaskClient, Staff]]


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5) == 5
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9


def test_chart_labels_are_escaped() -> None:
    svg = str(bar_chart([("<script>", 1.0)], title="t & u"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "t &amp; u" in svg


def test_dashboard_figures(app: Flask, signed_in: SignedIn) -> None:
    with app.app_context():
        session: Any = db.session
        for number in range(3):  # three clear applications, approved automatically
            application = submitted_application(
                session,
                passport_number=f"A{number}",
                passport_number_normalised=f"A{number}",
                nationality="FRA",
                sex="M",
            )
            applications.start_screening(session, application)
            applications.approve(session, application)
        decided = [
            referred_case(session, passport_number=f"D{n}", passport_number_normalised=f"D{n}")
            for n in range(2)
        ]
        for hours, application in zip((2, 10), decided, strict=True):
            applications.approve(session, application, officer_id=None)
            event = session.scalars(
                select(ApplicationEvent)
                .where(ApplicationEvent.application_id == application.id)
                .order_by(ApplicationEvent.id.desc())
            ).first()
            assert event is not None
            event.actor = "officer"
            event.at = event.at + dt.timedelta(hours=hours)
        session.commit()
        referred_case(session, deadline_hours=-1)  # waiting, past its deadline
        board = compute(session, utcnow() + dt.timedelta(hours=11), 30)
        assert board.submitted == 6
        assert board.auto_approved == 3 and board.referred == 3
        assert board.auto_approval_rate == 0.5
        assert board.referrals_by_check == [("answers", 3)]
        assert board.officer_decisions == 2
        assert board.decision_hours_median is not None and 1.9 < board.decision_hours_median < 2.1
        assert board.decision_hours_p90 is not None and 9.9 < board.decision_hours_p90 < 10.1
        assert board.past_deadline == 1
        by_nationality = {
            rate.value: (rate.part, rate.whole) for rate in board.fairness["nationality"]
        }
        assert by_nationality == {"FRA": (0, 3), "SWE": (3, 3)}
        by_sex = {rate.value: (rate.part, rate.whole) for rate in board.fairness["sex"]}
        assert by_sex == {"M": (0, 3), "F": (3, 3)}
        assert sum(rate.whole for rate in board.fairness["age_band"]) == 6
        assert session.scalar(select(Application.id).limit(1)) is not None

    client, _staff = signed_in("supervisor")
    page = client.get("/officer/dashboard").get_data(as_text=True)
    assert page.count("<svg") == 5
    assert re.search(r'id="past-deadline">1<', page)
    assert "style=" not in page  # the CSP forbids inline styles
