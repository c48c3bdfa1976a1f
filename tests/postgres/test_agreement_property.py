"""Property: on any SpendLogs rows, however odd, PostgreSQL's sums, counts and bad rows
equal the JSONL reader's over the export of the same rows, for any window and
workflow selection."""

from __future__ import annotations

import json
import math
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from psycopg import sql

from cache_gate.ledger.reading import Selection
from cache_gate.ledger.window import Window
from tests.postgres.agreement import assert_agree
from tests.postgres.conftest import SpendLogs, new_spendlogs
from tests.postgres.server import Server
from tests.postgres.spendlogs import JSON_NULL, insert_rows

START = datetime(2026, 11, 20)
HOURS = 48

tokens = st.integers(0, 5000)
# Values msgspec rejects where a token count belongs, and three it accepts: a float
# large enough to print as digits in jsonb, an int beyond 64 bits, and JSON null.
odd_values: st.SearchStrategy[Any] = st.sampled_from(
    [1.0, 1.5, -1, 0.0, 1e20, 2**70, "12", True, None, [1], {}])


@st.composite
def token_fields(draw: st.DrawFn, names: list[str]) -> dict[str, Any]:
    fields: dict[str, Any] = draw(st.dictionaries(st.sampled_from(names), tokens,
                                                  max_size=len(names)))
    if fields and draw(st.integers(0, 15)) == 0:
        fields[draw(st.sampled_from(sorted(fields)))] = draw(odd_values)
    return fields


details = st.one_of(
    *[token_fields(["cached_tokens", "cache_creation_tokens", "text_tokens", "audio_tokens"])]
    * 12, st.sampled_from([None, 5, "x", []]))
creation = st.one_of(
    *[token_fields(["ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"])] * 12,
    st.sampled_from([None, 1, "x"]))


@st.composite
def usages(draw: st.DrawFn) -> Any:
    usage: dict[str, Any] = draw(token_fields([
        "cache_read_input_tokens", "cache_creation_input_tokens", "input_tokens",
        "output_tokens", "prompt_tokens", "completion_tokens"]))
    if draw(st.booleans()):
        usage["prompt_tokens_details"] = draw(details)
    if draw(st.booleans()):
        usage["cache_creation"] = draw(creation)
    if draw(st.integers(0, 5)) == 0:
        usage["input_tokens_details"] = draw(details)
    if draw(st.integers(0, 3)) == 0:
        usage["server_tool_use"] = {"web_search_requests": 1.5}  # not declared: ignored
    if draw(st.integers(0, 25)) == 0:
        return draw(st.sampled_from([None, [1], "u", 3]))
    return usage


@st.composite
def metadata(draw: st.DrawFn) -> Any:
    value: dict[str, Any] = {"user_api_key_alias": "ci"}
    if draw(st.integers(0, 4)) != 0:
        value["additional_usage_values"] = draw(usages())
    shape = draw(st.integers(0, 25))
    if shape == 0:
        return json.dumps(value)  # an older writer's JSON string
    if shape == 1:
        return draw(st.sampled_from([None, JSON_NULL, [1], 5, "{broken", "null", "[1]"]))
    return value


tag_words = st.sampled_from([
    "workflow:implementer", "workflow:reviewer", "workflow:", "skill:refine", "skill:",
    "phase:plan", "phase:", "prompt:p1", "prompt:p2", "team:x", "workflowless", "Workflow:caps",
    "workflow:é\"q"])


@st.composite
def request_tags(draw: st.DrawFn) -> Any:
    tags = draw(st.lists(tag_words, max_size=4))
    shape = draw(st.integers(0, 25))
    if shape == 0:
        return json.dumps(tags)
    if shape == 1:
        return draw(st.sampled_from([None, JSON_NULL, {"workflow": "x"}, 7, "[oops",
                                     ["workflow:reviewer", 1], [None]]))
    return tags


@st.composite
def rows(draw: st.DrawFn, index: int) -> dict[str, Any]:
    moment = START + timedelta(milliseconds=draw(st.integers(0, HOURS * 3600 * 1000)))
    start: Any = moment.isoformat(timespec="milliseconds")
    if draw(st.integers(0, 20)) == 0:
        start = draw(st.sampled_from([None, "infinity", "-infinity"]))
    row: dict[str, Any] = {
        # Rows tied on (startTime, request_id) are listed in no defined order: at most
        # one row without a request_id.
        "request_id": f"r{index:04d}" if index or draw(st.integers(0, 5)) else None,
        "call_type": "acompletion" if draw(st.integers(0, 30)) else None,
        "spend": draw(st.sampled_from([0.002] * 8 + [0.0, math.nan, math.inf, None])),
        # Mostly above any cache read drawn (else the row is bad), sometimes not.
        "prompt_tokens": draw(st.one_of(*[st.integers(5000, 12000)] * 6, tokens,
                                        st.sampled_from([None, -5]))),
        "completion_tokens": draw(st.sampled_from([30] * 8 + [0, None, -1])),
        "startTime": start,
        "endTime": None,
        "model": draw(st.sampled_from(["claude-sonnet-4-6", "claude-haiku-4-5", "", None])),
        "model_group": draw(st.sampled_from(["balanced", "", None])),
        "metadata": draw(metadata()),
        "cache_hit": draw(st.sampled_from(["True", "False", "False", " true ", "TRUE",
                                           "\u2003False", "yes", "", None])),
        "cache_key": draw(st.sampled_from(["k", "Cache OFF", "cache off", None])),
        "request_tags": draw(request_tags()),
    }
    return row


def edge(draw: st.DrawFn) -> float | None:
    hours = draw(st.one_of(st.none(), st.none(), st.integers(-1, HOURS + 1)))
    if hours is None:
        return None
    return (START + timedelta(hours=hours)).replace(tzinfo=UTC).timestamp()


@st.composite
def selections(draw: st.DrawFn) -> Selection:
    since, until = edge(draw), edge(draw)
    if since is not None and until is not None and since > until:
        since, until = until, since
    workflows = draw(st.one_of(st.none(), st.none(), st.frozensets(
        st.sampled_from(["implementer", "reviewer", "refine", "caps"]), max_size=2)))
    return Selection(Window(since, until), workflows)


@pytest.fixture(scope="module")
def loose(pg_server: Server, pg_admin: Any) -> SpendLogs:
    return new_spendlogs(pg_server, pg_admin, loose=True)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_rows_any_selection(loose: SpendLogs, data: st.DataObject) -> None:
    count = data.draw(st.integers(0, 40))
    drawn = [data.draw(rows(index)) for index in range(count)]
    loose.conn.execute(sql.SQL("TRUNCATE {}").format(loose.qualified))
    insert_rows(loose.conn, loose.qualified, drawn)
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(2):
            summary = assert_agree(loose, Path(tmp), data.draw(selections()))
            event(f"records: {min(summary['records'], 3)}+, bad rows: "
                  f"{min(summary['bad_count'], 3)}+, not requests: {summary['not_requests'] > 0}")
