"""Forecasts of daily volumes (applications, referrals): totals only, never about a person.

Holt-Winters exponential smoothing with a weekly season (statsmodels), prediction intervals
by simulating the fitted model's future paths, and a rolling-origin backtest that reports
MASE (against the seasonal naive forecast) and interval coverage, so the dashboard can say how
far to trust the figures.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from eta.models import Application, ApplicationEvent, ApplicationStatus
from eta.models.base import SessionLike

WEEK = 7
HORIZON = 28


@dataclass(frozen=True)
class Forecast:
    """Point forecasts and a prediction interval for each of the next `len(mean)` days."""

    mean: list[float]
    lower: list[float]
    upper: list[float]
    level: float


@dataclass(frozen=True)
class Backtest:
    """How a forecaster did on held-out data: MASE (<1 beats the seasonal naive) and the share
    of actual values inside the prediction intervals (compare with `level`)."""

    mase: float
    coverage: float
    level: float
    origins: int


def daily_volumes(
    session: SessionLike, start: dt.date, end: dt.date
) -> tuple[list[int], list[int]]:
    """Applications submitted and referrals made on each day from `start` to `end` inclusive."""
    since = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    # Only timestamps leave the database: the forecast needs totals, nothing about anyone.
    submitted = session.scalars(
        select(Application.created_at).where(
            Application.created_at >= since, Application.created_at < until
        )
    )
    referred = session.scalars(
        select(ApplicationEvent.at).where(
            ApplicationEvent.to_status == ApplicationStatus.REFERRED,
            ApplicationEvent.at >= since,
            ApplicationEvent.at < until,
        )
    )
    days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    per_day_submitted = Counter(moment.date() for moment in submitted)
    per_day_referred = Counter(moment.date() for moment in referred)
    return [per_day_submitted[d] for d in days], [per_day_referred[d] for d in days]


def _simulate(
    history: Sequence[float], horizon: int, repetitions: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fit the weekly-seasonal model to `history`; its point forecast and simulated futures
    (one row per day, one column per path)."""
    if len(history) < 2 * WEEK:
        raise ValueError("a forecast needs at least two weeks of history")
    model = ExponentialSmoothing(
        np.asarray(history, dtype=float),
        trend="add",
        damped_trend=True,
        seasonal="add",
        seasonal_periods=WEEK,
        initialization_method="estimated",
    )
    fitted = model.fit()
    mean = np.asarray(fitted.forecast(horizon), dtype=float)
    paths = np.asarray(
        fitted.simulate(
            horizon,
            repetitions=repetitions,
            error="add",
            anchor="end",
            rng=np.random.default_rng(seed),
        ),
        dtype=float,
    ).reshape(horizon, repetitions)
    return mean, paths


def forecast(
    history: Sequence[float],
    horizon: int = HORIZON,
    level: float = 0.9,
    *,
    repetitions: int = 500,
    seed: int = 0,
) -> Forecast:
    """Forecast `horizon` days after `history` (at least two weeks of daily totals) with a
    weekly-seasonal Holt-Winters model; the interval holds `level` of simulated futures."""
    mean, paths = _simulate(history, horizon, repetitions, seed)
    tail = (1 - level) / 2
    # Volumes are counts: neither the forecast nor its interval goes below zero.
    return Forecast(
        mean=np.clip(mean, 0, None).tolist(),
        lower=np.clip(np.quantile(paths, tail, axis=1), 0, None).tolist(),
        upper=np.clip(np.quantile(paths, 1 - tail, axis=1), 0, None).tolist(),
        level=level,
    )


def backtest(
    series: Sequence[float],
    *,
    horizon: int = HORIZON,
    origins: int = 8,
    step: int = WEEK,
    level: float = 0.9,
) -> Backtest:
    """Rolling-origin backtest: forecast from `origins` cut-offs `step` days apart (the last
    leaving `horizon` days to check) and score against what followed each cut-off.

    MASE scales each origin's mean absolute error by the in-sample mean absolute error of the
    seasonal naive forecast (same weekday last week) on that origin's training data.
    """
    values = np.asarray(series, dtype=float)
    last = len(values) - horizon
    cuts = [last - step * k for k in range(origins)]
    if cuts[-1] < 2 * WEEK + WEEK:
        raise ValueError("the series is too short for that many origins")
    scaled_errors: list[float] = []
    inside = 0
    checked = 0
    for cut in sorted(cuts):
        train, actual = values[:cut], values[cut : cut + horizon]
        result = forecast(train.tolist(), horizon, level, seed=cut)
        naive_scale = float(np.mean(np.abs(train[WEEK:] - train[:-WEEK])))
        error = float(np.mean(np.abs(actual - np.asarray(result.mean))))
        scaled_errors.append(error / naive_scale if naive_scale > 0 else float("inf"))
        inside += int(
            np.sum((actual >= np.asarray(result.lower)) & (actual <= np.asarray(result.upper)))
        )
        checked += len(actual)
    return Backtest(
        mase=float(np.mean(scaled_errors)),
        coverage=inside / checked,
        level=level,
        origins=len(cuts),
    )


def summed_forecast(
    history: Sequence[float],
    periods: int = HORIZON // WEEK,
    period: int = WEEK,
    level: float = 0.9,
    *,
    repetitions: int = 500,
    seed: int = 0,
) -> Forecast:
    """Forecast the totals of each of the next `periods` blocks of `period` days (by default
    the four weeks ahead) after daily `history`.

    The interval is taken over each simulated path's sum, not by adding daily bounds (which
    would be far too wide: bad days and good days within a block partly cancel).
    """
    horizon = periods * period
    mean, paths = _simulate(history, horizon, repetitions, seed)
    # Counts per day cannot go below zero, so neither can a path's day before it is summed.
    sums = np.clip(paths, 0, None).reshape(periods, period, repetitions).sum(axis=1)
    tail = (1 - level) / 2
    return Forecast(
        mean=np.clip(mean, 0, None).reshape(periods, period).sum(axis=1).tolist(),
        lower=np.quantile(sums, tail, axis=1).tolist(),
        upper=np.quantile(sums, 1 - tail, axis=1).tolist(),
        level=level,
    )
