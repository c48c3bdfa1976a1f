"""A gate over many rows moves aggregated rows to the client, not the requests."""

from __future__ import annotations

from pathlib import Path

from psycopg import sql

from cache_gate.analyses.breakdowns import Analytics
from cache_gate.analyses.postgres_sums import read_analytics, read_tally
from cache_gate.ledger.reading import Selection
from tests.postgres.agreement import assert_agree
from tests.postgres.conftest import SpendLogs

ROWS = 20_000

FILL = """
INSERT INTO {table} (request_id, call_type, "startTime", "endTime", prompt_tokens,
                     completion_tokens, model, metadata, cache_hit, cache_key, request_tags)
SELECT 'r' || i, 'acompletion', '2026-11-01'::timestamp + i * interval '13 seconds',
       '2026-11-01'::timestamp + i * interval '13 seconds', 5000 + i %% 700, 40,
       (ARRAY['claude-sonnet-4-6', 'claude-haiku-4-5'])[1 + i %% 2],
       jsonb_build_object('user_api_key_alias', 'ci', 'additional_usage_values',
           jsonb_build_object('cache_read_input_tokens', (i %% 3) * 2000,
                              'cache_creation_input_tokens', (i %% 4) * 100)),
       CASE WHEN i %% 11 = 0 THEN 'True' ELSE 'False' END, 'key-' || i,
       jsonb_build_array('workflow:' || (ARRAY['implementer', 'reviewer', 'triage'])[1 + i %% 3],
                         'prompt:p' || i %% 4, 'phase:' || i %% 2)
FROM generate_series(1, %(rows)s) AS i
"""


def test_twenty_thousand_rows_come_back_as_a_few_dozen(spendlogs: SpendLogs,
                                                       tmp_path: Path) -> None:
    spendlogs.conn.execute(sql.SQL(FILL).format(table=spendlogs.qualified),
                           {"rows": ROWS})
    tally, stats = read_tally(spendlogs.url(), Selection())
    assert stats.records == ROWS
    assert len(tally.groups) == 12
    assert stats.source is not None
    # The catalog's columns (12 read, and the session's), then one row per
    # (workflow, prompt_id) group.
    assert stats.source["rows_fetched"] == len(tally.groups) + 13
    assert stats.source["queries"] == 2
    analytics, report_stats = read_analytics(spendlogs.url(), Selection(), Analytics)
    assert report_stats.source is not None
    rows_fetched = report_stats.source["rows_fetched"]
    assert isinstance(rows_fetched, int) and rows_fetched < 80
    assert sum(sums[0] for sums in analytics.by_day.values()) == ROWS
    assert_agree(spendlogs, tmp_path)
