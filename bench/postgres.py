"""Benchmark `cache-gate kpi` on a LiteLLM SpendLogs table in PostgreSQL.

    python bench/postgres.py                      # 1,000,000 rows over 30 days
    python bench/postgres.py --rows 200000 --repeat 5

Starts a throwaway PostgreSQL server (as `tests/postgres` does: initdb in a
temporary directory, a free loopback port), creates LiteLLM's SpendLogs table
with its indexes, fills it in SQL with LiteLLM-shaped rows (metadata of about
1.5 KB each, as a proxy writes it), VACUUM ANALYZE, then measures in the same run,
interleaved round after round (a neighbour's load slows all of them alike):

- `SELECT count(*)` over the window (an index-only scan), the floor of any query
  over it; and a count that reads each row's metadata once, the floor of any
  exact reading of the rows;
- the hand-written single-pass query (`HAND_ROWS`: `LATERAL jsonb_to_record`, the
  metadata decompressed once a row, the same semantics and bad-row rules), summing
  kpi's terms per (workflow, prompt): DESIGN.md's reference, "within 1.3x of one
  hand-written single-pass SQL query over the same rows";
- the same single pass streaming the eligible requests to the client in the
  table's export order, with what the miss causes read (time, model, session,
  tokens): kpi's fifth KPI needs them one by one, which no sum gives, so this is
  the floor of any exact `kpi`;
- `cache-gate kpi --ledger postgresql://...` wall time, start-up included, and the
  same read in-process (`read_evidence`: the sums and the miss causes, what the
  command does after start-up);
- `cache-gate report` wall time.

for a 1-day window, a 7-day window and the whole table. Each figure is the best of
--repeat rounds; the ratios of kpi to both floors are printed with whether they meet
the 1.3x target. The hand query's sums are checked against kpi's own figures.
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

sys.path.insert(0, str(Path(__file__).parent))
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from results import Row, save, verdicts  # noqa: E402  (bench/ holds scripts)

from cache_gate.analyses.kpi_evidence import KpiEvidence  # noqa: E402
from cache_gate.analyses.kpis import Tally  # noqa: E402
from cache_gate.analyses.miss_causes import MissCauses  # noqa: E402
from cache_gate.analyses.postgres_sums import read_evidence  # noqa: E402
from cache_gate.ledger.reading import Selection  # noqa: E402
from cache_gate.ledger.window import Window  # noqa: E402
from cache_gate.models import load_model_minimums  # noqa: E402
from cache_gate.prices import load_prices  # noqa: E402
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
        FROM generate_series(%(first)s::integer, %(last)s::integer) AS i
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


# The hand-written single-pass query: what an engineer who knows SpendLogs would write
# to compute kpi's sums, exactly (the same semantics and bad-row rules as cache-gate,
# `ledger/postgres/rows.py`), reading each row's metadata once: `jsonb_to_record`
# decompresses it once and hands on the one member it asks for; the usage object
# and the objects in it are small, in memory. (It assumes metadata is a JSON object,
# as LiteLLM writes it; cache-gate also reads the older writers' JSON strings.)
HAND_ROWS = """
SELECT s."startTime" AS start_time, s.request_id,
    t.workflow, v.prompt_id, v.model, s.session_id AS session, v.response,
    v.ok AND (t.reports IS NOT TRUE OR v.text_tokens IS NOT NULL OR t.rd <= s.prompt_tokens)
        AS ok,
    t.reports AND v.response IS DISTINCT FROM 'hit' AS eligible,
    CASE WHEN t.reports THEN t.rd END AS cache_read,
    CASE WHEN t.reports THEN t.wr END AS cache_write,
    v.write_1h,
    CASE WHEN NOT t.reports THEN NULL
         WHEN v.text_tokens IS NOT NULL THEN v.text_tokens
         WHEN t.rd + t.wr <= s.prompt_tokens THEN s.prompt_tokens - t.rd - t.wr
         WHEN t.rd <= s.prompt_tokens THEN s.prompt_tokens - t.rd
    END AS uncached
FROM {table} AS s
CROSS JOIN LATERAL jsonb_to_record(s.metadata) AS m(additional_usage_values jsonb)
CROSS JOIN LATERAL jsonb_to_record(CASE WHEN jsonb_typeof(m.additional_usage_values) = 'object'
                                        THEN m.additional_usage_values END)
    AS u(input_tokens jsonb, output_tokens jsonb, cache_read_input_tokens jsonb,
         cache_creation_input_tokens jsonb, cache_creation jsonb, prompt_tokens jsonb,
         completion_tokens jsonb, prompt_tokens_details jsonb, input_tokens_details jsonb)
CROSS JOIN LATERAL jsonb_to_record(CASE WHEN jsonb_typeof(u.prompt_tokens_details) = 'object'
                                        THEN u.prompt_tokens_details END)
    AS p(cached_tokens jsonb, cache_write_tokens jsonb, cache_creation_tokens jsonb,
         cache_creation_token_details jsonb, text_tokens jsonb)
CROSS JOIN LATERAL jsonb_to_record(CASE WHEN jsonb_typeof(u.input_tokens_details) = 'object'
                                        THEN u.input_tokens_details END)
    AS i(cached_tokens jsonb, cache_write_tokens jsonb, cache_creation_tokens jsonb,
         cache_creation_token_details jsonb, text_tokens jsonb)
-- Each value computed once a row: a function in FROM is neither inlined into the
-- expressions that use it (as a LATERAL subquery is) nor kept out of parallel workers
-- (as an OFFSET 0 one is).
CROSS JOIN LATERAL unnest(
    -- the tokens as formats._litellm_tokens reads them (a number, or none)
    ARRAY[coalesce(
        CASE WHEN jsonb_typeof(u.cache_read_input_tokens) = 'number'
             THEN u.cache_read_input_tokens::numeric END,
        CASE WHEN jsonb_typeof(p.cached_tokens) = 'number' THEN p.cached_tokens::numeric END)],
    ARRAY[coalesce(
        CASE WHEN jsonb_typeof(u.cache_creation_input_tokens) = 'number'
             THEN u.cache_creation_input_tokens::numeric END,
        CASE WHEN jsonb_typeof(p.cache_creation_tokens) = 'number'
             THEN p.cache_creation_tokens::numeric END)],
    ARRAY[CASE WHEN jsonb_typeof(p.text_tokens) = 'number' THEN p.text_tokens::numeric END],
    ARRAY[coalesce(
        CASE WHEN jsonb_typeof(u.cache_creation -> 'ephemeral_1h_input_tokens') = 'number'
             THEN (u.cache_creation -> 'ephemeral_1h_input_tokens')::numeric END,
        CASE WHEN jsonb_typeof(p.cache_creation_token_details
                               -> 'ephemeral_1h_input_tokens') = 'number'
             THEN (p.cache_creation_token_details -> 'ephemeral_1h_input_tokens')::numeric
        END)],
    -- the first tag of each prefix (an empty workflow: gives way to skill:)
    ARRAY[nullif(substr(jsonb_path_query_first(
        s.request_tags, 'strict $[*] ? (@ starts with "workflow:")') #>> '{{}}', 10), '')],
    ARRAY[substr(jsonb_path_query_first(
        s.request_tags, 'strict $[*] ? (@ starts with "skill:")') #>> '{{}}', 7)],
    ARRAY[substr(jsonb_path_query_first(
        s.request_tags, 'strict $[*] ? (@ starts with "prompt:")') #>> '{{}}', 8)],
    ARRAY[nullif(s.model, '')],
    ARRAY[CASE WHEN s.cache_key = 'Cache OFF' THEN NULL
               WHEN lower(btrim(s.cache_hit)) = 'true' THEN 'hit'
               WHEN coalesce(s.cache_key, '') <> '' THEN 'miss'
               WHEN lower(btrim(s.cache_hit)) = 'false' THEN 'miss' END],
    -- the row decodes: every token count msgspec reads an int of at most 15 digits,
    -- or null; every object it reads an object, or null
    ARRAY[s.prompt_tokens >= 0
        AND coalesce(jsonb_typeof(m.additional_usage_values) IN ('object', 'null'), true)
        AND jsonb_typeof(s.request_tags) = 'array'
        AND NOT jsonb_path_exists(s.request_tags, 'strict $[*] ? (@.type() != "string")')
        AND coalesce(jsonb_typeof(u.cache_creation) IN ('object', 'null'), true)
        AND coalesce(jsonb_typeof(u.prompt_tokens_details) IN ('object', 'null'), true)
        AND coalesce(jsonb_typeof(u.input_tokens_details) IN ('object', 'null'), true)
        AND coalesce(jsonb_typeof(p.cache_creation_token_details) IN ('object', 'null'), true)
        AND coalesce(jsonb_typeof(i.cache_creation_token_details) IN ('object', 'null'), true)
        AND concat_ws(',', u.input_tokens, u.output_tokens, u.cache_read_input_tokens,
                      u.cache_creation_input_tokens, u.prompt_tokens, u.completion_tokens,
                      u.cache_creation -> 'ephemeral_5m_input_tokens',
                      u.cache_creation -> 'ephemeral_1h_input_tokens',
                      p.cached_tokens, p.cache_write_tokens, p.cache_creation_tokens,
                      p.text_tokens,
                      p.cache_creation_token_details -> 'ephemeral_5m_input_tokens',
                      p.cache_creation_token_details -> 'ephemeral_1h_input_tokens',
                      i.cached_tokens, i.cache_write_tokens, i.cache_creation_tokens,
                      i.text_tokens,
                      i.cache_creation_token_details -> 'ephemeral_5m_input_tokens',
                      i.cache_creation_token_details -> 'ephemeral_1h_input_tokens')
            ~ '^(([0-9]{{1,15}}|null)(,|$))*$'])
    AS v(read_given, write_given, text_tokens, write_1h, workflow_tag, skill_tag, prompt_id,
         model, response, ok)
CROSS JOIN LATERAL unnest(
    ARRAY[coalesce(v.workflow_tag, v.skill_tag)],
    ARRAY[v.read_given IS NOT NULL OR v.write_given IS NOT NULL],
    ARRAY[coalesce(v.read_given, 0)], ARRAY[coalesce(v.write_given, 0)])
    AS t(workflow, reports, rd, wr)
WHERE s."startTime" >= %(since)s AND s."startTime" <= %(until)s
"""

# kpi's sums (kpis.count), per (workflow, prompt_id), and the bad rows.
HAND_SUMS = """
SELECT r.workflow, r.prompt_id,
    count(*) FILTER (WHERE r.ok) AS requests,
    count(*) FILTER (WHERE r.ok AND r.eligible) AS eligible,
    count(*) FILTER (WHERE r.ok AND r.eligible AND r.cache_read > 0) AS prompt_hits,
    count(*) FILTER (WHERE r.ok AND r.eligible AND r.uncached IS NOT NULL) AS token_requests,
    sum(r.cache_read) FILTER (WHERE r.ok AND r.eligible AND r.uncached IS NOT NULL)
        AS cache_read,
    sum(r.uncached + r.cache_read + r.cache_write)
        FILTER (WHERE r.ok AND r.eligible AND r.uncached IS NOT NULL) AS input_total,
    count(*) FILTER (WHERE r.ok AND r.response IS NOT NULL) AS response_lookups,
    count(*) FILTER (WHERE r.ok AND r.response = 'hit') AS response_hits,
    count(*) FILTER (WHERE NOT r.ok) AS bad
FROM ({rows}) AS r
GROUP BY r.workflow, r.prompt_id
"""

# What the miss causes need besides the sums: the eligible requests in the order of
# the table's export, with their time, model, session and tokens.
HAND_STREAM = """
SELECT extract(epoch FROM r.start_time)::float8, r.workflow, r.prompt_id, r.model,
    r.session, r.uncached::int8, r.cache_read::int8, r.cache_write::int8,
    r.write_1h::int8, r.response
FROM ({rows}) AS r
WHERE r.ok AND r.eligible
ORDER BY r.start_time, r.request_id
"""


def hand(query: str) -> sql.Composed:
    return sql.SQL(query).format(rows=sql.SQL(HAND_ROWS).format(table=sql.Identifier(TABLE)))


def hand_sums(url: str, bounds: dict[str, datetime]) -> list[int]:
    """The hand-written single-pass query: kpi's sums, summed over its groups."""
    with psycopg.connect(url) as conn:
        conn.execute("SET jit = off")  # as cache-gate's session sets it
        rows = conn.execute(hand(HAND_SUMS), bounds).fetchall()
    return [sum(int(row[column] or 0) for row in rows) for column in range(2, 11)]


def hand_stream(url: str, bounds: dict[str, datetime]) -> int:
    """The same single pass streaming the eligible requests to the client, in order."""
    with psycopg.connect(url) as conn:
        conn.execute("SET jit = off")
        streamed = 0
        for _ in conn.cursor().stream(hand(HAND_STREAM), bounds, size=2000):
            streamed += 1
    return streamed


def best(times: list[float]) -> float:
    return min(times)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = action()
    return time.perf_counter() - began, result


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


def in_process(url: str, window: Window) -> tuple[Tally, MissCauses]:
    """What `kpi` does after start-up: the sums and the miss causes."""
    evidence = KpiEvidence(Tally(), MissCauses(load_prices(), load_model_minimums()))
    read_evidence(url, Selection(window), evidence)
    tally, causes = evidence.answers()
    causes.to_json()
    return tally, causes


TARGET = 1.3


def verdict(ratio: float) -> str:
    return "met" if ratio <= TARGET else "MISSED"


def measure(url: str, label: str, days: int | None, repeat: int) -> dict[str, float]:
    end = START + timedelta(days=DAYS)
    since = end - timedelta(days=days) if days else None
    bounds = {"since": since or datetime(1, 1, 1), "until": end}
    window = Window(since.replace(tzinfo=UTC).timestamp() if since else None,
                    end.replace(tzinfo=UTC).timestamp())
    runs: dict[str, Callable[[], Any]] = {
        "count": lambda: count_rows(url, since, end),
        # Every row's metadata read once (decompressed): what any exact reading must pay.
        "read_once": lambda: count_rows(url, since, end,
                                        "metadata -> 'additional_usage_values'"),
        "hand": lambda: hand_sums(url, bounds),
        "hand_stream": lambda: hand_stream(url, bounds),
        "kpi": lambda: cache_gate("kpi", url, end, days),
        "in_process": lambda: in_process(url, window),
        "report": lambda: cache_gate("report", url, end, days),
    }
    # Interleaved, round after round: a neighbour's load slows all of them alike.
    times: dict[str, list[float]] = {name: [] for name in runs}
    results: dict[str, Any] = {}
    for _ in range(repeat):
        for name, action in runs.items():
            elapsed, results[name] = timed(action)
            times[name].append(elapsed)
    fastest = {name: best(values) for name, values in times.items()}
    rows, document = results["count"], results["kpi"]
    assert document["ledger"]["records"] == rows
    # The hand-written query computes what kpi computes.
    kpis_of = document["kpis"]
    requests, eligible, hits, _, read, total, lookups, useful, bad = results["hand"]
    assert (hits, eligible) == (kpis_of["prompt_cache_hit_rate"]["numerator"],
                                kpis_of["prompt_cache_hit_rate"]["denominator"]), results["hand"]
    assert (read, total) == (kpis_of["cached_token_ratio"]["numerator"],
                             kpis_of["cached_token_ratio"]["denominator"]), results["hand"]
    assert (useful, lookups) == (kpis_of["response_cache_useful_hit_rate"]["numerator"],
                                 kpis_of["response_cache_useful_hit_rate"]["denominator"])
    assert (requests, bad) == (rows, document["ledger"]["bad_lines"])
    assert results["hand_stream"] == eligible
    source = document["ledger"]["source"]
    print(f"{label:>11}: {rows:>9,} requests | count(*) {fastest['count']:6.3f} s | metadata "
          f"read once {fastest['read_once']:6.3f} s | hand query {fastest['hand']:6.3f} s | "
          f"hand query streaming the eligible rows {fastest['hand_stream']:6.3f} s | kpi "
          f"{fastest['kpi']:6.3f} s (in-process {fastest['in_process']:6.3f} s) | report "
          f"{fastest['report']:6.3f} s | queries {source['queries']}, rows to the client "
          f"{source['rows_fetched']} fetched, {source['rows_streamed']:,} streamed")
    for floor, name in (("hand", "hand query"),
                        ("hand_stream", "hand query streaming the eligible rows")):
        command, process = fastest["kpi"] / fastest[floor], fastest["in_process"] / fastest[floor]
        print(f"{'':>11}  vs the {name}: kpi {command:4.2f}x ({verdict(command)}), "
              f"in-process {process:4.2f}x ({verdict(process)}) [target {TARGET}x]")
    return fastest


def rows_of(label: str, fastest: dict[str, float]) -> list[Row]:
    """A window's figures as bench/results rows: the hand query is the floor."""
    return [Row(f"{label}: hand query", fastest["hand"], "s"),
            Row(f"{label}: hand query streaming the eligible rows", fastest["hand_stream"], "s"),
            Row(f"{label}: kpi", fastest["kpi"], "s"),
            Row(f"{label}: kpi / hand query", fastest["kpi"] / fastest["hand"], "x", TARGET),
            Row(f"{label}: kpi in-process / hand query",
                fastest["in_process"] / fastest["hand"], "x", TARGET),
            Row(f"{label}: kpi / hand query streaming",
                fastest["kpi"] / fastest["hand_stream"], "x"),
            Row(f"{label}: report", fastest["report"], "s")]


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
        print(f"start-up: cache-gate --version {startup():.3f} s")
        rows: list[Row] = []
        for label, days in (("1 day", 1), ("7 days", 7), ("whole table", None)):
            rows += rows_of(label, measure(url, label, days, args.repeat))
    print(verdicts(rows))
    save("postgres", f"python bench/postgres.py --rows {args.rows} --repeat {args.repeat}",
         rows, documented=args.rows == 1_000_000)
    return 0


def startup() -> float:
    return best([timed(lambda: subprocess.run(
        [sys.executable, "-m", "cache_gate", "--version"], capture_output=True, check=True))[0]
        for _ in range(5)])


if __name__ == "__main__":
    sys.exit(main())
