"""`cache-gate report`: analytics for people, never a failed build."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cache_gate.analyses.breakdowns import BREAKDOWN_SHOWN
from cache_gate.analyses.duplicate_spend import DUPLICATE_MEMORY
from cache_gate.analyses.hash_spill import DIGESTS_HELD, HASHES_HELD
from cache_gate.analyses.lineage import DAYS_SHOWN
from cache_gate.analyses.merging import DROP_SLACK
from cache_gate.analyses.tuning_curves import RESPONSE_MEMORY
from cache_gate.cli import cli
from cache_gate.gates.report import sparkline
from cache_gate.prices import load_prices
from tests.ledgers import anthropic, backlog, write_ledger


def report(ledger: Path, *args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(cli, ["report", "--ledger", str(ledger), "--format", "json",
                                      *args], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def test_report_exits_0_even_when_kpis_fail(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "l.jsonl",
                          *[backlog(cache_hit=False, cached_input_tokens=0)] * 40)
    code, document = report(ledger)
    assert code == 0
    assert document["kpis"]["prompt_cache_hit_rate"]["status"] == "fail"  # type: ignore[index]


def test_report_on_a_missing_ledger_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["report", "--ledger", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2


def test_breakdowns_by_workflow_phase_model_and_prompt(tmp_path: Path) -> None:
    ledger = write_ledger(
        tmp_path / "l.jsonl",
        backlog(workflow="impl", phase="plan", prompt_id="p1", cache_hit=True),
        backlog(workflow="impl", phase="code", prompt_id="p1", cache_hit=False,
                cached_input_tokens=0),
        backlog(workflow="review", phase="plan", prompt_id="p2", model="claude-haiku-4-5"),
    )
    _, document = report(ledger)
    breakdown = document["breakdown"]
    assert isinstance(breakdown, dict)
    assert breakdown["workflow"]["impl"]["prompt_cache_hit_rate"] == 0.5
    assert breakdown["workflow"]["impl"]["requests"] == 2
    assert set(breakdown["phase"]) == {"plan", "code"}
    assert breakdown["model"]["claude-haiku-4-5"]["requests"] == 1
    assert breakdown["prompt_id"]["p2"]["cached_token_ratio"] == 0.8


def test_daily_trend_uses_utc_days(tmp_path: Path) -> None:
    ledger = write_ledger(
        tmp_path / "l.jsonl",
        backlog(timestamp="2026-11-20T23:30:00-02:00", cache_hit=False, cached_input_tokens=0),
        backlog(timestamp="2026-11-21T09:00:00Z"),
        backlog(timestamp="2026-11-20T09:00:00Z"),
    )
    _, document = report(ledger)
    assert document["trend"] == [
        {"date": "2026-11-20", "requests": 1, "eligible": 1, "prompt_cache_hits": 1,
         "prompt_cache_hit_rate": 1.0, "cache_read_tokens": 800, "input_tokens": 1000,
         "cached_token_ratio": 0.8},
        {"date": "2026-11-21", "requests": 2, "eligible": 2, "prompt_cache_hits": 1,
         "prompt_cache_hit_rate": 0.5, "cache_read_tokens": 800, "input_tokens": 2000,
         "cached_token_ratio": 0.4},
    ]


def test_duplicate_spend_is_a_repeat_within_the_ttl_that_no_cache_served(
        tmp_path: Path) -> None:
    miss = {"cache_hit": False, "cached_input_tokens": 0, "request_sha256": "r1",
            "input_tokens": 500, "output_tokens": 20, "cost_usd": 0.25}
    ledger = write_ledger(
        tmp_path / "l.jsonl",
        backlog(timestamp="2026-11-20T10:00:00Z", **miss),
        backlog(timestamp="2026-11-20T10:20:00Z", **miss),                  # duplicate
        backlog(timestamp="2026-11-20T10:25:00Z", **{**miss, "cache_hit": True,
                                                   "cached_input_tokens": 400}),  # cached
        backlog(timestamp="2026-11-20T10:30:00Z", **{**miss, "response_cache": {
            "status": "hit"}}),                                              # served
        backlog(timestamp="2026-11-20T12:00:00Z", **miss),                  # past the TTL
    )
    _, document = report(ledger)
    assert document["duplicate_spend"] == {
        "ttl_seconds": 3600, "requests": 1, "input_tokens": 500, "output_tokens": 20,
        "cost_usd": 0.25, "requests_without_cost": 0}


def test_runtime_prefix_drift_is_a_cg205_warning(tmp_path: Path) -> None:
    ledger = write_ledger(
        tmp_path / "l.jsonl",
        backlog(prompt_id="implementer", prefix_sha256="a" * 64),
        backlog(prompt_id="implementer", prefix_sha256="a" * 64),
        backlog(prompt_id="implementer", prefix_sha256="b" * 64),
        backlog(prompt_id="reviewer", prefix_sha256="c" * 64),
    )
    code, document = report(ledger)
    assert code == 0
    [finding] = document["findings"]  # type: ignore[misc]
    assert (finding["rule"], finding["severity"], finding["prompt_id"]) == (
        "CG205", "warning", "implementer")
    assert "2 different prefix hashes" in finding["message"]
    assert document["prefix_drift"] == {"implementer": {"a" * 64: 2, "b" * 64: 1}}


def test_savings_price_reads_and_writes_and_list_unpriced_models(tmp_path: Path) -> None:
    line = anthropic(input_tokens=0, read=1_000_000, write=100_000, model="claude-sonnet-4-6")
    line["usage"]["cache_creation"] = {"ephemeral_5m_input_tokens": 60_000,
                                       "ephemeral_1h_input_tokens": 40_000}
    ledger = write_ledger(tmp_path / "l.jsonl", line,
                          anthropic(read=1000, write=0, model="some-private-model"))
    _, document = report(ledger)
    savings = document["savings"]
    assert isinstance(savings, dict)
    sonnet = savings["by_model"]["claude-sonnet-4-6"]
    # $3/MTok: reads save 0.9 x 1M, 5m writes cost 0.25 x 60k, 1h writes 1.0 x 40k extra.
    assert sonnet["saved_usd"] == pytest.approx(3 * (0.9 - 0.015 - 0.04))
    assert savings["unpriced_models"] == ["some-private-model"]
    assert savings["total_saved_usd"] == pytest.approx(2.535)


def test_savings_list_the_models_that_read_most_and_count_the_rest(tmp_path: Path) -> None:
    """A ledger that names a model a request: the total is every model's, the list the
    BREAKDOWN_SHOWN that read most (the first to come, on a tie), with how many more."""
    extra = 7
    # The last ones tie with earlier ones, and come later: left out.
    read = {f"m{index}": 1000 + (index % 3 if index < BREAKDOWN_SHOWN else 0)
            for index in range(BREAKDOWN_SHOWN + extra)}
    lines = [anthropic(input_tokens=0, read=tokens, write=0, model=model)
             for model, tokens in read.items()]
    lines += [anthropic(input_tokens=0, read=1_000_000 * (index + 1), write=0,
                        model="claude-sonnet-4-6" if index else "claude-haiku-4-5")
              for index in range(2)]
    _, document = report(write_ledger(tmp_path / "l.jsonl", *lines))
    savings = document["savings"]
    assert isinstance(savings, dict)
    shown = list(savings["by_model"])
    assert shown[:2] == ["claude-sonnet-4-6", "claude-haiku-4-5"]
    expected = sorted(read, key=lambda model: -read[model])[:BREAKDOWN_SHOWN - 2]
    assert shown[2:] == expected
    assert savings["by_model_left_out"] == extra + 2
    assert savings["unpriced_models"] == sorted(read, key=lambda model: -read[model])[
        :BREAKDOWN_SHOWN]
    assert savings["unpriced_models_left_out"] == extra
    # $3/MTok and $1/MTok, each read saving 0.9 of its price.
    assert savings["total_saved_usd"] == pytest.approx(0.9 * (3 * 2 + 1 * 1))


def test_a_ledger_over_centuries_lists_its_latest_days(tmp_path: Path) -> None:
    """One miss a day for DAYS_SHOWN + 5 days: the trend and the misses by day list the
    latest DAYS_SHOWN, and say how many more there were."""
    first = datetime(1900, 1, 1, 12, tzinfo=UTC)
    lines = [backlog(timestamp=(first + timedelta(days=index)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                     cache_hit=False, cached_input_tokens=0)
             for index in range(DAYS_SHOWN + 5)]
    _, document = report(write_ledger(tmp_path / "l.jsonl", *lines))
    trend, causes = document["trend"], document["miss_causes"]
    assert isinstance(trend, list) and isinstance(causes, dict)
    assert len(trend) == len(causes["by_day"]) == DAYS_SHOWN
    assert document["trend_left_out"] == causes["by_day_left_out"] == 5
    last = (first + timedelta(days=DAYS_SHOWN + 4)).date().isoformat()
    assert trend[-1]["date"] == list(causes["by_day"])[-1] == last


def test_the_bounds_the_docs_state_are_the_code_s() -> None:
    page = (Path(__file__).parent.parent / "docs" / "commands" / "report.md").read_text()
    assert f"the latest {DAYS_SHOWN} days" in page
    assert f"Each breakdown holds its {BREAKDOWN_SHOWN} largest groups" in page
    assert f"the {BREAKDOWN_SHOWN} that read most" in page
    assert DUPLICATE_MEMORY == RESPONSE_MEMORY
    assert f"Once\nit holds {DUPLICATE_MEMORY:,} hashes" in page
    assert f"(on disk past {HASHES_HELD:,})" in page
    assert f"expired more than {DROP_SLACK / 60:.0f} minutes ago" in page
    performance = (Path(__file__).parent.parent / "docs" / "performance.md").read_text()
    assert f"for the newest {DIGESTS_HELD:,} of a" in performance


def test_prices_can_be_overridden_and_match_any_spelling() -> None:
    prices = load_prices({"some-private-model": 2.0})
    assert prices.price("anthropic/claude-sonnet-4-5-20250929") == 3.0
    assert prices.price("some-private-model") == 2.0
    assert prices.price("gpt-4.1") is None


def test_sparkline() -> None:
    assert sparkline([0.0, 0.5, 1.0, None]) == "▁▅█ "


def test_text_report_shows_every_section(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "l.jsonl", *[backlog()] * 3)
    result = CliRunner().invoke(cli, ["report", "--ledger", str(ledger)])
    for heading in ("by workflow:", "by phase:", "by model:", "by prompt_id:",
                    "daily prompt cache hit rate", "duplicate spend", "estimated savings"):
        assert heading in result.stdout


@given(st.lists(st.one_of(
    st.floats(min_value=0, max_value=4e9, allow_nan=False),
    # Within a hair of midnight, where rounding to microseconds could cross it.
    st.builds(lambda day, off: day * 86400 + off, st.integers(0, 40000),
              st.sampled_from([-1e-7, -4e-7, 0.0, 4e-7, 1e-7, 0.0005, -0.0005]))),
    max_size=30))
def test_the_daily_trend_dates_every_record_as_a_utc_datetime_would(times: list[float]) -> None:
    """The report's day of a record is its UTC date, whatever the shortcut per day."""
    from datetime import UTC, datetime

    from cache_gate.analyses.breakdowns import Analytics
    from cache_gate.ledger.record import Record

    analytics = Analytics()
    analytics.add([Record("backlog", time=moment) for moment in times if moment >= 0])
    expected: dict[str, int] = {}
    for moment in times:
        if moment >= 0:
            day = datetime.fromtimestamp(moment, UTC).date().isoformat()
            expected[day] = expected.get(day, 0) + 1
    assert {day: sums[0] for day, sums in analytics.by_day.items()} == expected


def test_a_breakdown_shows_its_100_largest_groups_and_counts_the_rest(tmp_path: Path) -> None:
    """The JSON holds the groups with the most requests, exact, and says how many were
    left out: a ledger of a million prompts does not make a report of a million rows."""
    lines = [backlog(workflow=f"w{index:03}", prompt_id=f"p{index:03}")
             for index in range(150) for _ in range(1 + (index < 30))]
    ledger = write_ledger(tmp_path / "l.jsonl", *lines)
    _, document = report(ledger)
    breakdown = document["breakdown"]
    assert isinstance(breakdown, dict)
    shown = breakdown["workflow"]
    assert len(shown) == 100
    assert list(shown)[:30] == [f"w{index:03}" for index in range(30)]  # two requests each
    assert all(row["requests"] == 2 for row in list(shown.values())[:30])
    assert document["breakdown_left_out"] == {"workflow": 50, "prompt_id": 50}
    text = CliRunner().invoke(cli, ["report", "--ledger", str(ledger)]).stdout
    assert "… 140 more (the 100 largest in --format json)" in text


def test_prefix_drift_lists_the_prompts_that_drift_most_and_counts_the_rest(
        tmp_path: Path) -> None:
    """25 prompts sent with two prefixes, prompt pNN with NN + 1 requests off its usual
    one: CG205 names the 20 that drift most, and one more finding counts the other 5."""
    lines = [backlog(prompt_id=f"p{index:02}", prefix_sha256=prefix)
             for index in range(25)
             for prefix in ["usual"] * 30 + ["other"] * (index + 1)]
    ledger = write_ledger(tmp_path / "l.jsonl", *lines)
    _, document = report(ledger)
    findings = [f for f in document["findings"] if f["rule"] == "CG205"]  # type: ignore[union-attr,index]
    assert {f["prompt_id"] for f in findings} == {f"p{i:02}" for i in range(5, 25)} | {None}
    [summary] = [f for f in findings if f["prompt_id"] is None]
    assert summary["message"].startswith("5 more prompts were sent with several prefix")
    assert len(document["prefix_drift"]) == 25  # type: ignore[arg-type]
