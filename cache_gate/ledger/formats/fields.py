"""What the format adapters share: times, and fields decoded only once a line is
known to be of the format that defines them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

import msgspec

from cache_gate.ledger.line_errors import LineError, describe

_T = TypeVar("_T")
_TIME = msgspec.json.Decoder(datetime)


def epoch(moment: datetime | None) -> float | None:
    """Seconds since the epoch; a time without an offset is taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def raw_time(raw: msgspec.Raw) -> float | None:
    """A raw field read as a time, leniently: one that is absent or not a time is
    unknown (the record is undated), as a wrong `timestamp` is (see `lines`)."""
    if not raw:
        return None
    try:
        return epoch(_TIME.decode(raw))
    except msgspec.ValidationError:
        return None


def decode_field(decoder: msgspec.json.Decoder[_T], raw: msgspec.Raw, name: str) -> _T:
    """A raw field decoded in full: a wrong value makes the line bad, named as
    `name.field: problem`."""
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        problem = describe(exc)
    where, sep, what = problem.partition(": ")
    if not sep:  # the field itself is wrong ("not a JSON object", "expected array, ...")
        raise LineError(f"{name}: {problem}")
    raise LineError(f"{name}{'' if where.startswith('[') else '.'}{where}: {what}")
