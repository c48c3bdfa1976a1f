"""Why the cache missed: each cause from a short sequence of one lineage's requests.

Every table row is a lineage's requests in ledger order; the last one is the miss
whose cause is asserted. Times are minutes from the first request.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cache_gate.analyses.miss_causes import MissCauses, is_avoidable
from cache_gate.ledger.record import Record
from cache_gate.models import load_model_minimums
from cache_gate.prices import load_prices
from tests.ledgers import backlog, write_ledger

SONNET = "claude-sonnet-4-6"  # minimum cacheable prompt: 1,024 tokens
HAIKU = "claude-haiku-4-5"


def hit(minute: float, **fields: Any) -> Record:
    """A request that read the cache."""
    values: dict[str, Any] = {"format": "anthropic", "time": minute * 60, "model": SONNET,
                              "prompt_id": "p", "uncached_input": 50, "cache_read": 5000,
                              "cache_write": 0, "prompt_cache_hit": True}
    return Record(**{**values, **fields})


def miss(minute: float, write: int | None = 5000, **fields: Any) -> Record:
    """A request that read nothing; by default it wrote its prefix (5-minute entries)."""
    values: dict[str, Any] = {"format": "anthropic", "time": minute * 60, "model": SONNET,
                              "prompt_id": "p", "uncached_input": 50, "cache_read": 0,
                              "cache_write": write, "prompt_cache_hit": False}
    return Record(**{**values, **fields})


def causes_of(*records: Record) -> MissCauses:
    causes = MissCauses(load_prices(), load_model_minimums())
    causes.add(list(records))
    return causes


def cause_of_last(*records: Record) -> str:
    causes = causes_of(*records[:-1])
    lineage = causes.lineages.get(f"prompt:{records[-1].prompt_id}")
    before = dict(causes.overall)
    causes.add([records[-1]])
    after = {cause: cost.requests for cause, cost in causes.overall.items()}
    [cause] = [c for c, n in after.items() if n != (before[c].requests if c in before else 0)]
    assert lineage is None or lineage.seen
    return cause


@pytest.mark.parametrize(("sequence", "cause"), [
    # Nothing before it in the lineage.
    ([miss(0)], "cold"),
    # The provider's own diagnosis wins over every inference (here: within the TTL).
    ([hit(0), miss(1, miss_reason="tools_changed")], "tools_changed"),
    # No write either, above and below the model's minimum.
    ([hit(0), miss(1, write=0, uncached_input=3000)], "not_requested"),
    ([hit(0), miss(1, write=0, uncached_input=600)], "below_minimum"),
    # A model fallback mid-session.
    ([hit(0), miss(1, model=HAIKU)], "model_changed"),
    # The prefix hash changed.
    ([hit(0, prefix_sha256="a"), miss(1, prefix_sha256="b")], "prefix_changed"),
    # A 5-minute entry, 6 minutes later.
    ([miss(0), miss(6)], "ttl_expired"),
    # A read refreshes the entry: 4 + 4 minutes after the write it is still alive.
    ([miss(0), hit(4), miss(8)], "changed_within_ttl"),
    # Without the read in between, the same gap has expired it.
    ([miss(0), miss(8)], "ttl_expired"),
    # A 1-hour write followed by a gap of 30 minutes: the entry is alive.
    ([miss(0, cache_write_1h=5000), miss(30)], "changed_within_ttl"),
    # ... and by one of 61 minutes: expired.
    ([miss(0, cache_write_1h=5000), miss(61)], "ttl_expired"),
    # A read of a 1-hour entry refreshes it for an hour.
    ([miss(0, cache_write_1h=5000), hit(50), miss(100)], "changed_within_ttl"),
    # Requests that never read nor wrote leave no entry to compare with.
    ([miss(0, write=0, uncached_input=3000), miss(1)], "cold"),
    # A miss with no time cannot be placed against the lineage's entry.
    ([miss(0), miss(1, time=None)], "unknown"),
])
def test_the_cause_of_a_miss(sequence: list[Record], cause: str) -> None:
    assert cause_of_last(*sequence) == cause


@pytest.mark.parametrize(("cause", "avoidable"), [
    ("not_requested", True), ("below_minimum", True), ("model_changed", True),
    ("prefix_changed", True), ("changed_within_ttl", True), ("system_changed", True),
    ("prompt_cache_key_changed", True), ("cold", False), ("ttl_expired", False),
    ("unknown", False), ("previous_message_not_found", False), ("unavailable", False),
])
def test_which_causes_a_change_removes(cause: str, avoidable: bool) -> None:
    assert is_avoidable(cause) is avoidable


def test_lineages_are_kept_apart() -> None:
    """Another prompt's entry says nothing about this prompt's: its first miss is cold."""
    assert cause_of_last(hit(0, prompt_id="a"), miss(1, prompt_id="b")) == "cold"


def test_hits_and_requests_served_by_another_cache_are_not_misses() -> None:
    causes = causes_of(hit(0), miss(1, response_cache="hit"), hit(2))
    assert causes.overall == {}
    assert causes.eligible == 2


def test_costs_are_the_input_the_misses_paid_for() -> None:
    """Uncached tokens at the base price, writes at 1.25x (5 min) and 2x (1 hour)."""
    causes = causes_of(miss(0, uncached_input=1000, write=3000, cache_write_1h=1000))
    cold = causes.overall["cold"]
    assert (cold.requests, cold.input_tokens) == (1, 4000)
    price = load_prices().price(SONNET)
    assert price is not None
    assert cold.cost_usd == pytest.approx(price / 1e6 * (1000 + 2000 * 1.25 + 1000 * 2))


def test_an_unpriced_model_is_counted_apart_not_as_free() -> None:
    causes = causes_of(miss(0, model="a-model-nobody-prices"))
    assert causes.overall["cold"].to_json() == {
        "requests": 1, "input_tokens": 5050, "cost_usd": 0.0, "unpriced_requests": 1}


def test_the_worst_lineage_is_the_one_with_most_avoidable_misses() -> None:
    causes = causes_of(hit(0, prompt_id="a"), miss(1, prompt_id="a", model=HAIKU),
                       hit(0, prompt_id="b"), miss(1, prompt_id="b", prefix_sha256="x"),
                       hit(2, prompt_id="b", prefix_sha256="x"),
                       miss(3, prompt_id="b", prefix_sha256="y"))
    # b: one miss within the TTL (its first prefix hash), then a changed prefix; a tie
    # between causes names the first in alphabetical order.
    assert causes.worst_lineage() == ("prompt:b", 2, "changed_within_ttl")
    assert causes.avoidable_misses == 3


def run_json(*args: str) -> tuple[int, dict[str, Any]]:
    process = subprocess.run([sys.executable, "-m", "cache_gate", *args, "--format", "json"],
                             capture_output=True, text=True, check=False)
    return process.returncode, json.loads(process.stdout)


def planted(minute: int, **fields: Any) -> dict[str, Any]:
    """A backlog line with the Anthropic token fields (what the causes need)."""
    line = backlog(timestamp=f"2026-11-20T{10 + minute // 60:02d}:{minute % 60:02d}:00Z",
                   prompt_id="reviewer", input_tokens=40, cached_input_tokens=None,
                   cache_read_input_tokens=0, cache_creation_input_tokens=5000,
                   cache_hit=None)
    line.update(fields)
    return line


def test_planted_causes_are_counted_exactly_and_gate_the_pull_request(tmp_path: Path) -> None:
    read = {"cache_read_input_tokens": 5000, "cache_creation_input_tokens": 0}
    lines = [
        planted(0),                                                   # cold
        planted(1, **read),                                           # hit
        planted(2, prefix_sha256="b"),                                # within TTL
        planted(3, prefix_sha256="b", **read),                        # hit
        planted(4, prefix_sha256="c"),                                # prefix_changed
        planted(30),                                                  # ttl_expired
        planted(31, model="claude-haiku-4-5"),                        # model_changed
        planted(32, cache_creation_input_tokens=0, input_tokens=3000),  # not_requested
        planted(33, cache_creation_input_tokens=0, input_tokens=500),   # below_minimum
        planted(34, cache_miss_reason="system_changed"),              # the provider's word
    ]
    ledger = write_ledger(tmp_path / "ledger.jsonl", *lines)
    code, report = run_json("kpi", "--ledger", str(ledger), "--min-requests", "0")
    overall = {cause: row["requests"] for cause, row in report["miss_causes"]["overall"].items()}
    assert overall == {"cold": 1, "changed_within_ttl": 1, "prefix_changed": 1,
                       "ttl_expired": 1, "model_changed": 1, "not_requested": 1,
                       "below_minimum": 1, "system_changed": 1}
    rate = report["kpis"]["avoidable_miss_rate"]
    assert (rate["numerator"], rate["denominator"], rate["status"]) == (6, 10, "fail")
    [finding] = [f for f in report["findings"] if f["rule"] == "CG207"]
    assert "most in lineage prompt:reviewer: 6 avoidable misses" in finding["message"]
    assert code == 1
    code, report_json = run_json("report", "--ledger", str(ledger), "--min-requests", "0")
    assert report_json["miss_causes"] == report["miss_causes"]
    assert code == 0  # the report informs; it never fails the build
