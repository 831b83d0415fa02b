"""Time helpers: everything in eta is timezone-aware UTC."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """Return today's date in UTC."""
    return utcnow().date()
