"""The periods a chart over time shows: a day each up to DAILY_UP_TO_DAYS days, then a
week each (from Monday, as ISO's), past WEEKLY_UP_TO_WEEKS weeks a month each: about 60
points at most, what a chart's width can still show. A period's figures are sums of its
days' counts (an average of daily rates would weigh a quiet day like a busy one)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

DAILY_UP_TO_DAYS = 60
WEEKLY_UP_TO_WEEKS = 60


def unit_for(days: Iterable[dt.date]) -> str:
    """"day", "week" or "month": the period that keeps the span to about 60 points."""
    dates = list(days)
    if not dates:
        return "day"
    span = (max(dates) - min(dates)).days + 1
    if span <= DAILY_UP_TO_DAYS:
        return "day"
    return "week" if span <= WEEKLY_UP_TO_WEEKS * 7 else "month"


def start_of(day: dt.date, unit: str) -> dt.date:
    """The first day of the period `day` falls in."""
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def label(day: dt.date, unit: str, years: int) -> str:
    """A period's label: the year is part of every label once the range crosses one
    (01-02 after 12-30 would read as going back in time)."""
    if unit == "month":
        return day.strftime("%Y-%m")
    return day.isoformat() if years > 1 else day.strftime("%m-%d")
