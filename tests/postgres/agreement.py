"""Run both back ends, the JSONL reader and the PostgreSQL reader, over the same rows.

The JSONL side reads the export of the table (`to_jsonb` of every row, in time
order); the PostgreSQL side reads the table. Everything a gate or a report uses
must come out the same: the Tally's groups, the four KPIs, the reader's counts,
the bad rows with the reader's own message for each, and the report's breakdowns.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from psycopg import sql

from cache_gate.analyses import kpis
from cache_gate.analyses.breakdowns import Analytics
from cache_gate.analyses.cause_findings import example
from cache_gate.analyses.kpi_evidence import KpiEvidence
from cache_gate.analyses.kpis import Tally
from cache_gate.analyses.miss_causes import MissCauses
from cache_gate.analyses.postgres_sums import read_analytics, read_evidence, read_tally
from cache_gate.analyses.tuning import Tuning
from cache_gate.config import DEFAULT_TARGETS
from cache_gate.ledger.jsonl.reader import scan
from cache_gate.ledger.reading import LedgerStats, Selection
from cache_gate.models import load_model_minimums
from cache_gate.prices import load_prices
from tests.postgres.conftest import SpendLogs
from tests.postgres.spendlogs import export_jsonl

Summary = dict[str, Any]


def counts(stats: LedgerStats) -> Summary:
    return {"records": stats.records, "formats": dict(stats.formats), "undated": stats.undated,
            "other_workflows": stats.other_workflows}


def bad_rows(stats: LedgerStats) -> Summary:
    """What a reader counts before it looks at a record's time: the bad lines (with the
    listed errors, without where they were: line or request) and the lines that are
    not requests."""
    errors = [bad.error.split(": ", 1)[1] if bad.error.startswith("request_id ") else bad.error
              for bad in stats.bad]
    return {"bad_count": stats.bad_count, "errors": errors, "not_requests": stats.not_requests}


def kpi_values(tally: Tally) -> Summary:
    whole = tally.total()
    return {name: kpis.evaluate(name, whole, DEFAULT_TARGETS[name], min_requests=1)
            for name in kpis.KPI_SLOTS}


def breakdowns(analytics: Analytics) -> Summary:
    return {"groups": analytics.tally.groups, "phase": analytics.by_phase,
            "model": analytics.by_model, "day": analytics.by_day,
            "cache_tokens": {model: asdict(tokens)
                             for model, tokens in analytics.cache_tokens.items()}}


def new_causes() -> MissCauses:
    return MissCauses(load_prices(), load_model_minimums())


def report_sink() -> Analytics:
    """`report`'s sink, with the miss causes and the tuning it reads in order."""
    return Analytics(causes=new_causes(), tuning=Tuning(load_prices()))


def causes_summary(causes: MissCauses) -> Summary:
    """Everything `kpi` and `report` show of the miss causes."""
    return {"json": causes.to_json(), "eligible": causes.eligible,
            "avoidable": dict(causes.avoidable_by_group),
            "worst": causes.worst_lineage(),
            "examples": {cause: example(record) for cause, record in causes.examples.items()}}


def _window_rows(selection: Selection) -> tuple[sql.Composable, dict[str, Any]]:
    """The rows PostgreSQL reads for a window: in it (by the JSONL reader's own float
    comparison of epochs), or undated."""
    window = selection.window
    if not window.bounded:
        return sql.SQL("true"), {}
    moment = sql.SQL('extract(epoch FROM s."startTime")::float8')
    conditions = []
    if window.since is not None:
        conditions.append(sql.SQL("{} >= %(since)s").format(moment))
    if window.until is not None:
        conditions.append(sql.SQL("{} <= %(until)s").format(moment))
    # Rows with no time, or one the JSONL reader cannot read (infinity, year 10000),
    # are undated: the table is read for them too.
    return (sql.SQL('({}) OR s."startTime" IS NULL OR s."startTime" < \'0001-01-01\' '
                    'OR s."startTime" >= \'10000-01-01\'').format(
                        sql.SQL(" AND ").join(conditions)),
            {"since": window.since, "until": window.until})


EVERYTHING = Selection()


def assert_agree(spendlogs: SpendLogs, tmp_path: Path, selection: Selection = EVERYTHING, *,
                 report: bool = True) -> Summary:
    """Both back ends over the same rows; the JSONL side's summary."""
    conn, table = spendlogs.conn, spendlogs.qualified
    everything = export_jsonl(conn, table, tmp_path / "export.jsonl")
    where, params = _window_rows(selection)
    in_window = export_jsonl(conn, table, tmp_path / "window.jsonl", where, params)

    expected_tally, expected_stats = scan(str(everything), selection, Tally, jobs=1)
    assert isinstance(expected_tally, Tally)
    tally, stats = read_tally(spendlogs.url(), selection)
    assert tally.groups == expected_tally.groups, (tally.groups, expected_tally.groups)
    assert kpi_values(tally) == kpi_values(expected_tally)
    assert counts(stats) == counts(expected_stats), (counts(stats), counts(expected_stats))
    # A table is read through its window: its bad rows are those of the window.
    # (A JSONL reader sees every line, and a line it cannot read has no time.)
    _, window_stats = scan(str(in_window), selection, Tally, jobs=1)
    assert bad_rows(stats) == bad_rows(window_stats), (bad_rows(stats), bad_rows(window_stats))

    # `kpi`'s single pass: the same sums from Records made of each row, and the miss
    # causes of the eligible requests in the export's order.
    expected_evidence, _ = scan(str(everything), selection,
                                lambda: KpiEvidence(Tally(), new_causes()), jobs=1)
    assert isinstance(expected_evidence, KpiEvidence)
    evidence = KpiEvidence(Tally(), new_causes())
    kpi_stats = read_evidence(spendlogs.url(), selection, evidence)
    kpi_tally, causes = evidence.answers()
    assert kpi_tally.groups == expected_tally.groups, (kpi_tally.groups, expected_tally.groups)
    assert counts(kpi_stats) == counts(expected_stats), (counts(kpi_stats), counts(expected_stats))
    assert bad_rows(kpi_stats) == bad_rows(window_stats)
    ours, theirs = causes_summary(causes), causes_summary(expected_evidence.causes)
    assert ours == theirs, [(k, ours[k], theirs[k]) for k in ours if ours[k] != theirs[k]]

    if report:
        expected_sink, expected_report_stats = scan(str(everything), selection, report_sink,
                                                    descriptive=True, jobs=1)
        assert isinstance(expected_sink, Analytics)
        analytics, report_stats = read_analytics(spendlogs.url(), selection, report_sink)
        assert breakdowns(analytics) == breakdowns(expected_sink)
        # What report reads in order, from the requests themselves (`read_in_order`).
        assert analytics.causes is not None and expected_sink.causes is not None
        assert causes_summary(analytics.causes) == causes_summary(expected_sink.causes)
        assert analytics.tuning is not None and expected_sink.tuning is not None
        ours, theirs = analytics.tuning.to_json(), expected_sink.tuning.to_json()
        assert ours == theirs, [(k, ours[k], theirs[k]) for k in ours if ours[k] != theirs[k]]
        assert counts(report_stats) == counts(expected_report_stats)
        _, window_report_stats = scan(str(in_window), selection, Analytics, descriptive=True,
                                      jobs=1)
        assert bad_rows(report_stats) == bad_rows(window_report_stats)
    return {**counts(expected_stats), **bad_rows(window_stats),
            "groups": expected_tally.groups}
