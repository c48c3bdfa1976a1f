"""Ledgers written by the real client libraries, read by the real CLI.

fixtures/real/ holds lines that `anthropic`, `openai` and `litellm` themselves
wrote (see make.py there, and versions.json for the versions), and a Claude Code
transcript recorded with ccusage's totals. For each file, what `cache-gate kpi` and
`cache-gate report` print must equal a hand calculation from DESIGN.md's definitions,
written here as literal numbers from the raw numbers the providers answered:

- eligible: reached the provider (not a response-cache hit) and reports prompt
  caching; a line that reports no caching is unknown, not zero, and in no denominator.
- prompt_cache_hit_rate: eligible requests that read from the cache / eligible.
- cached_token_ratio: Σ read / Σ (uncached + read + write) over eligible requests.
  Anthropic's input_tokens EXCLUDE reads and writes (the three add up); OpenAI's
  prompt/input tokens and LiteLLM's prompt_tokens INCLUDE them (the total is the
  prompt tokens).
- response_cache_useful_hit_rate: response-cache hits not marked useless / lookups
  (hit or miss).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from cache_gate.analyses.miss_causes import is_avoidable
from tests.consumers import node_tool

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real"
# DESIGN.md's default targets.
TARGETS = {"prompt_cache_hit_rate": Fraction(60, 100), "cached_token_ratio": Fraction(40, 100),
           "response_cache_useful_hit_rate": Fraction(20, 100),
           "semantic_cache_useful_hit_rate": Fraction(10, 100),
           "avoidable_miss_rate": Fraction(10, 100)}


@dataclass(frozen=True)
class Expected:
    """A fixture's numbers by hand: (numerator, denominator) of each KPI, and the
    prompt-cache tokens of the eligible requests."""

    requests: int
    hits: tuple[int, int]
    tokens: tuple[int, int]
    response: tuple[int, int] = (0, 0)
    # Σ cache read, Σ writes not held for 1 hour, Σ 1-hour writes (eligible requests).
    cache_tokens: tuple[int, int, int] = (0, 0, 0)
    # workflow: (requests, eligible, prompt cache hit rate)
    workflows: dict[str, tuple[int, int, float | None]] = field(default_factory=dict)
    # Eligible misses by cause (DESIGN.md, "Why the cache missed"), in ledger order.
    causes: dict[str, int] = field(default_factory=dict)

    @property
    def avoidable(self) -> int:
        return sum(n for cause, n in self.causes.items() if is_avoidable(cause))


EXPECTED: dict[str, Expected] = {
    # (input, read, 5m write, 1h write) per Message: A (40, 12000, 0, 0) hit;
    # B (35, 0, 11800, 0) miss; C (50, 0, 0, 20000) miss; D (20, 20000, 0, 3000) hit;
    # E: cache fields all null: unknown, not eligible; F streamed, get_final_message()
    # (30, 12000, 0, 0) hit. 5 eligible, 3 read: 3/5.
    # Tokens: 12040 + 11835 + 20050 + 23020 + 12030 = 78975; reads 44000.
    # Causes: no line has a time. B follows A's read in A's lineage (same model): its
    # gap cannot be told, unknown; C is another model's first request, cold.
    "anthropic_messages.jsonl": Expected(
        requests=6, hits=(3, 5), tokens=(44000, 78975),
        cache_tokens=(44000, 11800, 20000 + 3000),
        causes={"unknown": 1, "cold": 1}),
    # Bare `usage` dumps: (25, 12000, 500, 0) hit; (50, 0, 0, 20000) miss;
    # (10, 8000, 1000, 2000) hit. 2/3; 12525 + 20050 + 11010 = 43585, reads 20000.
    # Causes: no time on a bare usage; the miss follows a read of its lineage: unknown.
    "anthropic_bare_usage.jsonl": Expected(
        requests=3, hits=(2, 3), tokens=(20000, 43585),
        cache_tokens=(20000, 500 + 1000, 20000 + 2000),
        causes={"unknown": 1}),
    # The application's `timestamp` and `workflow` beside the SDK's keys.
    # review: Message (40, 15000, 0, 0) hit, usage (30, 15000, 0, 0) hit;
    # implementer: Message (60, 0, 0, 16000) miss, usage (45, 0, 4000, 5000) miss.
    # 2/4; 15040 + 16060 + 15030 + 9045 = 55175, reads 30000.
    # Causes: implementer's two misses: the Message is its lineage's first request,
    # cold; the bare usage names no model, so it is another lineage's first: cold.
    "anthropic_with_timestamp_and_workflow.jsonl": Expected(
        requests=4, hits=(2, 4), tokens=(30000, 55175),
        cache_tokens=(30000, 4000, 16000 + 5000),
        workflows={"review": (2, 2, 1.0), "implementer": (2, 2, 0.0)},
        causes={"cold": 2}),
    # Cache diagnostics (each request names the previous response): (input, read, 5m
    # write) A (30, 0, 11800) miss, first turn, no diagnosis; B (30, 11800, 0) hit;
    # C (35, 0, 12100) miss, system_changed; D streamed, claude-haiku-4-5 (40, 0,
    # 12000) miss, model_changed; E (25, 0, 12000) miss, previous_message_not_found.
    # 1/5; 11830 + 11830 + 12135 + 12040 + 12025 = 59860, reads 11800.
    # Causes: A cold (first, no diagnosis); C, D, E the provider's own words; avoidable:
    # system_changed and model_changed (a `*_changed`), 2 of 5.
    "anthropic_cache_diagnostics.jsonl": Expected(
        requests=5, hits=(1, 5), tokens=(11800, 59860),
        cache_tokens=(11800, 11800 + 12100 + 12000 + 12000, 0),
        causes={"cold": 1, "system_changed": 1, "model_changed": 1,
                "previous_message_not_found": 1}),
    # prompt 2048 with 1792 cached: hit; 2100 with 0 cached: miss; gpt-4-0613 without
    # prompt_tokens_details (null in the dump): unknown. 1/2; 1792 / (2048 + 2100).
    # No cache_write_tokens (older models): writes unknown, none counted.
    # Causes: the miss (writes unreported: OpenAI caches on its own) comes within 5
    # minutes of the hit in its lineage (same model): changed_within_ttl, 1 of 2.
    "openai_chat_completions.jsonl": Expected(
        requests=3, hits=(1, 2), tokens=(1792, 4148), cache_tokens=(1792, 0, 0),
        causes={"changed_within_ttl": 1}),
    # input 3000 with 2048 cached: hit; 1500 with 0: miss (cache_write_tokens 0 both).
    # 1/2; 2048 / (3000 + 1500).
    # Causes: the miss wrote nothing (cache_write_tokens 0) with 1500 tokens, above the
    # minimum: not_requested, 1 of 2.
    "openai_responses.jsonl": Expected(
        requests=2, hits=(1, 2), tokens=(2048, 4500), cache_tokens=(2048, 0, 0),
        causes={"not_requested": 1}),
    # gpt-5.6 (cached, cache_write_tokens) inside the prompt tokens: chat 5000 (0, 4864)
    # miss; chat 5100 (4864, 0) hit; Responses 8000 (0, 7936) miss; Responses 8100
    # (7936, 128) hit. 2/4; reads 12800 / (5000 + 5100 + 8000 + 8100 = 26200).
    # Writes 4864 + 7936 + 128 = 12928, none for 1 hour (OpenAI's are 30 min / 12 h,
    # priced 1.25x like Anthropic's 5-minute writes).
    # Causes: the first miss is cold; the second comes over 5 minutes after its
    # lineage's last activity: ttl_expired. None avoidable.
    "openai_cache_write_tokens.jsonl": Expected(
        requests=4, hits=(2, 4), tokens=(12800, 26200), cache_tokens=(12800, 12928, 0),
        causes={"cold": 1, "ttl_expired": 1}),
    # gpt-5.6 Responses with prompt_cache_diagnostics: (input, cached, cache_write)
    # (8000, 0, 7936) miss, no baseline; (8100, 7936, 128) hit, cache_hit; (8200, 0,
    # 8064) miss, tools_changed; (8200, 0, 8064) miss, comparison_response_not_found;
    # (8200, 0, 8064) miss, prompt_cache_key_changed. 1/5; 7936 / 40700.
    # Causes: first miss cold; tools_changed and prompt_cache_key_changed as OpenAI
    # says; comparison_response_not_found names no cause, so the lineage decides: it
    # wrote within 5 minutes of the last write, changed_within_ttl. 3 of 5 avoidable.
    "openai_prompt_cache_diagnostics.jsonl": Expected(
        requests=5, hits=(1, 5), tokens=(7936, 40700),
        cache_tokens=(7936, 7936 + 128 + 3 * 8064, 0),
        causes={"cold": 1, "tools_changed": 1, "prompt_cache_key_changed": 1,
                "changed_within_ttl": 1}),
    # Rows from get_logging_payload: 1 response-cache miss (cache_hit "None", a
    # cache_key): prompt 12040, read 12000, hit; 2 response-cache hit ("True"): not
    # eligible; 3 streaming miss ("False"): 11030, 5m write 11000, miss; 4 "Cache OFF":
    # 20050, 1h write 20000 (only under prompt_tokens_details.cache_creation_token_details
    # for the TTL), miss; 5 "Cache OFF", OpenAI: 2048, read 1792, hit.
    # Prompt cache: 4 eligible (1, 3, 4, 5), 2 read: 2/4; 13792 / (12040 + 11030 +
    # 20050 + 2048 = 45168). Response cache: lookups 1, 2, 3 (4 and 5 had none), 1 hit.
    # Causes: each row is a session of its own (LiteLLM writes a trace id where the
    # caller sent none), so both misses are their lineage's first request: cold.
    "litellm_spend_logs.jsonl": Expected(
        requests=5, hits=(2, 4), tokens=(13792, 45168), response=(1, 3),
        cache_tokens=(13792, 11000, 20000),
        workflows={"review": (3, 2, 0.5), "implementer": (2, 2, 0.5)},
        causes={"cold": 2}),
    # The provider sent no cache fields; LiteLLM wrote cache_read_input_tokens 0 and
    # cached_tokens 0 anyway: unknown became zero upstream, and the row reports a miss.
    # cache-gate cannot tell: 1 eligible, 0 read; 0 / 900.
    # Causes: LiteLLM's zero write (unknown upstream, zero here) and 900 tokens, below
    # the model's minimum: below_minimum, 1 of 1.
    "litellm_spend_logs_provider_sent_no_cache_fields.jsonl": Expected(
        requests=1, hits=(0, 1), tokens=(0, 900),
        causes={"below_minimum": 1}),
    # Two turns of one caller-named session, no response cache ("Cache OFF"): prompt
    # 11030 with a 5m write of 11000, miss; 11040 with 11000 read, hit. 1/2; 11000 /
    # 22070.
    # Causes: the session's first turn, cold.
    "litellm_spend_logs_sessions.jsonl": Expected(
        requests=2, hits=(1, 2), tokens=(11000, 22070), cache_tokens=(11000, 11000, 0),
        workflows={"review": (2, 2, 0.5)},
        causes={"cold": 1}),
    # ModelResponse dumps, OpenAI semantics (prompt_tokens includes reads and writes):
    # 12040 with 12000 cached: hit; 20050 with 20000 written for 1 hour: miss; OpenAI
    # 2048 with 1792 cached: hit. 2/3; 13792 / (12040 + 20050 + 2048 = 34138).
    # Causes: the miss comes 3 minutes after the read of its lineage (same model, no
    # prompt or session): changed_within_ttl, 1 of 3.
    "litellm_model_response.jsonl": Expected(
        requests=3, hits=(2, 3), tokens=(13792, 34138), cache_tokens=(13792, 0, 20000),
        causes={"changed_within_ttl": 1}),
    # Requests: msg_01CCStreamed (3 lines, one request; input 3, read 14000, 1h write
    # 1200) hit; msg_01CCWrite1h (5, 0, 1h 9000) miss; msg_01CCSidechainOwn (10, 3000,
    # 5m 200) hit. The sidechain replay of msg_01CCStreamed is the same request; the
    # <synthetic> API error is none. 2/3; 17000 / (15203 + 9005 + 3210 = 27418).
    # Causes: msg_01CCWrite1h follows the session's read within its 1-hour entry's
    # life: changed_within_ttl, 1 of 3.
    "claude_code_transcript.jsonl": Expected(
        requests=3, hits=(2, 3), tokens=(17000, 27418), cache_tokens=(17000, 200, 10200),
        causes={"changed_within_ttl": 1}),
}

FIXTURES = sorted(EXPECTED)


def test_every_fixture_has_a_hand_calculation() -> None:
    assert sorted(path.name for path in REAL.glob("*.jsonl")) == FIXTURES


def run_cli(command: str, ledger: Path, cwd: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    env = {key: value for key, value in os.environ.items() if key != "GITHUB_ACTIONS"}
    result = subprocess.run(
        [sys.executable, "-m", "cache_gate", command, "--format", "json", "--ledger",
         str(ledger), "--min-requests", "0", *extra],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], tuple[int, Any]]:
    """`cache-gate COMMAND --format json --ledger FIXTURE --min-requests 0`, run once
    each, from an empty directory (no settings file applies)."""
    cwd = tmp_path_factory.mktemp("real-fixtures")
    runs: dict[tuple[str, str], tuple[int, Any]] = {}

    def run(command: str, name: str) -> tuple[int, Any]:
        if (command, name) not in runs:
            runs[command, name] = run_cli(command, REAL / name, cwd)
        return runs[command, name]

    return run


def expected_kpis(expected: Expected) -> dict[str, dict[str, Any]]:
    pairs = {"prompt_cache_hit_rate": expected.hits, "cached_token_ratio": expected.tokens,
             "response_cache_useful_hit_rate": expected.response,
             "semantic_cache_useful_hit_rate": (0, 0),
             "avoidable_miss_rate": (expected.avoidable, expected.hits[1])}
    kpis = {}
    for name, (numerator, denominator) in pairs.items():
        if denominator == 0:
            value, status = None, "n/a"
        else:
            ratio = Fraction(numerator, denominator)
            value = round(float(ratio), 6)
            lower_is_better = name == "avoidable_miss_rate"
            passed = ratio <= TARGETS[name] if lower_is_better else ratio >= TARGETS[name]
            status = "pass" if passed else "fail"
        kpis[name] = {"numerator": numerator, "denominator": denominator, "value": value,
                      "status": status}
    return kpis


def printed_kpis(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: {key: row[key] for key in ("numerator", "denominator", "value", "status")}
            for name, row in report["kpis"].items() if name in TARGETS}


@pytest.mark.parametrize("name", FIXTURES)
def test_kpi_equals_the_hand_calculation(name: str, cli: Callable[[str, str], Any]) -> None:
    code, report = cli("kpi", name)
    expected = expected_kpis(EXPECTED[name])
    assert printed_kpis(report) == expected
    assert report["ledger"]["records"] == EXPECTED[name].requests
    assert code == (1 if any(row["status"] == "fail" for row in expected.values()) else 0)
    causes = {cause: row["requests"] for cause, row in report["miss_causes"]["overall"].items()}
    assert causes == EXPECTED[name].causes


@pytest.mark.parametrize("name", FIXTURES)
def test_no_line_a_real_client_wrote_is_bad(name: str, cli: Callable[[str, str], Any]) -> None:
    for command in ("kpi", "report"):
        _, report = cli(command, name)
        assert report["ledger"]["bad_lines"] == 0, report["ledger"]["bad_line_samples"]


@pytest.mark.parametrize("name", FIXTURES)
def test_report_agrees_with_kpi(name: str, cli: Callable[[str, str], Any]) -> None:
    _, kpi = cli("kpi", name)
    _, report = cli("report", name)
    assert printed_kpis(report) == printed_kpis(kpi) == expected_kpis(EXPECTED[name])
    assert report["ledger"]["records"] == kpi["ledger"]["records"]
    assert report["ledger"]["formats"] == kpi["ledger"]["formats"]


def cache_tokens(report: dict[str, Any]) -> tuple[int, int, int]:
    models = report["savings"]["by_model"].values()
    return (sum(model["cache_read_tokens"] for model in models),
            sum(model["cache_write_5m_tokens"] for model in models),
            sum(model["cache_write_1h_tokens"] for model in models))


@pytest.mark.parametrize("name", FIXTURES)
def test_report_counts_reads_and_writes_by_ttl(name: str,
                                               cli: Callable[[str, str], Any]) -> None:
    """Savings price 1-hour writes at 2x, others at 1.25x: the split must survive."""
    _, report = cli("report", name)
    assert cache_tokens(report) == EXPECTED[name].cache_tokens


@pytest.mark.parametrize("name", [name for name in FIXTURES if EXPECTED[name].workflows])
def test_report_breaks_down_by_workflow(name: str, cli: Callable[[str, str], Any]) -> None:
    _, report = cli("report", name)
    printed = {workflow: (row["requests"], row["eligible"], row["prompt_cache_hit_rate"])
               for workflow, row in report["breakdown"]["workflow"].items()}
    assert printed == EXPECTED[name].workflows


# --------------------------------------------------------------------------------------
# Claude Code against ccusage
# --------------------------------------------------------------------------------------

CCUSAGE = json.loads((REAL / "claude_code_transcript.ccusage.json").read_text(encoding="utf-8"))


def test_claude_code_tokens_equal_ccusage_daily(cli: Callable[[str, str], Any]) -> None:
    """ccusage's `daily` keeps one line per (message.id, requestId), the largest, and
    drops a sidechain replay of a message: as DESIGN.md counts requests. Its totals
    (recorded next to the transcript) must be ours. Output tokens are not compared:
    cache-gate prints no output-token total (ccusage: 412 + 120 + 50 = 582)."""
    _, report = cli("report", "claude_code_transcript.jsonl")
    totals = CCUSAGE["daily"]["output"]["totals"]
    read, write_5m, write_1h = cache_tokens(report)
    uncached = report["kpis"]["cached_token_ratio"]["denominator"] - read - write_5m - write_1h
    assert (uncached, read, write_5m + write_1h) == (
        totals["inputTokens"], totals["cacheReadTokens"], totals["cacheCreationTokens"])
    assert (uncached, read, write_5m + write_1h) == (18, 17000, 10400)
    by_model = {row["modelName"]: (row["cacheReadTokens"], row["cacheCreationTokens"])
                for row in CCUSAGE["daily"]["output"]["daily"][0]["modelBreakdowns"]}
    ours = {model: (row["cache_read_tokens"],
                    row["cache_write_5m_tokens"] + row["cache_write_1h_tokens"])
            for model, row in report["savings"]["by_model"].items()}
    assert ours == by_model


def test_ccusage_session_counts_the_sidechain_replay_again() -> None:
    """The explained difference: ccusage's `session` report counts the sidechain
    replay of msg_01CCStreamed (input 3, read 14000, write 1200, output 412) a second
    time; its `daily` report, and cache-gate, do not."""
    daily = CCUSAGE["daily"]["output"]["totals"]
    session = CCUSAGE["session"]["output"]["totals"]
    replay = {"inputTokens": 3, "cacheReadTokens": 14000, "cacheCreationTokens": 1200,
              "outputTokens": 412}
    assert {key: session[key] - daily[key] for key in replay} == replay


def _ccusage() -> str:
    """CACHE_GATE_CCUSAGE, else the one .ci/run installs (never one from PATH); a
    skip where neither is there, a failure in CI."""
    return os.environ.get("CACHE_GATE_CCUSAGE") or str(node_tool("ccusage"))


def _make_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("real_fixtures_make", REAL / "make.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ccusage_still_reports_the_recorded_totals(tmp_path: Path) -> None:
    ccusage = _ccusage()
    out = tmp_path / "ccusage.json"
    _make_module().record_ccusage(ccusage, REAL / "claude_code_transcript.jsonl", out)
    recorded = json.loads(out.read_text(encoding="utf-8"))
    if recorded["ccusage"] != CCUSAGE["ccusage"]:
        pytest.skip(f"{recorded['ccusage']} installed, the record is of {CCUSAGE['ccusage']}")
    for report in ("daily", "session"):
        assert recorded[report]["output"]["totals"] == CCUSAGE[report]["output"]["totals"]


# --------------------------------------------------------------------------------------
# The committed files are what the real libraries write
# --------------------------------------------------------------------------------------

CLIENTS = ("anthropic", "openai", "litellm")


def _real_clients_python() -> str | None:
    """An interpreter with the real client libraries: this one, or the one named by
    CACHE_GATE_REAL_CLIENTS_PYTHON (e.g. /tmp/realclients/bin/python)."""
    if all(importlib.util.find_spec(name) is not None for name in CLIENTS):
        return sys.executable
    return os.environ.get("CACHE_GATE_REAL_CLIENTS_PYTHON")


def test_committed_fixtures_are_what_make_py_writes(tmp_path: Path) -> None:
    python = _real_clients_python()
    if python is None:
        pytest.skip("anthropic, openai and litellm are not importable here: run "
                    "fixtures/real/make.py's install line, then set "
                    "CACHE_GATE_REAL_CLIENTS_PYTHON to that interpreter")
    subprocess.run([python, str(REAL / "make.py"), "--out", str(tmp_path)], check=True,
                   capture_output=True, timeout=600)
    made = json.loads((tmp_path / "versions.json").read_text(encoding="utf-8"))
    recorded = json.loads((REAL / "versions.json").read_text(encoding="utf-8"))
    if made["packages"] != recorded["packages"]:
        pytest.skip(f"installed {made['packages']}, fixtures made with "
                    f"{recorded['packages']}: re-run make.py to update them")
    for name in FIXTURES:
        assert (tmp_path / name).read_text(encoding="utf-8") == (
            REAL / name).read_text(encoding="utf-8"), name
