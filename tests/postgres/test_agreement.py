"""One definition of each KPI, two back ends: PostgreSQL's sums equal the JSONL
reader's over the export of the very same rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cache_gate.analyses import breakdowns, kpi_evidence, postgres_sums
from cache_gate.config import DEFAULT_TARGETS, Settings
from cache_gate.gates.kpi import LedgerOptions, run_kpi
from cache_gate.gates.report import run_report
from cache_gate.ledger.reading import Selection
from cache_gate.ledger.window import Window
from cache_gate.reporters import RenderContext, get
from tests.ledgers import litellm
from tests.postgres.agreement import assert_agree
from tests.postgres.conftest import SpendLogs
from tests.postgres.spendlogs import JSON_NULL, insert_rows

START = datetime(2026, 11, 18)
WORKFLOWS = ("implementer", "reviewer", "refinement")


def team_rows(count: int = 240) -> list[dict[str, Any]]:
    """A few days of a team's LiteLLM traffic, with every shape LiteLLM writes."""
    rows = []
    for index in range(count):
        workflow = WORKFLOWS[index % 3]
        tags = [f"workflow:{workflow}", f"phase:p{index % 4}", f"prompt:{workflow}-{index % 2}",
                "team:platform"]
        if index % 11 == 0:
            tags = [f"skill:{workflow}"]  # the older spelling
        if index % 17 == 0:
            tags = []
        hit = index % 5 != 0
        row = litellm(
            prompt_tokens=4000 + index, read=3000 if hit else 0, write=0 if hit else 3500,
            # "None" is LiteLLM's non-streaming miss, "False" its streaming one.
            cache_hit="True" if index % 9 == 0 else ("None" if index % 4 == 0 else "False"),
            cache_key="Cache OFF" if index % 13 == 0 else f"key-{index}", tags=tags,
            request_id=f"chatcmpl-{index:05d}",
            startTime=(START + timedelta(minutes=17 * index)).isoformat(timespec="milliseconds"),
            model=("claude-sonnet-4-6", "claude-haiku-4-5", "")[index % 3],
        )
        extra = row["metadata"]["additional_usage_values"]
        if index % 7 == 0:
            # OpenAI's names, as LiteLLM copies them for other providers.
            row["metadata"]["additional_usage_values"] = {"prompt_tokens_details": {
                "cached_tokens": extra.get("cache_read_input_tokens", 0), "text_tokens": None}}
        elif index % 3 == 1:
            extra["prompt_tokens_details"] = {"cached_tokens": 3000, "text_tokens": 1000 + index,
                                              "cache_creation_tokens": 0}
            split = {"ephemeral_5m_input_tokens": extra["cache_creation_input_tokens"],
                     "ephemeral_1h_input_tokens": index % 2 * 100}
            if index % 4 == 1:
                extra["cache_creation"] = split
            else:  # where LiteLLM puts the TTL split today
                extra["prompt_tokens_details"]["cache_creation_token_details"] = split
        if index % 19 == 0:
            row["metadata"] = {"user_api_key_alias": "ci"}  # no cache usage reported
        if index % 23 == 0:
            # An older release: writes not counted in prompt_tokens.
            row["prompt_tokens"] = (3000 if hit else 0) + 10
        if index % 29 == 0:
            row["metadata"] = json.dumps(row["metadata"])  # an older writer's JSON string
        rows.append(row)
    return rows


def bad_rows() -> list[dict[str, Any]]:
    """Rows the JSONL reader rejects, each for another reason."""
    moment = (START + timedelta(hours=5, seconds=1)).isoformat()

    def row(name: str, **fields: Any) -> dict[str, Any]:
        return litellm(request_id=f"bad-{name}", startTime=moment, **fields)

    reads_beyond = row("read-beyond-prompt", prompt_tokens=100, read=900, write=0)
    fraction = row("fraction")
    fraction["metadata"]["additional_usage_values"]["cache_read_input_tokens"] = 1.5
    as_text = row("token-as-text")
    as_text["metadata"]["additional_usage_values"]["input_tokens"] = "12"
    float_int = row("integral-float")
    float_int["metadata"]["additional_usage_values"]["prompt_tokens_details"] = {
        "cached_tokens": 2.0}
    negative = row("negative")
    negative["metadata"]["additional_usage_values"]["cache_creation"] = {
        "ephemeral_1h_input_tokens": -1}
    return [
        reads_beyond, fraction, as_text, float_int, negative,
        row("metadata-array", metadata=[1, 2]),
        row("tags-object", tags=None, request_tags={"workflow": "x"}),
        row("tags-number", tags=[1, "workflow:x"]),
        row("metadata-bad-string", metadata="{not json"),
        row("negative-prompt", prompt_tokens=-5),
        row("usage-list", metadata={"additional_usage_values": [1]}),
    ]


@pytest.fixture
def team(spendlogs: SpendLogs) -> SpendLogs:
    insert_rows(spendlogs.conn, spendlogs.qualified, team_rows())
    insert_rows(spendlogs.conn, spendlogs.qualified, bad_rows())
    return spendlogs


def epoch(moment: datetime) -> float:
    return moment.replace(tzinfo=UTC).timestamp()


SELECTIONS = {
    "everything": Selection(),
    "since": Selection(Window(epoch(START + timedelta(days=1)))),
    "until": Selection(Window(None, epoch(START + timedelta(days=1, hours=6)))),
    # Bounds on rows' exact times, to the millisecond: the edges are inclusive.
    "exact edges": Selection(Window(epoch(START + timedelta(minutes=17 * 10)),
                                    epoch(START + timedelta(minutes=17 * 100)))),
    "one workflow": Selection(workflows=frozenset({"reviewer"})),
    "window and workflows": Selection(Window(epoch(START + timedelta(hours=12)),
                                             epoch(START + timedelta(days=2))),
                                      frozenset({"implementer", "refinement", "nope"})),
    "empty window": Selection(Window(epoch(START - timedelta(days=9)),
                                     epoch(START - timedelta(days=8)))),
}


@pytest.mark.parametrize("name", list(SELECTIONS))
def test_postgres_and_jsonl_agree(team: SpendLogs, tmp_path: Path, name: str) -> None:
    summary = assert_agree(team, tmp_path, SELECTIONS[name])
    if name == "everything":
        assert summary["records"] == 240
        assert summary["bad_count"] == len(bad_rows())
        assert len(summary["groups"]) > 6
    if name == "empty window":
        assert summary["records"] == 0 and summary["bad_count"] == 0


def test_the_bad_rows_are_those_the_jsonl_reader_rejects(team: SpendLogs,
                                                          tmp_path: Path) -> None:
    summary = assert_agree(team, tmp_path)
    errors = summary["errors"]
    assert len(errors) == 10  # the first ten are listed
    assert any("cache read tokens (900) exceed prompt_tokens (100)" in e for e in errors)
    assert any("expected integer or null, got number" in e for e in errors)


def test_json_null_and_missing_json_agree(spendlogs: SpendLogs, tmp_path: Path) -> None:
    rows = [
        litellm(request_id="r1", metadata=JSON_NULL, tags=None, request_tags=JSON_NULL),
        litellm(request_id="r2", metadata=None, request_tags=None),
        litellm(request_id="r3", metadata={"additional_usage_values": None}),
        litellm(request_id="r4", metadata={"additional_usage_values": {
            "prompt_tokens_details": None, "cache_creation": None,
            "cache_read_input_tokens": None, "cache_creation_input_tokens": 5}}),
        litellm(request_id="r5", cache_hit="\u2003 TRUE ", tags=["workflow:", "skill:alt"]),
        litellm(request_id="r6", cache_hit="yes", tags=["workflow:", "skill:"]),
        {**litellm(request_id="r7"), "cache_hit": None, "cache_key": None},
    ]
    insert_rows(spendlogs.conn, spendlogs.qualified, rows)
    summary = assert_agree(spendlogs, tmp_path)
    assert summary["records"] == 7 and summary["bad_count"] == 0


def test_kpi_in_bounded_memory_shows_what_it_shows_in_memory(
        team: SpendLogs, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table of more workflows, prompts and sessions than `kpi` holds in memory is
    read all the same: what it read spills to disk every few entries (here 5, and
    every 7 records), and everything the reports show is what one in memory shows."""
    options = LedgerOptions(team.url(), targets=DEFAULT_TARGETS, min_requests=1,
                            workflow_targets={"reviewer": {"prompt_cache_hit_rate": 0.9}})
    expected = run_kpi(options)
    monkeypatch.setattr(kpi_evidence, "SPILL_AFTER", 5)
    monkeypatch.setattr(postgres_sums, "BOUND_EVERY", 7)
    spilled = run_kpi(options)
    assert (spilled.sections, spilled.findings, spilled.notes) == (
        expected.sections, expected.findings, expected.notes)
    assert expected.sections["kpis"]["prompt_cache_hit_rate"]["denominator"] > 100


def test_report_in_bounded_memory_shows_what_it_shows_in_memory(
        team: SpendLogs, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for `report`: the server's sums and the requests read in order after
    them spill every few entries, and the report, JSON and text, is the same."""
    options = LedgerOptions(team.url(), targets=DEFAULT_TARGETS, min_requests=1)

    def documents() -> tuple[str, str]:
        result = run_report(options, Settings())
        return get("json")(result, RenderContext(0)), get("text")(result, RenderContext(0))

    expected = documents()
    monkeypatch.setattr(breakdowns, "SPILL_AFTER", 5)
    monkeypatch.setattr(postgres_sums, "BOUND_EVERY", 7)
    spills = []
    spill = breakdowns.Analytics._spill
    monkeypatch.setattr(breakdowns.Analytics, "_spill",
                        lambda sink: spills.append(1) or spill(sink))
    assert documents() == expected
    assert len(spills) > 2
    assert json.loads(expected[0])["breakdown"]["workflow"].keys() >= set(WORKFLOWS)
