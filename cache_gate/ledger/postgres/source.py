"""LiteLLM's SpendLogs table in PostgreSQL as a usage ledger: the rows of a window.

The analyses sum the rows in SQL (`analyses.postgres_sums`); this source gives them
the table's scope (its window as exact timestamp bounds, its workflows), the rows
the SQL leaves to Python read exactly as JSONL lines, and the bad rows' samples.

The session is read-only and bounded (`session`); every query is
parameterised, and the table name goes through `psycopg.sql.Identifier`.

Which rows are bad: exactly those the JSONL reader would reject in the export of
the same rows (`to_jsonb` of each row, one a line); they are counted in
`bad_count`, and the first ten (in time order) are reported by request_id.
Unlike a JSONL file, a table is read through its window only (the `startTime`
index): bad rows outside the window are not seen, and rows outside the window
are not counted (`outside` is null in the JSON report).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from cache_gate.errors import InputError

try:
    import psycopg
except ImportError as exc:  # pragma: no cover - the [postgres] extra is not installed
    raise InputError("reading a PostgreSQL ledger needs psycopg 3: "
                     "pip install 'cache-gate[postgres]'") from exc

from cache_gate.ledger.formats import epoch, read_line
from cache_gate.ledger.line_errors import describe
from cache_gate.ledger.lines import Decoders, decoders
from cache_gate.ledger.postgres import rows as pg_rows
from cache_gate.ledger.postgres.session import (
    BadRow,
    Reading,
    check_table,
    fetch,
    table_identifier,
)
from cache_gate.ledger.reading import BAD_LINE_SAMPLES, DECODE_ERRORS, LedgerStats, Selection, keep
from cache_gate.ledger.record import Record
from cache_gate.ledger.window import Window

FORMAT = "litellm"
ONE_MICROSECOND = timedelta(microseconds=1)


def _bound(moment: float, *, lower: bool) -> datetime | None:
    """The exact timestamp bound of a window edge given in epoch seconds.

    The JSONL reader compares float epochs; a timestamp column holds microseconds.
    The bound is the first (last) microsecond whose epoch, as `formats.epoch`
    computes it, is inside the window, so that the index range selects exactly
    the rows that the float comparison would. None when the edge is beyond the
    range of timestamps (no bound needed on that side).
    """
    try:
        bound = datetime.fromtimestamp(moment, UTC).replace(tzinfo=None)
    except (OverflowError, ValueError, OSError):
        return None
    inward = ONE_MICROSECOND if lower else -ONE_MICROSECOND

    def inside(candidate: datetime) -> bool:
        seconds = epoch(candidate)
        assert seconds is not None
        return seconds >= moment if lower else seconds <= moment

    # fromtimestamp rounds to the nearest microsecond: at most a step from the edge.
    with suppress(OverflowError):
        while not inside(bound):
            bound += inward
        while inside(bound - inward):
            bound -= inward
    return bound


def scope_of(conn: psycopg.Connection[Any], reading: Reading, selection: Selection, *,
           descriptive: bool) -> pg_rows.Scope:
    nullable_time, optional_columns = check_table(conn, reading)
    window: Window = selection.window
    return pg_rows.Scope(
        table=table_identifier(reading.source),
        descriptive=descriptive,
        timed=descriptive or window.bounded,
        since=_bound(window.since, lower=True) if window.since is not None else None,
        until=_bound(window.until, lower=False) if window.until is not None else None,
        windowed=window.bounded,
        nullable_time=nullable_time,
        optional_columns=optional_columns,
        workflows=tuple(sorted(selection.workflows)) if selection.workflows is not None
        else None,
    )


def as_int(value: int | Decimal | None) -> int:
    return int(value) if value is not None else 0


def count_kinds(kind: str, sums: list[int], stats: LedgerStats) -> int:
    """Count a non-record group in the stats; the number of rows Python must read."""
    requests = sums[0]
    if kind == pg_rows.BAD:
        stats.bad_count += requests
    elif kind == pg_rows.UNDATED:
        stats.undated += requests
    elif kind == pg_rows.OTHER_WORKFLOW:
        stats.other_workflows += requests
    elif kind == pg_rows.IRREGULAR:
        return requests
    return 0


def bad_samples(conn: psycopg.Connection[Any], reading: Reading, scope: pg_rows.Scope,
                 why_bad: Callable[[str], str]) -> None:
    """The first bad rows, with the JSONL reader's own message for each."""
    query = pg_rows.rows_of_kind_query(scope, pg_rows.BAD, BAD_LINE_SAMPLES)
    for request_id, moment, row_json in fetch(conn, reading, query, scope.params()):
        reading.samples.append(BadRow(0, f"request_id {request_id}: {why_bad(row_json)}",
                                      request_id=request_id, moment=moment))


def read_irregular(row_json: str, request_id: str | None, moment: float | None,
                   reading_decoders: Decoders, reading: Reading, stats: LedgerStats,
                   selection: Selection) -> list[Record]:
    """A row the SQL leaves to Python, read exactly as its JSONL line; a bad one is
    counted and sampled by its request_id."""
    try:
        record = read_line(row_json.encode(), reading_decoders)
    except DECODE_ERRORS as exc:
        stats.bad_count += 1
        reading.samples.append(BadRow(0, f"request_id {request_id}: {describe(exc)}",
                                      request_id=request_id, moment=moment))
        return []
    return keep([record], selection, stats, None)


def python_rows(conn: psycopg.Connection[Any], reading: Reading, scope: pg_rows.Scope,
                 stats: LedgerStats, selection: Selection) -> list[Record]:
    """The rows the SQL leaves to `formats.read_line`, read exactly as a JSONL line."""
    reading_decoders = decoders(descriptive=scope.descriptive, timed=scope.timed)
    query = pg_rows.rows_of_kind_query(scope, pg_rows.IRREGULAR)
    records: list[Record] = []
    for request_id, moment, row_json in fetch(conn, reading, query, scope.params()):
        records += read_irregular(row_json, request_id, moment, reading_decoders, reading,
                                  stats, selection)
    return records


def why_bad(scope: pg_rows.Scope) -> Callable[[str], str]:
    reading_decoders = decoders(descriptive=scope.descriptive, timed=scope.timed)

    def message(row_json: str) -> str:
        try:
            read_line(row_json.encode(), reading_decoders)
        except DECODE_ERRORS as exc:
            return describe(exc)
        return "rejected by the PostgreSQL reader's checks"  # pragma: no cover - a drift

    return message


def finish(stats: LedgerStats, reading: Reading) -> LedgerStats:
    # Time order, as a JSONL export in time order lists them (undated rows last).
    reading.samples.sort(key=lambda bad: (bad.moment is None, bad.moment or 0.0,
                                          bad.request_id is None, bad.request_id or ""))
    stats.bad = list(reading.samples[:BAD_LINE_SAMPLES])
    stats.source = reading.to_json()
    return stats
