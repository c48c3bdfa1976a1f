"""What the format adapters share: times, the Record of one request, and fields
decoded only once a line is known to be of the format that defines them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

import msgspec

from cache_gate.ledger.line_errors import LineError, describe
from cache_gate.ledger.lines import BacklogLine, Line
from cache_gate.ledger.record import Record

_T = TypeVar("_T")
_TIME = msgspec.json.Decoder(datetime)


def epoch(moment: datetime | None) -> float | None:
    """Seconds since the epoch; a time without an offset is taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def response_time(line: Line) -> float | None:
    """A response's own time (OpenAI's `created`, the Responses API's `created_at`, in
    epoch seconds), else the application's `timestamp` beside it."""
    created = line.created if line.created is not None else line.created_at
    return float(created) if created is not None else epoch(line.timestamp)


def request_record(line: BacklogLine | Line, fmt: str, *, time: float | None,
                   model: str | None, uncached: int | None, read: int | None,
                   output: int | None, write: int | None = None,
                   write_1h: int | None = None, session: str | None = None,
                   miss_reason: str | None = None) -> Record:
    """One request's Record: its tokens as the format reads them, and what the
    application logged beside the response (workflow, phase, prompt, cost, hashes,
    and a `session_id` or `cache_miss_reason` where the format names none itself).

    `session` and `miss_reason` are the format's own (Claude Code's `sessionId`, the
    provider's diagnosis), already read as `lines.CauseName` reads a cause."""
    return Record(
        format=fmt,
        time=time,
        workflow=line.workflow,
        phase=line.phase,
        prompt_id=line.prompt_id,
        model=model,
        uncached_input=uncached,
        cache_read=read,
        cache_write=write,
        cache_write_1h=write_1h,
        output_tokens=output,
        prompt_cache_hit=None if read is None else read > 0,
        cost=line.cost_usd,
        prefix_sha256=line.prefix_sha256,
        request_sha256=line.request_sha256,
        session=session_name(session if session is not None else line.session_id),
        miss_reason=miss_reason if miss_reason is not None else line.cache_miss_reason,
    )


def session_name(session: str | None) -> str | None:
    """A conversation id as the lineages use it: an empty one names no session."""
    return session or None


def lenient(decoder: msgspec.json.Decoder[_T], raw: msgspec.Raw) -> _T | None:
    """A raw field decoded leniently: absent, or of another shape, it is unknown
    (None), and the line is not bad for it (a field only the miss causes read)."""
    if not raw:
        return None
    try:
        return decoder.decode(raw)
    except msgspec.DecodeError:
        return None


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


def plain(line: Line) -> bool:
    """Whether a line is read flat: it has no response `usage` container, or has
    backlog's own fields beside one (a response logged with the application's
    `workflow` and `timestamp` beside it is still that response). Backlog lines, a
    bare Anthropic usage and the formats whose usage has a name of its own are flat;
    the others are responses, told apart by their `usage`."""
    return line.usage is None or (line.cache_hit is not None
                                  or line.cached_input_tokens is not None
                                  or line.model_alias is not None)
