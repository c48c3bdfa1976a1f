"""KPI definitions: ratios of sums over the records that report each cache layer."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cache_gate.analyses.kpi_evidence import _DECODER as _STATE
from cache_gate.analyses.kpi_evidence import KpiEvidence
from cache_gate.analyses.kpis import Tally, evaluate, meets
from cache_gate.analyses.miss_causes import MissCauses
from cache_gate.cli import cli
from cache_gate.config import DEFAULT_TARGETS
from cache_gate.findings import Severity
from cache_gate.gates.kpi import LedgerOptions, run_kpi
from cache_gate.ledger.formats import read_line
from cache_gate.ledger.lines import decoders
from cache_gate.ledger.record import Record
from cache_gate.ledger.window import Window
from cache_gate.models import load_model_minimums
from cache_gate.prices import load_prices
from tests.ledgers import anthropic, backlog, litellm, openai_chat, write_ledger


def kpi_run(tmp_path: Path, *lines: object, **options: object) -> dict[str, dict[str, object]]:
    ledger = write_ledger(tmp_path / "ledger.jsonl", *lines)  # type: ignore[arg-type]
    settings: dict[str, object] = {"targets": dict(DEFAULT_TARGETS), "min_requests": 0}
    settings.update(options)
    result = run_kpi(LedgerOptions(ledger=str(ledger), **settings))  # type: ignore[arg-type]
    kpis = result.sections["kpis"]
    assert isinstance(kpis, dict)
    return kpis


def test_prompt_cache_hit_rate_is_a_ratio_of_sums_not_an_average(tmp_path: Path) -> None:
    lines = [backlog(workflow="a", cache_hit=True)] + [
        backlog(workflow="b", cache_hit=False, cached_input_tokens=0)] * 9
    row = kpi_run(tmp_path, *lines)["prompt_cache_hit_rate"]
    assert (row["numerator"], row["denominator"], row["value"]) == (1, 10, 0.1)


def test_unknown_prompt_caching_is_in_no_denominator(tmp_path: Path) -> None:
    unknown = [backlog(cache_hit=None, cached_input_tokens=...), anthropic(read=None, write=None),
               openai_chat(cached=None), litellm(read=None, write=None)]
    rows = kpi_run(tmp_path, backlog(cache_hit=True), *unknown)
    assert rows["prompt_cache_hit_rate"]["denominator"] == 1
    assert rows["cached_token_ratio"]["denominator"] == 1000


def test_response_and_semantic_cache_hits_are_not_eligible(tmp_path: Path) -> None:
    rows = kpi_run(
        tmp_path,
        backlog(cache_hit=False, cached_input_tokens=0,
                response_cache={"status": "hit", "useful": True}),
        backlog(cache_hit=False, cached_input_tokens=0,
                semantic_cache={"status": "hit", "useful": True}),
        litellm(cache_hit="True"),
        backlog(cache_hit=True, response_cache={"status": "miss"}),
    )
    assert rows["prompt_cache_hit_rate"]["denominator"] == 1
    assert rows["prompt_cache_hit_rate"]["value"] == 1.0


def test_useful_hit_rates_count_hits_not_marked_useless_over_hits_and_misses(
        tmp_path: Path) -> None:
    rows = kpi_run(
        tmp_path,
        backlog(response_cache={"status": "hit", "useful": True}),
        backlog(response_cache={"status": "hit", "useful": False}),
        backlog(response_cache={"status": "hit"}),  # usefulness not reported: a useful hit
        backlog(response_cache={"status": "miss"}),
        backlog(response_cache={"status": "bypass"}),  # not a lookup
        backlog(semantic_cache={"status": "miss", "useful": None}),
    )
    response = rows["response_cache_useful_hit_rate"]
    assert (response["numerator"], response["denominator"]) == (2, 4)
    semantic = rows["semantic_cache_useful_hit_rate"]
    assert (semantic["numerator"], semantic["denominator"], semantic["value"]) == (0, 1, 0.0)


def test_cached_token_ratio_sums_tokens_across_formats(tmp_path: Path) -> None:
    rows = kpi_run(
        tmp_path,
        backlog(input_tokens=1000, cached_input_tokens=800),          # 800 / 1000
        anthropic(input_tokens=100, read=900, write=1000),            # 900 / 2000
        openai_chat(prompt_tokens=1000, cached=0),                    # 0 / 1000
        litellm(prompt_tokens=1000, read=500, write=0),               # 500 / 1000
    )
    ratio = rows["cached_token_ratio"]
    assert (ratio["numerator"], ratio["denominator"]) == (2200, 5000)
    assert ratio["status"] == "pass"


def test_an_unused_cache_layer_is_na_and_does_not_fail(tmp_path: Path) -> None:
    rows = kpi_run(tmp_path, backlog())
    assert rows["semantic_cache_useful_hit_rate"]["status"] == "n/a"
    assert rows["semantic_cache_useful_hit_rate"]["value"] is None


def test_a_required_layer_with_no_data_fails(tmp_path: Path) -> None:
    rows = kpi_run(tmp_path, backlog(), required=frozenset({"semantic_cache_useful_hit_rate"}))
    assert rows["semantic_cache_useful_hit_rate"]["status"] == "fail"


def test_too_few_requests_is_insufficient_not_a_failure(tmp_path: Path) -> None:
    lines = [backlog(cache_hit=False, cached_input_tokens=0)] * 5
    ledger = write_ledger(tmp_path / "l.jsonl", *lines)
    lax = run_kpi(LedgerOptions(str(ledger), targets=dict(DEFAULT_TARGETS), min_requests=30))
    strict = run_kpi(LedgerOptions(str(ledger), targets=dict(DEFAULT_TARGETS), min_requests=30,
                                   strict=True))
    assert lax.sections["kpis"]["prompt_cache_hit_rate"]["status"] == "insufficient"  # type: ignore[index]
    assert lax.passed
    assert not strict.passed
    assert any("fewer than --min-requests 30" in f.message for f in strict.findings)


@pytest.mark.parametrize(("numerator", "denominator", "target", "passes"), [
    (3, 5, 0.6, True),      # 0.6 >= 0.6 exactly, whatever floats make of 3/5
    (59, 100, 0.6, False),
    (1, 3, 0.3333, True),
    (0, 1, 0.0, True),
])
def test_the_threshold_is_exact(numerator: int, denominator: int, target: float,
                                passes: bool) -> None:
    assert meets(numerator, denominator, target) is passes


def test_evaluate_statuses() -> None:
    sums = [0] * 10
    assert evaluate("prompt_cache_hit_rate", sums, 0.6, min_requests=1).status == "n/a"
    sums[1], sums[2] = 10, 7
    assert evaluate("prompt_cache_hit_rate", sums, 0.6, min_requests=30).status == "insufficient"
    assert evaluate("prompt_cache_hit_rate", sums, 0.6, min_requests=10).status == "pass"
    assert evaluate("prompt_cache_hit_rate", sums, 0.8, min_requests=10).status == "fail"


def ten_minutes_apart(index: int) -> str:
    """Requests this far apart find their cache entry expired: no miss is avoidable."""
    return f"2026-11-20T{index // 6:02d}:{index % 6 * 10:02d}:00Z"


def test_per_workflow_targets_judge_that_workflow_alone(tmp_path: Path) -> None:
    implementer = [backlog(workflow="implementer", cache_hit=index < 3,
                           timestamp=ten_minutes_apart(index)) for index in range(10)]
    validation = [backlog(workflow="validation", cache_hit=index < 9,
                          timestamp=ten_minutes_apart(index)) for index in range(10)]
    ledger = write_ledger(tmp_path / "l.jsonl", *implementer, *validation)
    options = LedgerOptions(str(ledger), targets=dict(DEFAULT_TARGETS), min_requests=0,
                            workflow_targets={"implementer": {"prompt_cache_hit_rate": 0.25}})
    result = run_kpi(options)
    pooled = result.sections["kpis"]["prompt_cache_hit_rate"]  # type: ignore[index]
    assert (pooled["numerator"], pooled["denominator"]) == (9, 10)
    assert pooled["scope"] == "workflows without their own target"
    own = result.sections["workflow_kpis"]["implementer"]["prompt_cache_hit_rate"]  # type: ignore[index]
    assert (own["value"], own["target"], own["status"]) == (0.3, 0.25, "pass")
    assert result.passed
    assert result.sections["cache_hit_rate_pct"] == 60.0


def test_failing_kpi_names_the_runbook_action_and_who_pulls_it_down(tmp_path: Path) -> None:
    lines = [backlog(workflow="implementer", prompt_id="impl-v2", cache_hit=False,
                     cached_input_tokens=0)] * 8 + [backlog(workflow="review")] * 2
    ledger = write_ledger(tmp_path / "l.jsonl", *lines)
    result = run_kpi(LedgerOptions(str(ledger), targets=dict(DEFAULT_TARGETS), min_requests=0))
    finding = next(f for f in result.findings if f.rule == "CG201")
    assert finding.severity is Severity.ERROR
    assert finding.message == ("prompt cache hit rate 20.0% is below the 60% target "
                               "(2 / 10 requests)")
    assert finding.hint is not None and "runbook step 2" in finding.hint
    notes = "\n".join(result.notes)
    assert "workflow implementer: 0.0% (8 of 8 requests missed)" in notes
    assert "prompt impl-v2: 0.0% (8 of 8 requests missed)" in notes
    assert "below 40%: escalate" in notes


def test_bad_lines_are_warnings_and_errors_with_strict(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path / "l.jsonl", backlog(), "{oops", backlog())
    lax = run_kpi(LedgerOptions(str(ledger), targets=dict(DEFAULT_TARGETS), min_requests=0))
    strict = run_kpi(LedgerOptions(str(ledger), targets=dict(DEFAULT_TARGETS), min_requests=0,
                                   strict=True))
    [warning] = [f for f in lax.findings if f.rule == "CG206"]
    assert (warning.severity, warning.line) == (Severity.WARNING, 2)
    assert lax.passed and not strict.passed


def test_a_repeat_that_comes_back_too_late_with_more_tokens_is_said_to_be_approximate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Claude Code request whose line with more tokens comes after the reader closed
    it (ledger/requests.py's window, two records here) is counted from its earlier
    line, and the report says its figures are approximate, in JSON and in text."""
    from cache_gate.ledger import requests
    from tests.ledgers import claude_code

    monkeypatch.setattr(requests, "WINDOW", 2)
    ledger = write_ledger(tmp_path / "transcript.jsonl",
                          claude_code("m1", "r1", output_tokens=10),
                          *(claude_code(f"m{n}", f"r{n}") for n in range(2, 6)),
                          claude_code("m1", "r1", output_tokens=99))
    document = json.loads(CliRunner().invoke(
        cli, ["kpi", "--ledger", str(ledger), "--format", "json"]).stdout)
    assert document["ledger"]["approximate"] == {"late_repeats_with_more_tokens": 1}
    assert document["ledger"]["duplicates"] == 1
    text = CliRunner().invoke(cli, ["kpi", "--ledger", str(ledger)]).stdout
    assert "Approximate: 1 repeated requests (Claude Code)" in text


def test_kpi_and_report_give_a_proxy_row_without_a_model_the_same_lineage(
        tmp_path: Path) -> None:
    """A LiteLLM row whose `model` is empty is read with its `model_group`, by `kpi` as
    by `report`: two groups are two lineages (each miss `cold`), in both."""
    rows = [litellm(prompt_tokens=5000, read=0, write=4000, model="", model_group=group,
                    startTime=f"2026-11-20T10:{minute:02}:00.000")
            for minute, group in ((0, "fast"), (2, "smart"))]
    ledger = write_ledger(tmp_path / "spend.jsonl", *rows)
    kpi = json.loads(CliRunner().invoke(
        cli, ["kpi", "--ledger", str(ledger), "--format", "json"]).stdout)
    report = json.loads(CliRunner().invoke(
        cli, ["report", "--ledger", str(ledger), "--format", "json"]).stdout)
    assert kpi["miss_causes"] == report["miss_causes"]
    assert kpi["miss_causes"]["overall"]["cold"]["requests"] == 2


def _plain_line(draw: st.DrawFn, minute: int) -> bytes:
    fields: dict[str, object] = {
        "timestamp": None if draw(st.integers(0, 9)) == 0
        else f"2026-11-20T{minute // 60 % 24:02d}:{minute % 60:02d}:00Z",
        "workflow": draw(st.sampled_from(["a", "b", None])),
        "prompt_id": draw(st.sampled_from(["p1", "p2", None])),
        "model": draw(st.sampled_from(["claude-sonnet-4-6", "claude-haiku-4-5", None])),
        "prefix_sha256": draw(st.sampled_from(["x", "y", None])),
        "cache_hit": draw(st.sampled_from([True, True, True, False, None])),
        "input_tokens": draw(st.sampled_from([None, 0, 5000])),
        "cached_input_tokens": draw(st.sampled_from([None, 0, 3000])),
    }
    if draw(st.booleans()):  # the Anthropic token fields: writes, 1-hour writes
        fields["cache_read_input_tokens"] = draw(st.sampled_from([None, 0, 900]))
        fields["cache_creation_input_tokens"] = draw(st.sampled_from([None, 0, 2000]))
        if draw(st.booleans()):
            fields["cache_creation"] = {"ephemeral_1h_input_tokens": draw(
                st.sampled_from([0, 2000]))}
    if draw(st.integers(0, 4)) == 0:
        fields["response_cache"] = {"status": draw(st.sampled_from(["hit", "miss"]))}
    return json.dumps(backlog(**fields)).encode()


@st.composite
def _plain_chunks(draw: st.DrawFn) -> list[list[bytes]]:
    minute = 0
    chunks = []
    for _ in range(draw(st.integers(1, 3))):
        lines = []
        for _ in range(draw(st.integers(0, 25))):
            minute += draw(st.sampled_from([0, 1, 4, 10, 70]))
            lines.append(_plain_line(draw, minute))
        chunks.append(lines)
    return chunks


@settings(max_examples=300, deadline=None)
@given(chunks=_plain_chunks())
def test_the_hot_path_leaves_kpis_sink_as_its_records_do(chunks: list[list[bytes]]) -> None:
    """kpi's sink fed plain lines by the reader's hot path (a run of hits of a lineage
    observed as its last) is, byte for byte, the sink fed their Records one by one."""
    reading = decoders(descriptive=False, timed=True, lineage=True)
    fast, slow = _evidence(), _evidence()
    for lines in chunks:
        counts = fast.add_plain_backlog(list(map(reading.plain.decode, lines)), Window(), None)
        assume(counts is not None)
        records = [read_line(raw, reading) for raw in lines]
        slow.add([record for record in records if record is not None])
    assert _state(fast) == _state(slow)


def _state(evidence: KpiEvidence) -> tuple[object, ...]:
    """The sink's state as a checkpoint keeps it (lineages in order), its Records (each
    cause's example, a waiting miss) as the miss causes read them: the hot path's
    leave out the cache layers, which an eligible request's never tell."""
    state = _STATE.decode(evidence.snapshot())
    for lineage in state.lineages.values():
        if lineage.pending is not None:
            lineage.pending.record = _as_read(lineage.pending.record)
    examples = [(cause, ordinal, _as_read(record)) for cause, ordinal, record in state.examples]
    return (state.groups, state.eligible, state.cells, state.avoidable,
            list(state.lineages.items()), examples)


def _as_read(record: Record) -> Record:
    return msgspec.structs.replace(record, response_cache=None, response_useful=None,
                                   semantic_cache=None, semantic_useful=None)


def _evidence() -> KpiEvidence:
    return KpiEvidence(Tally(), MissCauses(load_prices(), load_model_minimums()))
