"""The KPIs and the report's breakdowns of LiteLLM's SpendLogs table, summed by PostgreSQL.

`read_evidence` gives `kpi` what the JSONL reader gives it for a file: its sink (a
Tally of (workflow, prompt_id) groups and the miss causes) and LedgerStats; `read_analytics`
gives `report` its breakdowns. Rows the SQL cannot read exactly are read in Python,
through the source, as a JSONL line would be.

`kpi` reads the table once: the miss causes need every eligible request in order
(its time, model, session, tokens), which no sum can give, so one query streams
each row of the window, in the order of the table's JSONL export, as the few values
a Record of it holds (`kpi_rows_query`); the Tally is summed from the same Records
by `kpis.count`, the one definition of its terms. Reading `metadata` is most of the
cost of any query over SpendLogs: a second query for the sums would double it
(bench/postgres.py holds this pass to a hand-written single-pass query).

`report` reads it once too (`report_rows_query`): its miss causes and tuning need
every request in order, so each row streams as the JSON of its values, read as its
JSONL line, and the breakdowns are summed from those Records. The sums alone
(`read_tally`), and the breakdowns of a sink without the ordered analyses, are summed
by PostgreSQL exactly as `kpis.count` sums Records: they move a few dozen aggregated
rows to the client, not the requests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from cache_gate.analyses import kpis
from cache_gate.analyses.breakdowns import Analytics, CacheTokens
from cache_gate.analyses.kpi_evidence import KpiEvidence
from cache_gate.analyses.kpis import SLOTS, Tally, count
from cache_gate.ledger.formats import read_line
from cache_gate.ledger.lines import LINEAGE_FIELDS, decoders
from cache_gate.ledger.postgres import rows as pg_rows
from cache_gate.ledger.postgres.rows import KNOWN_TIME, RECORD, Scope, row_json, row_pipeline
from cache_gate.ledger.postgres.session import BadRow, Reading, fetch, session, stream
from cache_gate.ledger.postgres.source import (
    FORMAT,
    as_int,
    bad_samples,
    count_kinds,
    finish,
    python_rows,
    read_irregular,
    scope_of,
    why_bad,
)
from cache_gate.ledger.postgres.url import parse_source
from cache_gate.ledger.reading import (
    BAD_LINE_SAMPLES,
    DECODE_ERRORS,
    LedgerStats,
    Selection,
    keep,
)
from cache_gate.ledger.record import Record

# Records read between two checks that kpi's evidence stays within memory.
BOUND_EVERY = 4096
# Records handed on to the report's sink at once (`keep` and the sink's loops run a
# batch at a time).
READ_BATCH = 2000
_ELIGIBLE_TOKENS = "r.eligible AND r.uncached IS NOT NULL"
# kpis.count, slot by slot. LiteLLM logs no semantic cache and no response-cache
# usefulness: every response-cache hit counts as useful.
SLOT_SUMS: dict[int, str] = {
    kpis.REQUESTS: "count(*)",
    kpis.ELIGIBLE: "count(*) FILTER (WHERE r.eligible)",
    kpis.PROMPT_HITS: "count(*) FILTER (WHERE r.eligible AND r.cache_read > 0)",
    kpis.TOKEN_REQUESTS: f"count(*) FILTER (WHERE {_ELIGIBLE_TOKENS})",
    kpis.CACHE_READ: f"coalesce(sum(r.cache_read) FILTER (WHERE {_ELIGIBLE_TOKENS}), 0)",
    kpis.INPUT_TOTAL: "coalesce(sum(r.uncached + r.cache_read + r.cache_write) "
                      f"FILTER (WHERE {_ELIGIBLE_TOKENS}), 0)",
    kpis.RESPONSE_LOOKUPS: "count(*) FILTER (WHERE r.response IS NOT NULL)",
    kpis.RESPONSE_USEFUL: "count(*) FILTER (WHERE r.response = 'hit')",
    kpis.SEMANTIC_LOOKUPS: "0",
    kpis.SEMANTIC_USEFUL: "0",
    # A miss's cause needs the requests in order: not summed here (not measured).
    kpis.AVOIDABLE_MISSES: "0",
}
assert sorted(SLOT_SUMS) == list(range(kpis.SLOTS))

# The cache tokens per model of `breakdowns.Analytics`: eligible LiteLLM rows always
# report their writes (`cache_write` is 0, not unknown, when absent).
CACHE_TOKEN_SUMS = (
    ("cache_token_requests", "count(*) FILTER (WHERE r.eligible)"),
    ("read", "coalesce(sum(r.cache_read) FILTER (WHERE r.eligible), 0)"),
    ("write_5m", "coalesce(sum(r.cache_write - coalesce(r.write_1h, 0)) "
                 "FILTER (WHERE r.eligible), 0)"),
    ("write_1h", "coalesce(sum(coalesce(r.write_1h, 0)) FILTER (WHERE r.eligible), 0)"),
)


def _sums() -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL(SLOT_SUMS[slot]) for slot in range(kpis.SLOTS))


def tally_query(scope: Scope) -> sql.Composed:
    """One row per (kind, workflow, prompt_id): the Tally's groups, and the counts of
    rows that are not records, each in its kind's single group."""
    return sql.SQL("""
SELECT r.kind, r.group_workflow, r.group_prompt_id, {sums}
FROM (
    SELECT d.*,
        CASE WHEN d.kind = {record} THEN d.workflow END AS group_workflow,
        CASE WHEN d.kind = {record} THEN d.prompt_id END AS group_prompt_id
    FROM ({rows}) AS d
) AS r
GROUP BY r.kind, r.group_workflow, r.group_prompt_id
""").format(sums=_sums(), record=sql.Literal(RECORD), rows=row_pipeline(scope))


def report_query(scope: Scope) -> sql.Composed:
    """The report's breakdowns in one pass: (workflow, prompt_id), phase, model (with
    the cache token sums) and UTC day, one grouping set each; the first also counts
    the rows of the other kinds. A plain GROUP BY over all five keys first (grouping
    sets alone would keep PostgreSQL from reading the rows in parallel workers),
    then the grouping sets over its few rows."""
    fine_sums = [*(SLOT_SUMS[slot] for slot in range(kpis.SLOTS)),
                 *(expression for _, expression in CACHE_TOKEN_SUMS)]
    names = [f"s{index}" for index in range(len(fine_sums))]
    fine = sql.SQL(", ").join(sql.SQL("{} AS {}").format(sql.SQL(expression),
                                                         sql.Identifier(name))
                              for expression, name in zip(fine_sums, names, strict=True))
    rolled = sql.SQL(", ").join(sql.SQL("sum(f.{})").format(sql.Identifier(name))
                                for name in names)
    return sql.SQL("""
SELECT f.kind,
    GROUPING(f.workflow, f.prompt_id) = 0 AS by_workflow_prompt,
    GROUPING(f.phase) = 0 AS by_phase,
    GROUPING(f.model) = 0 AS by_model,
    GROUPING(f.day) = 0 AS by_day,
    f.workflow, f.prompt_id, f.phase, f.model, f.day, {rolled}
FROM (
    SELECT r.kind, r.group_workflow AS workflow, r.group_prompt_id AS prompt_id,
        r.group_phase AS phase, r.group_model AS model, r.group_day AS day, {fine}
    FROM (
        SELECT d.*,
            CASE WHEN d.kind = {record} THEN d.workflow END AS group_workflow,
            CASE WHEN d.kind = {record} THEN d.prompt_id END AS group_prompt_id,
            CASE WHEN d.kind = {record} THEN d.phase END AS group_phase,
            CASE WHEN d.kind = {record} THEN
                CASE WHEN d.model <> '' THEN d.model ELSE d.model_group END
            END AS group_model,
            CASE WHEN d.kind = {record} AND {known_time} THEN d.start_time::date
            END AS group_day
        FROM ({rows}) AS d
    ) AS r
    GROUP BY 1, 2, 3, 4, 5, 6
) AS f
GROUP BY GROUPING SETS ((f.kind, f.workflow, f.prompt_id), (f.kind, f.phase),
                        (f.kind, f.model), (f.kind, f.day))
""").format(rolled=rolled, fine=fine, record=sql.Literal(RECORD), rows=row_pipeline(scope),
            known_time=sql.SQL(KNOWN_TIME))


def read_evidence(url: str, selection: Selection, evidence: KpiEvidence) -> LedgerStats:
    """`kpi`'s single pass over the SpendLogs rows in `selection`: the KPI sums and the
    miss causes, into `evidence` (whose memory stays bounded: `KpiEvidence.bound`)."""
    source = parse_source(url)
    reading = Reading(source)
    stats = LedgerStats(source.display)
    with session(reading) as conn:
        scope = scope_of(conn, reading, selection, descriptive=False)
        read_kpi_rows(conn, reading, scope, selection, stats, evidence)
    return finish(stats, reading)


def read_tally(url: str, selection: Selection) -> tuple[Tally, LedgerStats]:
    """The KPI sums of the SpendLogs rows in `selection`, summed by PostgreSQL."""
    source = parse_source(url)
    reading = Reading(source)
    stats = LedgerStats(source.display)
    tally = Tally()
    with session(reading) as conn:
        scope = scope_of(conn, reading, selection, descriptive=False)
        left_to_python = 0
        for kind, workflow, prompt_id, *raw in fetch(conn, reading,
                                                       tally_query(scope),
                                                       scope.params()):
            sums = [as_int(value) for value in raw]
            assert len(sums) == SLOTS
            if kind == pg_rows.RECORD:
                tally.merge_groups({(workflow, prompt_id): sums})
                stats.records += sums[0]
                stats.formats[FORMAT] += sums[0]
            else:
                left_to_python += count_kinds(kind, sums, stats)
        if stats.bad_count:
            bad_samples(conn, reading, scope, why_bad(scope))
        if left_to_python:
            tally.add(python_rows(conn, reading, scope, stats, selection))
    return tally, finish(stats, reading)


def kpi_rows_query(scope: Scope) -> sql.Composed:
    """Every row of the window, in the order of the table's JSONL export: a record as
    the values its Record holds for `kpi` (time, workflow, prompt_id, model, session,
    tokens, response cache), any other row as its kind; a bad row or one read in
    Python with its request_id, time and JSON too."""
    record = sql.SQL("d.kind = {}").format(sql.Literal(RECORD))
    as_json = sql.SQL("d.kind IN ({}, {})").format(sql.Literal(pg_rows.BAD),
                                                   sql.Literal(pg_rows.IRREGULAR))
    return sql.SQL("""
SELECT d.kind,
    -- formats.epoch of a time the JSONL reader reads (float8: the same double)
    CASE WHEN {record} AND {known_time} THEN extract(epoch FROM d.start_time)::float8 END,
    CASE WHEN {record} THEN d.workflow END,
    CASE WHEN {record} THEN d.prompt_id END,
    CASE WHEN {record} THEN {model} END,
    CASE WHEN {record} THEN d.session END,
    -- a record's token counts are checked (at most 15 digits): they fit in a bigint
    CASE WHEN {record} THEN d.uncached::int8 END,
    CASE WHEN {record} THEN d.cache_read::int8 END,
    CASE WHEN {record} THEN d.cache_write::int8 END,
    CASE WHEN {record} THEN d.write_1h::int8 END,
    CASE WHEN {record} THEN d.response END,
    CASE WHEN {as_json} THEN d.request_id END,
    CASE WHEN {as_json} THEN extract(epoch FROM d.start_time)::float8 END,
    CASE WHEN {as_json} THEN {row_json} END
FROM ({rows}) AS d
ORDER BY d.start_time, d.request_id
""").format(record=record, as_json=as_json, known_time=sql.SQL(KNOWN_TIME),
            model=_lineage_model(), row_json=row_json(scope), rows=row_pipeline(scope))


def _lineage_model() -> sql.SQL:
    """formats._litellm's `line.model or line.model_group`, as `kpi` reads a JSONL
    line: only the fields `lines.LINEAGE_FIELDS` names beside the KPIs' own."""
    if "model_group" in LINEAGE_FIELDS:
        return sql.SQL("CASE WHEN d.model <> '' THEN d.model ELSE d.model_group END")
    return sql.SQL("nullif(d.model, '')")


def read_kpi_rows(conn: psycopg.Connection[Any], reading: Reading, scope: Scope,
                  selection: Selection, stats: LedgerStats, evidence: KpiEvidence) -> None:
    """`kpi`'s single pass (`kpi_rows_query`): each record made a Record once, summed
    into the evidence's tally by `kpis.count` and, when eligible, handed to its miss
    causes in ledger order, a batch at a time (its memory bounded every BOUND_EVERY
    records); the other rows counted by kind, the first bad ones' JSON read for the
    reader's own message."""
    groups = evidence.tally.groups
    eligible: list[Record] = []
    # As `kpi` reads a JSONL line: with what the miss causes read (its time, model).
    python_decoders = decoders(descriptive=scope.descriptive, timed=True, lineage=True)
    others = _OtherRows(scope, reading)
    records = 0
    for (kind, moment, workflow, prompt_id, model, conversation, uncached, read, write,
         write_1h, response, request_id, when, line) in stream(conn, reading,
                                                                kpi_rows_query(scope),
                                                                scope.params()):
        if kind == RECORD:
            record = Record(FORMAT, time=moment, workflow=workflow, prompt_id=prompt_id,
                            model=model, uncached_input=uncached, cache_read=read,
                            cache_write=write, cache_write_1h=write_1h,
                            prompt_cache_hit=None if read is None else read > 0,
                            response_cache=response, session=conversation)
            key = (workflow, prompt_id)
            sums = groups.get(key)
            if sums is None:
                sums = groups[key] = [0] * SLOTS
            count(sums, record)
            if record.eligible:
                eligible.append(record)
            records += 1
            if records % BOUND_EVERY == 0:
                evidence.causes.add(eligible)
                eligible = []
                evidence.bound()  # it may have spilled: a fresh tally and causes
                groups = evidence.tally.groups
        elif kind == pg_rows.IRREGULAR:
            kept = read_irregular(line, request_id, when, python_decoders, reading, stats,
                                  selection)
            evidence.causes.add(eligible)  # those before it first: ledger order
            eligible = []
            evidence.add(kept)
            groups = evidence.tally.groups
        else:
            others.see(kind, request_id, when, line)
    evidence.causes.add(eligible)
    if records:
        stats.records += records
        stats.formats[FORMAT] += records
    others.count_into(stats)


class _OtherRows:
    """The rows of a single pass that are no request: counted by kind, the first bad
    ones sampled by request_id with the JSONL reader's own message."""

    def __init__(self, scope: Scope, reading: Reading) -> None:
        self.kinds: Counter[str] = Counter()
        self._message = why_bad(scope)
        self._reading = reading

    def see(self, kind: str, request_id: str | None, when: float | None, line: str) -> None:
        self.kinds[kind] += 1
        if kind == pg_rows.BAD and self.kinds[kind] <= BAD_LINE_SAMPLES:
            self._reading.samples.append(BadRow(
                0, f"request_id {request_id}: {self._message(line)}",
                request_id=request_id, moment=when))

    def count_into(self, stats: LedgerStats) -> None:
        stats.bad_count += self.kinds[pg_rows.BAD]
        stats.undated += self.kinds[pg_rows.UNDATED]
        stats.other_workflows += self.kinds[pg_rows.OTHER_WORKFLOW]


def read_analytics(url: str, selection: Selection,
                   make_sink: Callable[[], Analytics]) -> tuple[Analytics, LedgerStats]:
    """The report's breakdowns of the SpendLogs rows in `selection`, summed by PostgreSQL;
    the miss causes and the tuning, which need the requests one by one, read in order
    after them. Its memory stays bounded (`Analytics.bound`, every BOUND_EVERY rows)."""
    analytics = make_sink()
    analytics.hashes_recorded = False
    source = parse_source(url)
    reading = Reading(source)
    stats = LedgerStats(source.display)
    with session(reading) as conn:
        scope = scope_of(conn, reading, selection, descriptive=True)
        if analytics.causes is not None or analytics.tuning is not None:
            # They need every request in order anyway: one pass, the sums from it.
            _read_report_rows(conn, reading, scope, selection, stats, analytics)
            return analytics, finish(stats, reading)
        left_to_python = 0
        rows = fetch(conn, reading, report_query(scope), scope.params())
        for index, (kind, by_workflow_prompt, by_phase, by_model, by_day,
                    workflow, prompt_id, phase, model, day, *raw) in enumerate(rows, 1):
            if index % BOUND_EVERY == 0:
                analytics.bound()
            values = [as_int(value) for value in raw]
            sums, extra = values[:SLOTS], values[SLOTS:]
            if kind != pg_rows.RECORD:
                if by_workflow_prompt:
                    left_to_python += count_kinds(kind, sums, stats)
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
            bad_samples(conn, reading, scope, why_bad(scope))
        if left_to_python:
            analytics.add_breakdowns(python_rows(conn, reading, scope, stats, selection))
    return analytics, finish(stats, reading)


def report_rows_query(scope: Scope) -> sql.Composed:
    """Every row of the window, in the order of the table's JSONL export, with its
    kind, request_id and time: a record as the JSON its values make
    (`row_json(record=True)`), a bad row or one read in Python as its whole JSON."""
    as_json = sql.SQL("d.kind IN ({}, {})").format(sql.Literal(pg_rows.BAD),
                                                   sql.Literal(pg_rows.IRREGULAR))
    return sql.SQL("""
SELECT d.kind, d.request_id, extract(epoch FROM d.start_time)::float8,
    CASE WHEN d.kind = {record} THEN {record_json} WHEN {as_json} THEN {row_json} END
FROM ({rows}) AS d
ORDER BY d.start_time, d.request_id
""").format(as_json=as_json, record=sql.Literal(RECORD),
            record_json=row_json(scope, record=True), row_json=row_json(scope),
            rows=row_pipeline(scope))


def _read_report_rows(conn: psycopg.Connection[Any], reading: Reading, scope: Scope,
                      selection: Selection, stats: LedgerStats, analytics: Analytics) -> None:
    """`report`'s single pass (`report_rows_query`): each request read as the JSONL
    reader reads its line, into the sink in ledger order a batch at a time (its memory
    bounded by `Analytics.add`); the other rows counted by kind, the first bad ones'
    JSON read for the reader's own message. Reading `metadata` is most of any query's
    cost: a pass for the sums and one for the requests would read it twice."""
    reading_decoders = decoders(descriptive=True, timed=True)
    others = _OtherRows(scope, reading)
    batch: list[Record | None] = []

    def hand_on() -> None:
        analytics.add(keep(batch, selection, stats, None))
        batch.clear()

    for kind, request_id, when, line in stream(conn, reading, report_rows_query(scope),
                                               scope.params()):
        if kind == RECORD:
            try:
                batch.append(read_line(line.encode(), reading_decoders))
            except DECODE_ERRORS:  # never expected: read as a row the SQL left to Python
                kind = pg_rows.IRREGULAR
            else:
                if len(batch) == READ_BATCH:
                    hand_on()
                continue
        if kind == pg_rows.IRREGULAR:
            hand_on()  # those before it first: ledger order
            analytics.add(read_irregular(line, request_id, when, reading_decoders, reading,
                                         stats, selection))
        else:
            others.see(kind, request_id, when, line)
    hand_on()
    others.count_into(stats)

