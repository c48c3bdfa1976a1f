"""Benchmark `cache-gate kpi` on a LiteLLM SpendLogs table in PostgreSQL.

    python bench/postgres.py                      # 1,000,000 rows over 30 days
    python bench/postgres.py --rows 200000 --repeat 5

Starts a throwaway PostgreSQL server (as `tests/postgres` does: initdb in a
temporary directory, a free loopback port), creates LiteLLM's SpendLogs table
with its indexes, fills it in SQL with LiteLLM-shaped rows (metadata of about
1.5 KB each, as a proxy writes it), VACUUM ANALYZE, then measures in the same run:

- `SELECT count(*)` over the window (an index-only scan), the floor of any query
  over it; and a count that reads each row's metadata once, the floor of any
  exact reading of the rows;
- `cache-gate kpi --ledger postgresql://...` wall time, start-up included;
- the same read in-process (`read_tally`), and the rows it moved to the client;
- `cache-gate report` wall time.

for a 7-day window, a 1-day window and the whole table. Each figure is the best
of --repeat runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from cache_gate.ledger.jsonl.reader import Selection  # noqa: E402
from cache_gate.ledger.postgres.source import read_tally  # noqa: E402
from cache_gate.ledger.window import Window  # noqa: E402
from tests.postgres.server import find_bin_dir, running_server  # noqa: E402
from tests.postgres.spendlogs import TABLE, create_table  # noqa: E402

START = datetime(2026, 1, 1)
DAYS = 30

# One row per i: tokens, cache use and tags drawn from hashes of i, so that every run
# generates the same table. Roughly: 70% prompt-cache reads, 10% response-cache hits,
# 5% rows with the response cache off, a third of the rows reporting text_tokens.
FILL = """
INSERT INTO {table} (
    request_id, call_type, api_key, spend, total_tokens, prompt_tokens, completion_tokens,
    "startTime", "endTime", model, model_id, model_group, custom_llm_provider, api_base,
    "user", metadata, cache_hit, cache_key, request_tags, team_id, status)
SELECT
    'chatcmpl-' || md5(i::text), 'acompletion', md5('key' || (i %% 20)::text),
    round((prompt * 3e-6 + completion * 15e-6)::numeric, 6)::float8,
    prompt + completion, prompt, completion,
    %(start)s::timestamp + make_interval(secs => i * %(step)s),
    %(start)s::timestamp + make_interval(secs => i * %(step)s + 2),
    model, md5(model), split_part(model, '-', 2), 'anthropic', 'https://api.anthropic.com',
    'user-' || (i %% 50)::text,
    jsonb_build_object(
        'user_api_key', md5('key' || (i %% 20)::text),
        'user_api_key_alias', 'ci-' || (i %% 20)::text,
        'user_api_key_team_id', 'team-' || (i %% 4)::text,
        'user_api_key_user_id', 'user-' || (i %% 50)::text,
        'user_api_key_team_alias', 'platform',
        'spend_logs_metadata', NULL,
        'requester_ip_address', '10.0.' || (i %% 7)::text || '.' || (i %% 250)::text,
        'applied_guardrails', '[]'::jsonb,
        'mcp_tool_call_metadata', NULL,
        'usage_object', jsonb_build_object(
            'prompt_tokens', prompt, 'completion_tokens', completion,
            'total_tokens', prompt + completion,
            'cache_read_input_tokens', cache_read, 'cache_creation_input_tokens', cache_write),
        'model_map_information', jsonb_build_object(
            'model_map_key', model,
            'model_map_value', jsonb_build_object(
                'key', model, 'max_tokens', 64000, 'max_input_tokens', 200000,
                'max_output_tokens', 64000, 'input_cost_per_token', 3e-6,
                'output_cost_per_token', 15e-6, 'cache_creation_input_token_cost', 3.75e-6,
                'cache_read_input_token_cost', 3e-7, 'litellm_provider', 'anthropic',
                'mode', 'chat', 'supports_function_calling', true,
                'supports_vision', true, 'supports_prompt_caching', true,
                'supports_response_schema', true, 'supports_tool_choice', true,
                'supports_assistant_prefill', true, 'supports_pdf_input', true,
                'supports_computer_use', true, 'supports_reasoning', true,
                'tool_use_system_prompt_tokens', 159,
                'search_context_cost_per_query', jsonb_build_object(
                    'search_context_size_low', 0.01, 'search_context_size_medium', 0.01,
                    'search_context_size_high', 0.01))),
        'additional_usage_values', jsonb_build_object(
            'completion_tokens_details', NULL,
            'prompt_tokens_details', jsonb_build_object(
                'audio_tokens', NULL, 'cached_tokens', cache_read,
                'text_tokens', CASE WHEN i %% 3 = 0 THEN prompt - cache_read - cache_write END,
                'image_tokens', NULL),
            'cache_creation_input_tokens', cache_write,
            'cache_read_input_tokens', cache_read,
            'server_tool_use', NULL,
            'cache_creation', jsonb_build_object(
                'ephemeral_5m_input_tokens', cache_write, 'ephemeral_1h_input_tokens', 0)),
        'status', 'success',
        'hidden_params', jsonb_build_object(
            'model_id', md5(model), 'cache_key', NULL, 'api_base', 'https://api.anthropic.com',
            'response_cost', 0.01, 'litellm_overhead_time_ms', 12.5,
            'additional_headers', jsonb_build_object(
                'llm_provider-anthropic-ratelimit-requests-limit', '4000',
                'llm_provider-anthropic-ratelimit-tokens-remaining', '398000',
                'llm_provider-request-id', 'req_' || md5(i::text)))),
    CASE WHEN i %% 10 = 7 THEN 'True' ELSE 'False' END,
    CASE WHEN i %% 20 = 3 THEN 'Cache OFF' ELSE md5(i::text || 'k') END,
    jsonb_build_array('team:platform', 'workflow:' || workflow, 'phase:' || phase,
                      'prompt:' || workflow || '-' || (i %% 3)::text),
    'team-' || (i %% 4)::text, 'success'
FROM (
    SELECT i, workflow, phase, model, prompt, completion,
           CASE WHEN hit THEN prompt * 8 / 10 ELSE 0 END AS cache_read,
           CASE WHEN hit THEN 0 ELSE prompt / 2 END AS cache_write
    FROM (
        SELECT i,
               (ARRAY['implementer', 'reviewer', 'refinement', 'validation', 'triage'])
                   [1 + i %% 5] AS workflow,
               (ARRAY['plan', 'implement', 'review', 'fix'])[1 + (i / 5) %% 4] AS phase,
               (ARRAY['claude-sonnet-4-6', 'claude-haiku-4-5', 'claude-opus-4-6'])
                   [1 + (i / 7) %% 3] AS model,
               2000 + abs(hashint4(i)) %% 38000 AS prompt,
               100 + abs(hashint4(i + 1)) %% 3900 AS completion,
               abs(hashint4(i + 2)) %% 10 < 7 AS hit
        FROM generate_series(%(first)s, %(last)s) AS i
    ) AS drawn
) AS rows
"""


def fill(conn: psycopg.Connection[Any], rows: int, batch: int = 100_000) -> None:
    step = DAYS * 86400 / rows
    for first in range(0, rows, batch):
        conn.execute(sql.SQL(FILL).format(table=sql.Identifier(TABLE)),
                     {"start": START, "step": step, "first": first,
                      "last": min(first + batch, rows) - 1})
        conn.commit()


def best(action: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The shortest of `repeat` runs, and the last run's result."""
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - began)
    return min(times), result


def count_rows(url: str, since: datetime | None, until: datetime, what: str = "*") -> int:
    """`SELECT count(*)` over the window: the index-only floor of any query over it.
    With `what`, a count that must read something of every row."""
    query = sql.SQL('SELECT count({}) FROM {} WHERE "startTime" >= %s AND "startTime" <= %s'
                    ).format(sql.SQL(what), sql.Identifier(TABLE))
    with psycopg.connect(url) as conn:
        row = conn.execute(query, (since or datetime(1, 1, 1), until)).fetchone()
    assert row is not None
    return int(row[0])


def cache_gate(command: str, url: str, now: datetime, days: int | None) -> dict[str, Any]:
    window = ["--days", str(days)] if days else []
    completed = subprocess.run(
        [sys.executable, "-m", "cache_gate", command, "--ledger", url, "--now",
         now.isoformat() + "Z", "--format", "json", "--exit-zero", *window],
        capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def measure(url: str, label: str, days: int | None, repeat: int) -> None:
    end = START + timedelta(days=DAYS)
    since = end - timedelta(days=days) if days else None
    counted, rows = best(lambda: count_rows(url, since, end), repeat)
    # Every row's metadata read once (decompressed): what any exact reading must pay.
    read_once, _ = best(lambda: count_rows(url, since, end,
                                           "metadata -> 'additional_usage_values'"), repeat)
    kpi, document = best(lambda: cache_gate("kpi", url, end, days), repeat)
    report, _ = best(lambda: cache_gate("report", url, end, days), repeat)
    window = Window(since.replace(tzinfo=UTC).timestamp() if since else None,
                    end.replace(tzinfo=UTC).timestamp())
    in_process, _ = best(lambda: read_tally(url, Selection(window)), repeat)
    assert document["ledger"]["records"] == rows
    print(f"{label:>11}: {rows:>9,} requests | count(*) {counted:6.3f} s | metadata read "
          f"once {read_once:6.3f} s | kpi {kpi:6.3f} s ({kpi / counted:3.0f}x count(*), "
          f"{kpi / read_once:4.1f}x one read) | read_tally {in_process:6.3f} s | report "
          f"{report:6.3f} s | rows to the client {document['ledger']['source']['rows_fetched']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bin_dir = find_bin_dir()
    if bin_dir is None:
        print("no PostgreSQL server binaries (initdb) found", file=sys.stderr)
        return 2
    with running_server(bin_dir) as server:
        url = server.url()
        with psycopg.connect(url) as conn:
            create_table(conn)
            conn.commit()
            began = time.perf_counter()
            fill(conn, args.rows)
            filled = time.perf_counter() - began
            conn.autocommit = True
            conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(TABLE)))
            size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size(%s))",
                                (f'"{TABLE}"',)).fetchone()
        print(f"{args.rows:,} SpendLogs rows over {DAYS} days, table and indexes "
              f"{size[0] if size else '?'} (filled in {filled:.0f} s); best of {args.repeat}; "
              f"PostgreSQL {server.bin_dir.parent.name}, {os.cpu_count()} cores")
        for label, days in (("7 days", 7), ("1 day", 1), ("whole table", None)):
            measure(url, label, days, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
