"""Time windows over a ledger, and finding a window's start by seeking."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cache_gate.errors import InputError

# How far out of time order lines may be near a window's edge. Appenders
# (LiteLLM's batch writer, several processes sharing a ledger) interleave
# lines a little; a seek lands this much earlier than the window start.
ORDER_SLACK = 3600.0


@dataclass(frozen=True)
class Window:
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


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str, option: str) -> float:
    """An ISO-8601 date or date-time (no offset = UTC) as epoch seconds."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {text!r} is not an ISO-8601 date or time "
                         "(e.g. 2026-11-26 or 2026-11-26T09:30:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def make_window(*, days: int | None, since: str | None, until: str | None,
                now: str | None) -> Window:
    now_s = parse_time(now, "--now") if now else datetime.now(UTC).timestamp()
    start = parse_time(since, "--since") if since else None
    end = parse_time(until, "--until") if until else None
    if days is not None:
        if days <= 0:
            raise InputError(f"--days must be a whole number > 0, got {days}")
        if start is not None:
            raise InputError("--days and --since both set a window start; pass one of them")
        end = now_s if end is None else end
        start = end - timedelta(days=days).total_seconds()
    if start is not None and end is not None and start > end:
        raise InputError(f"the window is empty: since {_iso(start)} is after until {_iso(end)}")
    return Window(start, end)


# Points sampled across a ledger, before bisection, to tell whether it is in time order.
ORDER_SAMPLES = 16


def seek_start(size: int, since: float, time_at: Callable[[int], tuple[int, float] | None],
               *, granularity: int) -> int | None:
    """A byte offset at or before the first line of a time-ordered ledger at `since`.

    `time_at(offset)` returns (line start, time) of the first dated line starting at
    or after `offset`, or None when there is none. The ledger is sampled at
    ORDER_SAMPLES evenly spaced points and then bisected; the times of all these
    probes, in file order, must not go back by more than ORDER_SLACK. If they do,
    the ledger is not in time order (say, two sessions' transcripts appended) and
    None tells the caller to read all of it.
    """
    probes = [probe for index in range(ORDER_SAMPLES)
              if (probe := time_at(size * index // ORDER_SAMPLES)) is not None]
    target = since - ORDER_SLACK
    low, high = 0, size
    while high - low > granularity:
        middle = (low + high) // 2
        probe = time_at(middle)
        if probe is None:
            high = middle
            continue
        probes.append(probe)
        if probe[1] < target:
            low = middle
        else:
            high = middle
    probes.sort()
    for (_, earlier), (_, later) in itertools.pairwise(probes):
        if later < earlier - ORDER_SLACK:
            return None
    return low
