"""Property: on any ledger, malformed or not, the fast reader (chunked, forked,
seeking, plain-backlog hot path) agrees with the plain line-by-line reader."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_gate.analyses.kpi_evidence import KpiEvidence
from cache_gate.analyses.kpis import Tally
from cache_gate.analyses.miss_causes import MissCauses
from cache_gate.ledger.jsonl import reader
from cache_gate.ledger.jsonl.reference import read_plain
from cache_gate.ledger.reading import LedgerStats, Selection
from cache_gate.ledger.window import Window
from cache_gate.models import load_model_minimums
from cache_gate.prices import load_prices
from tests.ledger.test_reader import fast, plain, summary
from tests.ledgers import (
    anthropic,
    backlog,
    bedrock_converse,
    bedrock_log,
    claude_code,
    deepseek,
    gemini,
    gemini_sdk,
    litellm,
    openai_chat,
    usage_report,
    usage_row,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
tokens = st.one_of(st.integers(0, 5000), st.none())
odd_values = st.sampled_from(["12", -3, 1.5, True, [1], {"a": 1}, "x"])


@st.composite
def backlog_lines(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "workflow": draw(st.sampled_from(["impl", "review", None, ...])),
        "prompt_id": draw(st.sampled_from(["p1", "p2", ...])),
        "input_tokens": draw(tokens),
        "cached_input_tokens": draw(st.one_of(tokens, st.just(...))),
        "cache_hit": draw(st.sampled_from([True, False, None, ...])),
        "model_alias": draw(st.sampled_from(["cheap", ...])),
        # What a miss's cause compares: another model, another prefix.
        "model": draw(st.sampled_from(["claude-sonnet-4-6", "claude-haiku-4-5", ...])),
        "prefix_sha256": draw(st.sampled_from(["a", "b", ...])),
    }
    if draw(st.booleans()):
        fields["response_cache"] = {"status": draw(st.sampled_from(["hit", "miss", "bypass"])),
                                    "useful": draw(st.sampled_from([True, False, None]))}
    if draw(st.booleans()):
        fields["semantic_cache"] = {"status": draw(st.sampled_from(["hit", "miss"])),
                                    "useful": draw(st.sampled_from([True, False]))}
        if draw(st.booleans()):
            fields["semantic_cache"]["similarity"] = draw(st.one_of(
                st.floats(0, 1), odd_values))
    # What only the miss causes read: the hot path skips it, the general path reads
    # it leniently; neither may call the line bad.
    if draw(st.integers(0, 3)) == 0:
        fields["session_id"] = draw(st.one_of(st.sampled_from(["s1", "s2", ""]), odd_values))
    if draw(st.integers(0, 3)) == 0:
        fields["cache_miss_reason"] = draw(st.one_of(
            st.sampled_from(["model_changed", "\x1b[31mx", "A" * 100]), odd_values))
    if draw(st.integers(0, 2)) == 0:  # the Anthropic token fields (the hot path takes them)
        fields["cache_read_input_tokens"] = draw(tokens)
        fields["cache_creation_input_tokens"] = draw(tokens)
        if draw(st.booleans()):
            fields["cache_creation"] = {"ephemeral_1h_input_tokens": draw(tokens)}
    if draw(st.integers(0, 14)) == 0:  # a wrong-typed field somewhere
        fields[draw(st.sampled_from(list(fields)))] = draw(odd_values)
    return backlog(**fields)


def other_lines() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(anthropic, input_tokens=st.integers(0, 900), read=tokens, write=tokens),
        st.builds(anthropic, read=tokens, diagnostics=st.one_of(odd_values, st.sampled_from(
            [None, {"cache_miss_reason": {"type": "system_changed"}},
             {"cache_miss_reason": {"type": "\x1b]0;x\x07"}}]))),
        st.builds(openai_chat, prompt_tokens=st.integers(0, 900), cached=tokens),
        st.builds(litellm, prompt_tokens=st.integers(0, 2000), read=tokens, write=tokens,
                  cache_hit=st.sampled_from(["True", "False"]),
                  cache_key=st.sampled_from(["k", "Cache OFF"]),
                  metadata_as_string=st.booleans()),
        st.builds(claude_code, message_id=st.sampled_from(["m1", "m2", "m3"]),
                  request_id=st.sampled_from(["r1", "r2"]), output_tokens=st.integers(0, 99)),
        st.builds(bedrock_converse, input_tokens=st.integers(0, 900), read=tokens,
                  write=tokens, details=st.sampled_from(
                      [None, [], [{"ttl": "1h", "inputTokens": 0}]])),
        st.builds(bedrock_log, input_tokens=st.integers(0, 900), read=tokens, write=tokens),
        st.builds(gemini, prompt=st.integers(0, 9000), cached=tokens),
        st.builds(gemini_sdk, prompt=st.integers(0, 9000), cached=tokens),
        st.builds(deepseek, prompt_tokens=st.integers(0, 9000), hit=tokens, miss=tokens),
        st.builds(usage_report, st.builds(usage_row, uncached=st.integers(0, 900),
                                          read=st.integers(0, 5000),
                                          model=st.sampled_from(["a", "b", None])),
                  starting_at=st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z",
                                               "not a time"])),
    )


junk = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=30),
    st.sampled_from(["", "  ", "\r", "{", "[]", "null", '{"a":1} {"b":2}', '{"cache_hit":true',
                     '{"cache_hit": NaN}', "\ufeff{}", '{"workflow":"\\ud800"}']),
)


@st.composite
def ledgers(draw: st.DrawFn, ordered: bool) -> tuple[bytes, list[float]]:
    count = draw(st.integers(0, 60))
    raw_lines: list[bytes] = []
    times: list[float] = []
    for index in range(count):
        if draw(st.integers(0, 7)) == 0:
            raw_lines.append(draw(junk).encode("utf-8", "surrogatepass"))
            continue
        line = draw(st.one_of(backlog_lines(), other_lines()))
        if draw(st.integers(0, 5)) == 0:  # a workflow logged beside any format's line
            line.setdefault("workflow", draw(st.sampled_from(["impl", "review"])))
        if ordered:
            jitter = draw(st.integers(-1800, 0))  # appenders interleave a little
            moment = START + timedelta(minutes=30 * index, seconds=jitter)
        else:
            moment = START + timedelta(minutes=draw(st.integers(0, 3000)))
        # Each format's own time field: OpenAI's epoch `created`, LiteLLM's `startTime`.
        line.pop("created", None)
        if draw(st.integers(0, 10)) > 0:
            if line.get("object") == "chat.completion":
                line["created"] = int(moment.timestamp())
            else:
                key = "startTime" if "call_type" in line else "timestamp"
                line[key] = moment.isoformat().replace("+00:00", "Z")
            times.append(moment.timestamp())
        else:
            line.pop("startTime", None)
            line.pop("timestamp", None)
        raw_lines.append(json.dumps(line).encode())
    if draw(st.integers(0, 20)) == 0:
        raw_lines.append(b"\xff\xfe not utf-8")
    data = b"\n".join(raw_lines)
    if raw_lines and draw(st.booleans()):
        data += b"\n"
    return data, times


def check(data: bytes, selection: Selection, chunk: int, jobs: int, full: bool) -> None:
    saved = reader.CHUNK_BYTES
    reader.CHUNK_BYTES = chunk
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "ledger.jsonl"
            path.write_bytes(data)
            expected = summary(*plain(path, selection, descriptive=full))
            actual = summary(*fast(path, selection, jobs, descriptive=full))
    finally:
        reader.CHUNK_BYTES = saved
    assert actual == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledger=ledgers(ordered=False), chunk=st.integers(64, 2048), jobs=st.integers(1, 3),
       full=st.booleans(), only=st.sampled_from([None, frozenset({"impl"})]))
def test_whole_ledger(ledger: tuple[bytes, list[float]], chunk: int, jobs: int, full: bool,
                      only: frozenset[str] | None) -> None:
    check(ledger[0], Selection(workflows=only), chunk, jobs, full)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledger=ledgers(ordered=True), chunk=st.integers(64, 1024), jobs=st.integers(1, 2),
       start=st.integers(0, 40), hours=st.integers(0, 30), open_end=st.booleans())
def test_time_window_on_an_ordered_ledger(ledger: tuple[bytes, list[float]], chunk: int,
                                          jobs: int, start: int, hours: int,
                                          open_end: bool) -> None:
    since = (START + timedelta(minutes=30 * start)).timestamp()
    until = None if open_end else since + hours * 3600
    check(ledger[0], Selection(Window(since, until)), chunk, jobs, False)


def evidence() -> KpiEvidence:
    """kpi's sink, priced by the shipped tables."""
    return KpiEvidence(Tally(), MissCauses(load_prices(), load_model_minimums()))


def evidence_summary(sink: object, stats: LedgerStats) -> dict[str, object]:
    """Everything kpi shows of its sink and the reader's stats."""
    assert isinstance(sink, KpiEvidence)
    sink.tally.add_avoidable(sink.causes.avoidable_by_group)
    # The example of each cause is the same request, whichever path read it.
    examples = {cause: (record.time, record.workflow, record.prompt_id, record.model)
                for cause, record in sink.causes.examples.items()}
    return {**summary(sink.tally, stats), "causes": sink.causes.to_json(),
            "avoidable": dict(sink.causes.avoidable_by_group), "examples": examples,
            "eligible": sink.causes.eligible}


def causes_check(data: bytes, selection: Selection, chunk: int, jobs: int = 1) -> None:
    """kpi's sink: the tally and the miss causes, fed by the hot path where it can, read
    in `jobs` stretches merged in ledger order, equal what the plain reader gives
    (every line a Record, one pass)."""
    saved = reader.CHUNK_BYTES
    reader.CHUNK_BYTES = chunk
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "ledger.jsonl"
            path.write_bytes(data)
            expected = evidence_summary(*read_plain(str(path), selection, evidence))
            actual = evidence_summary(*reader.scan(str(path), selection, evidence, jobs=jobs))
    finally:
        reader.CHUNK_BYTES = saved
    assert actual == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledger=ledgers(ordered=True), chunk=st.integers(64, 2048),
       only=st.sampled_from([None, frozenset({"impl"})]), windowed=st.booleans(),
       jobs=st.integers(1, 4))
def test_the_miss_causes_agree_with_the_plain_reader(
        ledger: tuple[bytes, list[float]], chunk: int, only: frozenset[str] | None,
        windowed: bool, jobs: int) -> None:
    data, times = ledger
    window = Window(min(times), max(times) - 600) if windowed and times else Window()
    causes_check(data, Selection(window, only), chunk, jobs)


@st.composite
def disordered(draw: st.DrawFn) -> tuple[bytes, float, float | None]:
    """An hourly ledger with one block of lines moved out of time order (to the start,
    to the end, or anywhere), and a window whose edges may fall inside the block: what
    concatenated transcripts and batch writers produce."""
    count = draw(st.integers(20, 200))
    lines = [json.dumps(backlog(
        timestamp=(START + timedelta(hours=index)).isoformat().replace("+00:00", "Z"),
        cache_hit=index % 3 != 0, workflow=f"w{index % 2}")) for index in range(count)]
    size = draw(st.integers(1, count))
    first = draw(st.integers(0, count - size))
    block, rest = lines[first:first + size], lines[:first] + lines[first + size:]
    where = draw(st.sampled_from(["start", "end", "anywhere"]))
    at = {"start": 0, "end": len(rest)}.get(where) or draw(st.integers(0, len(rest)))
    lines = rest[:at] + block + rest[at:]
    since_hour = draw(st.integers(0, count))
    since = (START + timedelta(hours=since_hour)).timestamp()
    until = None if draw(st.booleans()) else since + draw(st.integers(0, count)) * 3600
    return ("\n".join(lines) + "\n").encode(), since, until


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledger=disordered(), chunk=st.integers(64, 1024), jobs=st.integers(1, 3),
       open_start=st.booleans())
def test_a_window_on_a_disordered_ledger_loses_no_record(
        ledger: tuple[bytes, float, float | None], chunk: int, jobs: int,
        open_start: bool) -> None:
    data, since, until = ledger
    window = Window(None if open_start and until is not None else since, until)
    check(data, Selection(window), chunk, jobs, False)
