"""LiteLLM's SpendLogs table in PostgreSQL as a usage ledger, aggregated by the server.

`read_tally` gives `kpi` what `reader.scan` gives it for a JSONL file: a Tally of
(workflow, prompt_id) groups and LedgerStats; `read_analytics` gives `report` its
breakdowns. PostgreSQL computes the sums (`pg_queries`): a gate over millions of
requests moves a few dozen aggregated rows to the client, not the requests.

The session is read-only and bounded (`pg_session`); every query is
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
from typing import TYPE_CHECKING, Any

from cache_gate.errors import InputError

try:
    import psycopg
except ImportError as exc:  # pragma: no cover - the [postgres] extra is not installed
    raise InputError("reading a PostgreSQL ledger needs psycopg 3: "
                     "pip install 'cache-gate[postgres]'") from exc

from cache_gate.kpis import SLOTS, Tally
from cache_gate.ledger import pg_queries, pg_rows
from cache_gate.ledger.formats import epoch, read_line
from cache_gate.ledger.line_errors import describe
from cache_gate.ledger.lines import decoders
from cache_gate.ledger.pg_session import (
    BadRow,
    Reading,
    check_table,
    fetch,
    session,
    table_identifier,
)
from cache_gate.ledger.pg_url import parse_source
from cache_gate.ledger.reader import (
    BAD_LINE_SAMPLES,
    DECODE_ERRORS,
    LedgerStats,
    Selection,
    keep,
)
from cache_gate.ledger.record import Record
from cache_gate.ledger.window import Window

if TYPE_CHECKING:
    from cache_gate.report import Analytics

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


def _scope(conn: psycopg.Connection[Any], reading: Reading, selection: Selection, *,
           descriptive: bool) -> pg_rows.Scope:
    nullable_time = check_table(conn, reading)
    window: Window = selection.window
    return pg_rows.Scope(
        table=table_identifier(reading.source),
        descriptive=descriptive,
        timed=descriptive or window.bounded,
        since=_bound(window.since, lower=True) if window.since is not None else None,
        until=_bound(window.until, lower=False) if window.until is not None else None,
        windowed=window.bounded,
        nullable_time=nullable_time,
        workflows=tuple(sorted(selection.workflows)) if selection.workflows is not None
        else None,
    )


def _as_int(value: int | Decimal | None) -> int:
    return int(value) if value is not None else 0


def _count_kinds(kind: str, sums: list[int], stats: LedgerStats) -> int:
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


def _bad_samples(conn: psycopg.Connection[Any], reading: Reading, scope: pg_rows.Scope,
                 why_bad: Callable[[str], str]) -> None:
    """The first bad rows, with the JSONL reader's own message for each."""
    query = pg_queries.rows_of_kind_query(scope, pg_rows.BAD, BAD_LINE_SAMPLES)
    for request_id, moment, row_json in fetch(conn, reading, query, scope.params()):
        reading.samples.append(BadRow(0, f"request_id {request_id}: {why_bad(row_json)}",
                                      request_id=request_id, moment=moment))


def _python_rows(conn: psycopg.Connection[Any], reading: Reading, scope: pg_rows.Scope,
                 stats: LedgerStats, selection: Selection) -> list[Record]:
    """The rows the SQL leaves to `formats.read_line`, read exactly as a JSONL line."""
    reading_decoders = decoders(descriptive=scope.descriptive, timed=scope.timed)
    query = pg_queries.rows_of_kind_query(scope, pg_rows.IRREGULAR)
    records: list[Record] = []
    for request_id, moment, row_json in fetch(conn, reading, query, scope.params()):
        try:
            record = read_line(row_json.encode(), reading_decoders)
        except DECODE_ERRORS as exc:
            stats.bad_count += 1
            reading.samples.append(BadRow(0, f"request_id {request_id}: {describe(exc)}",
                                          request_id=request_id, moment=moment))
            continue
        records.extend(keep([record], selection, stats, {}))
    return records


def _why_bad(scope: pg_rows.Scope) -> Callable[[str], str]:
    reading_decoders = decoders(descriptive=scope.descriptive, timed=scope.timed)

    def message(row_json: str) -> str:
        try:
            read_line(row_json.encode(), reading_decoders)
        except DECODE_ERRORS as exc:
            return describe(exc)
        return "rejected by the PostgreSQL reader's checks"  # pragma: no cover - a drift

    return message


def _finish(stats: LedgerStats, reading: Reading) -> LedgerStats:
    # Time order, as a JSONL export in time order lists them (undated rows last).
    reading.samples.sort(key=lambda bad: (bad.moment is None, bad.moment or 0.0,
                                          bad.request_id is None, bad.request_id or ""))
    stats.bad = list(reading.samples[:BAD_LINE_SAMPLES])
    stats.source = reading.to_json()
    return stats


def read_tally(url: str, selection: Selection) -> tuple[Tally, LedgerStats]:
    """The KPI sums of the SpendLogs rows in `selection`, summed by PostgreSQL."""
    source = parse_source(url)
    reading = Reading(source)
    stats = LedgerStats(source.display)
    tally = Tally()
    with session(reading) as conn:
        scope = _scope(conn, reading, selection, descriptive=False)
        python_rows = 0
        for kind, workflow, prompt_id, *raw in fetch(conn, reading,
                                                       pg_queries.tally_query(scope),
                                                       scope.params()):
            sums = [_as_int(value) for value in raw]
            assert len(sums) == SLOTS
            if kind == pg_rows.RECORD:
                tally.merge_groups({(workflow, prompt_id): sums})
                stats.records += sums[0]
                stats.formats[FORMAT] += sums[0]
            else:
                python_rows += _count_kinds(kind, sums, stats)
        if stats.bad_count:
            _bad_samples(conn, reading, scope, _why_bad(scope))
        if python_rows:
            tally.add(_python_rows(conn, reading, scope, stats, selection))
    return tally, _finish(stats, reading)


def read_analytics(url: str, selection: Selection,
                   make_sink: Callable[[], Analytics]) -> tuple[Analytics, LedgerStats]:
    """The report's breakdowns of the SpendLogs rows in `selection`, summed by PostgreSQL."""
    from cache_gate.report import CacheTokens

    analytics = make_sink()
    analytics.hashes_recorded = False
    source = parse_source(url)
    reading = Reading(source)
    stats = LedgerStats(source.display)
    with session(reading) as conn:
        scope = _scope(conn, reading, selection, descriptive=True)
        python_rows = 0
        rows = fetch(conn, reading, pg_queries.report_query(scope), scope.params())
        for (kind, by_workflow_prompt, by_phase, by_model, by_day,
             workflow, prompt_id, phase, model, day, *raw) in rows:
            values = [_as_int(value) for value in raw]
            sums, extra = values[:SLOTS], values[SLOTS:]
            if kind != pg_rows.RECORD:
                if by_workflow_prompt:
                    python_rows += _count_kinds(kind, sums, stats)
                continue
            if by_workflow_prompt:
                analytics.tally.merge_groups({(workflow, prompt_id): sums})
                stats.records += sums[0]
                stats.formats[FORMAT] += sums[0]
            elif by_phase:
                analytics.by_phase[phase] = sums
            elif by_model:
                analytics.by_model[model] = sums
                requests, read, write_5m, write_1h = extra
                if requests:
                    analytics.cache_tokens[model] = CacheTokens(read, write_5m, write_1h, 0)
            elif by_day and day is not None:
                analytics.by_day[day.isoformat()] = sums
        if stats.bad_count:
            _bad_samples(conn, reading, scope, _why_bad(scope))
        if python_rows:
            analytics.add(_python_rows(conn, reading, scope, stats, selection))
    return analytics, _finish(stats, reading)
