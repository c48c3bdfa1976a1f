"""Time windows over a ledger: closed [since, until] on the records' own times.

A window filters; it never skips bytes. Seeking to a window's start, or stopping at
its end, would be safe only over bytes proven to be in time order, and nothing read
so far proves that (a ledger of two concatenated transcripts, or one appended by a
batch writer, is not), so the whole ledger is read and every record in the window
counts. (A checkpoint of the ledger is such proof, stretch by stretch: see
`jsonl.resume`.)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

import msgspec

from cache_gate.errors import InputError

SECONDS_A_DAY = 86_400


class Window(msgspec.Struct, frozen=True):
    """[since, until] in epoch seconds; None = unbounded on that side."""

    since: float | None = None
    until: float | None = None

    @property
    def bounded(self) -> bool:
        return self.since is not None or self.until is not None

    def contains(self, moment: float) -> bool:
        return (self.since is None or moment >= self.since) and (
            self.until is None or moment <= self.until)

    def to_json(self) -> dict[str, str | None]:
        return {"since": _iso(self.since), "until": _iso(self.until)}


class LeftOut(Protocol):
    """What a reader counts of the records a selection leaves out (`LedgerStats`)."""

    undated: int
    outside_window: int
    other_workflows: int


def selected(moment: float | None, workflow: str | None, window: Window,
             workflows: frozenset[str] | None, left_out: LeftOut) -> bool:
    """Whether a record of this time and workflow is in the window (an undated one
    is not, where the window is bounded) and among the workflows (None: any); one
    that is not is counted in `left_out`, by why."""
    if window.bounded:
        if moment is None:
            left_out.undated += 1
            return False
        if not window.contains(moment):
            left_out.outside_window += 1
            return False
    if workflows is not None and workflow not in workflows:
        left_out.other_workflows += 1
        return False
    return True


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    try:
        shown = datetime.fromtimestamp(moment, UTC)
    except (OverflowError, ValueError, OSError):
        # The last microsecond of year 9999 rounds, as a float, into year 10000.
        shown = datetime.max.replace(tzinfo=UTC) if moment > 0 else datetime.min.replace(
            tzinfo=UTC)
    return shown.isoformat().replace("+00:00", "Z")


def _epoch(moment: datetime) -> float:
    # As the ledger's times are computed (formats.epoch): no offset means UTC.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_time(text: str, option: str, *, end_of_day: bool = False) -> float:
    """An ISO-8601 date or date-time (no offset = UTC) as epoch seconds.

    A date alone is the day's first instant, or with `end_of_day` its last (the last
    microsecond, the finest step a ledger time has): `--until 2026-11-06` takes in all
    of that day, and the next midnight is outside.
    """
    value = text.strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        if end_of_day:
            return _epoch(datetime.combine(day, time.max))
        return _epoch(datetime.combine(day, time.min))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {text!r} is not an ISO-8601 date or time "
                         "(e.g. 2026-11-26 or 2026-11-26T09:30:00Z)") from None
    return _epoch(moment)


# Times before the first representable instant bound nothing: a window reaching
# further back takes in every dated record.
_EARLIEST = _epoch(datetime.min + timedelta(days=1))


def make_window(*, days: int | None, since: str | None, until: str | None,
                now: str | None) -> Window:
    now_s = parse_time(now, "--now") if now is not None else datetime.now(UTC).timestamp()
    start = parse_time(since, "--since") if since is not None else None
    end = parse_time(until, "--until", end_of_day=True) if until is not None else None
    if days is not None:
        if days <= 0:
            raise InputError(f"--days must be a whole number > 0, got {days}")
        if start is not None:
            raise InputError("--days and --since both set a window start; pass one of them")
        end = now_s if end is None else end
        start = end - float(days) * SECONDS_A_DAY
        if start < _EARLIEST:
            start = None
    if start is not None and end is not None and start > end:
        raise InputError(f"the window is empty: since {_iso(start)} is after until {_iso(end)}")
    return Window(start, end)
