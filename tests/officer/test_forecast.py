"""The volume forecast: a rolling backtest on a synthetic weekly-seasonal series."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from eta.officer import forecast
from tests.factories import submitted_application


def _weekly_series(days: int, seed: int = 7) -> list[float]:
    rng = np.random.default_rng(seed)
    weekday = np.array([120, 135, 130, 128, 140, 70, 55], dtype=float)
    trend = np.linspace(0, 20, days)
    noise = rng.normal(0, 8, days)
    return (weekday[np.arange(days) % 7] + trend + noise).tolist()


def test_the_backtest_beats_the_seasonal_naive_with_intervals_near_nominal() -> None:
    result = forecast.backtest(_weekly_series(210), horizon=28, origins=6, level=0.9)

    assert result.origins == 6
    assert result.mase < 1
    assert 0.8 <= result.coverage <= 0.98


def test_a_forecast_without_a_weekly_pattern_is_refused() -> None:
    with pytest.raises(ValueError):
        forecast.forecast([1.0] * 10)


def test_daily_volumes_count_todays_applications(session: Any) -> None:
    for n in range(3):
        submitted_application(
            session, passport_number=f"V{n:07d}", passport_number_normalised=f"V{n:07d}"
        )
    today = dt.datetime.now(dt.UTC).date()
    submitted, referred = forecast.daily_volumes(session, today - dt.timedelta(days=2), today)
    assert submitted == [0, 0, 3]
    assert referred == [0, 0, 0]
