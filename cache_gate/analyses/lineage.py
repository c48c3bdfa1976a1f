"""Lineages: the requests that share one cache entry's life, in the order they came.

A request's lineage is its `prompt_id` where it has one (`prompt:ID`); else its
session and workflow (`session:ID/WORKFLOW`); else its model and workflow
(`model:M/WORKFLOW`). The miss causes compare a request with the previous one of its
lineage, and the TTL advice simulates each lineage's cache entry from its own times.
The key names its kind, as the JSON reports show it (contract).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from operator import itemgetter
from typing import TypeVar

import msgspec

from cache_gate.ledger.record import Record

NONE = "(none)"
# A prompt-cache entry lives 5 minutes, or 1 hour where it was written so; a read
# refreshes it.
FIVE_MINUTES = 300.0
ONE_HOUR = 3600.0
DAY = 86400.0
# A time this close to midnight is dated on its own (see `UtcDates`).
EDGE = 0.001


def lineage_of(record: Record) -> str:
    """The lineage key of a request."""
    if record.prompt_id is not None:
        return f"prompt:{record.prompt_id}"
    workflow = record.workflow if record.workflow is not None else NONE
    if record.session is not None:
        return f"session:{record.session}/{workflow}"
    model = record.model if record.model is not None else NONE
    return f"model:{model}/{workflow}"


class Span(msgspec.Struct):
    """The time a ledger covers: its first and last dated record, in any order."""

    oldest: float | None = None
    newest: float | None = None

    def see(self, moment: float) -> None:
        if self.newest is None or moment > self.newest:
            self.newest = moment
        if self.oldest is None or moment < self.oldest:
            self.oldest = moment

    @property
    def days(self) -> float:
        """Its days, at least one: a ledger shorter than a day is not extrapolated."""
        if self.oldest is None or self.newest is None:
            return 1.0
        return max(1.0, (self.newest - self.oldest) / DAY)


# Days a report lists, the latest (about ten years); the JSON counts the others
# (`trend_left_out`, `miss_causes.by_day_left_out`): a ledger whose times span
# centuries stays bounded in memory and in the report.
DAYS_SHOWN = 3660
# Dates remembered by number: past them the memo starts afresh.
_DATES_KEPT = 4096
T = TypeVar("T")


def latest_days(days: Iterable[tuple[str, T]], limit: int) -> tuple[list[tuple[str, T]], int]:
    """The `limit` latest of (ISO date, value) pairs, in date order, and how many there
    are."""
    ordered = sorted(days, key=itemgetter(0))
    return ordered[-limit:] if limit else [], len(ordered)


class UtcDates(msgspec.Struct):
    """The UTC date (ISO) of a POSIX time, computed once a day, not once a record.

    POSIX time has no leap seconds: whole days of 86,400 s are UTC dates. A time within
    a millisecond of midnight is dated on its own (the datetime rounds to microseconds);
    the others share their day's date. `low < moment < high` is the last such day:
    a caller in a hot loop may test it before calling."""

    _days: dict[int, str] = msgspec.field(default_factory=dict)
    low: float = 0.0
    high: float = 0.0
    day: str = ""

    def __call__(self, moment: float) -> str:
        if self.low < moment < self.high:
            return self.day
        number = int(moment // DAY)
        inside = EDGE < moment - number * DAY < DAY - EDGE
        day = self._days.get(number) if inside else None
        if day is None:
            day = datetime.fromtimestamp(moment, UTC).date().isoformat()
            if inside:
                if len(self._days) >= _DATES_KEPT:
                    self._days.clear()
                self._days[number] = day
        if inside:
            self.low, self.high, self.day = number * DAY + EDGE, (number + 1) * DAY - EDGE, day
        return day


class LineageState(msgspec.Struct, array_like=True):
    """What a lineage's next request is compared with (the miss causes'), as far as
    the stretch of the ledger read so far knows it (a stretch may start anywhere: see
    `miss_causes.MissCauses`). A struct: a checkpoint keeps it as it is
    (`kpi_evidence`)."""

    # Three parts, each known once the stretch shows it, else whatever came before it:
    # the previous request (`seen`: there was one in the stretch);
    seen: bool = False
    model: str | None = None
    prefix: str | None = None
    # the last read or write (`active`: there was one), its time (None: it had none);
    active: bool = False
    activity: float | None = None
    # the entry's TTL, which only a write sets (`timed`: there was one).
    timed: bool = False
    ttl: float = FIVE_MINUTES
    # Its avoidable misses by cause (None until it has one: most lineages never do).
    avoidable: dict[str, int] | None = None
    # The stretch's first miss whose cause needs a part the stretch did not know:
    # decided when what came before is known (`miss_causes.MissCauses.merge`), or at the end, where
    # nothing came before. That miss is a write, so the stretch knows every part after it.
    pending: WaitingMiss | None = None


class WaitingMiss(msgspec.Struct, array_like=True):
    """A miss waiting for what came before its stretch, with the parts of its lineage
    the stretch knew when it came (see `LineageState`)."""

    ordinal: int
    record: Record
    seen: bool
    model: str | None
    prefix: str | None
    active: bool
    activity: float | None
    timed: bool
    ttl: float

    def fill(self, before: LineageState) -> None:
        """The parts it did not know, from the stretch before."""
        if not self.seen:
            self.seen, self.model, self.prefix = before.seen, before.model, before.prefix
        if not self.active:
            self.active, self.activity = before.active, before.activity
        if not self.timed:
            self.timed, self.ttl = before.timed, before.ttl
