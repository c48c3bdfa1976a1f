"""`anthropic-usage-report`: buckets of the Usage & Cost Admin API are aggregates:
their tokens count in the token sums, never in a request count."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from cache_gate.analyses import kpis
from cache_gate.analyses.kpis import Tally
from cache_gate.cli import cli
from cache_gate.ledger.line_errors import LineError
from tests.ledger.formats.reading import read, verdicts
from tests.ledgers import backlog, usage_report, usage_row, write_ledger


def test_a_bucket_is_one_aggregate_record_with_anthropic_semantics() -> None:
    record = read(usage_report(usage_row(uncached=1500, read=120000, write_5m=8000,
                                         write_1h=20000)))
    assert record is not None
    assert (record.format, record.uncached_input, record.cache_read, record.cache_write,
            record.cache_write_1h) == ("anthropic-usage-report", 1500, 120000, 28000, 20000)
    assert record.aggregate and record.input_total == 149500
    assert record.prompt_cache_hit is None and not record.eligible  # no request's hit
    assert (record.model, record.output_tokens) == ("claude-sonnet-4-6", 4000)
    assert record.time == datetime(2026, 11, 20, tzinfo=UTC).timestamp()  # starting_at


def test_a_bucket_sums_its_rows_and_names_a_model_only_when_they_share_it() -> None:
    mixed = read(usage_report(usage_row(), usage_row(model="claude-haiku-4-5")))
    same = read(usage_report(usage_row(), usage_row()))
    assert mixed is not None and same is not None
    assert (mixed.cache_read, mixed.cache_write, mixed.model) == (240000, 56000, None)
    assert same.model == "claude-sonnet-4-6"


def test_a_row_without_its_input_counts_leaves_the_buckets_tokens_unknown() -> None:
    row = usage_row()
    del row["uncached_input_tokens"]
    record = read(usage_report(row, usage_row()))
    assert record is not None and record.aggregate
    assert record.cache_read is None and record.uncached_input is None


def test_an_empty_bucket_is_a_record_of_no_usage() -> None:
    record = read({"starting_at": "2026-11-20T00:00:00Z", "ending_at": "2026-11-21T00:00:00Z",
                   "results": []})
    assert record is not None and (record.cache_read, record.uncached_input) == (0, 0)


@pytest.mark.parametrize(("results", "message"), [
    ("none", "results: expected array, got string"),
    ([{"cache_read_input_tokens": "12"}], r"results\[0\].cache_read_input_tokens: expected"),
])
def test_results_of_the_wrong_type_make_the_line_bad(results: object, message: str) -> None:
    line = usage_report(results=results)
    assert verdicts(line) == {"bad"}
    with pytest.raises(LineError, match=message):
        read(line)


def test_a_start_that_is_not_a_time_leaves_the_bucket_undated_in_every_run() -> None:
    line = usage_report(starting_at="yesterday")
    assert verdicts(line) == {"anthropic-usage-report"}
    record = read(line)
    assert record is not None and record.time is None


def test_a_rows_model_of_the_wrong_type_is_unknown() -> None:
    row = usage_row()
    row["model"] = {"id": 5}
    record = read(usage_report(row))
    assert record is not None and record.model is None and record.cache_read == 120000


def test_a_bucket_counts_in_the_token_sums_and_in_no_request_count() -> None:
    request = read(backlog(input_tokens=1000, cached_input_tokens=800, cache_hit=True))
    bucket = read(usage_report(usage_row(uncached=1500, read=120000, write_5m=8000,
                                         write_1h=20000)))
    assert request is not None and bucket is not None
    tally = Tally()
    tally.add([request, bucket])
    sums = tally.total()
    assert (sums[kpis.REQUESTS], sums[kpis.ELIGIBLE], sums[kpis.PROMPT_HITS],
            sums[kpis.TOKEN_REQUESTS]) == (1, 1, 1, 1)
    assert (sums[kpis.CACHE_READ], sums[kpis.INPUT_TOTAL]) == (800 + 120000, 1000 + 149500)


def kpi_json(ledger: Path, *args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(cli, ["kpi", "--ledger", str(ledger), "--format", "json",
                                      *args], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def test_kpi_on_buckets_alone_is_evidence_of_tokens_but_not_of_requests(
        tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "l.jsonl", usage_report(), usage_report(
        starting_at="2026-11-21T00:00:00Z", ending_at="2026-11-22T00:00:00Z"))
    code, document = kpi_json(ledger)
    assert code == 0  # a valid record: evidence, not "no evidence is no pass"
    kpi_rows = document["kpis"]
    assert isinstance(kpi_rows, dict)
    ratio = kpi_rows["cached_token_ratio"]
    assert (ratio["numerator"], ratio["denominator"], ratio["requests"], ratio["status"]) == (
        240000, 299000, 0, "insufficient")
    assert kpi_rows["prompt_cache_hit_rate"]["status"] == "n/a"
    assert document["ledger"] == {**document["ledger"], "records": 2,  # type: ignore[dict-item]
                                  "formats": {"anthropic-usage-report": 2}}
    code, document = kpi_json(ledger, "--min-requests", "0")
    assert document["kpis"]["cached_token_ratio"]["status"] == "pass"  # type: ignore[index]


def test_report_savings_price_a_buckets_reads_and_writes(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "l.jsonl", usage_report(usage_row(
        uncached=0, read=1_000_000, write_5m=60_000, write_1h=40_000)))
    result = CliRunner().invoke(cli, ["report", "--ledger", str(ledger), "--format", "json"],
                                catch_exceptions=False)
    document = json.loads(result.stdout)
    sonnet = document["savings"]["by_model"]["claude-sonnet-4-6"]
    # $3/MTok: reads save 0.9 x 1M, 5m writes cost 0.25 x 60k, 1h writes 1.0 x 40k extra.
    assert sonnet["saved_usd"] == pytest.approx(3 * (0.9 - 0.015 - 0.04))
    assert document["breakdown"]["model"]["claude-sonnet-4-6"]["requests"] == 0
