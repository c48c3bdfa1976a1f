"""Claude Code's repeated lines: one record per request, in ledger order, in bounded
memory (`ledger.requests`), held to the unbounded reference with a tiny window."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cache_gate.analyses.kpi_evidence import KpiEvidence
from cache_gate.analyses.kpis import Tally
from cache_gate.analyses.miss_causes import MissCauses
from cache_gate.ledger import requests
from cache_gate.ledger.formats import read_line
from cache_gate.ledger.jsonl import reader
from cache_gate.ledger.jsonl.reference import read_plain
from cache_gate.ledger.lines import decoders
from cache_gate.ledger.reading import LedgerStats, Selection
from cache_gate.ledger.record import Record
from cache_gate.ledger.requests import Requests
from cache_gate.ledger.window import Window
from cache_gate.models import load_model_minimums
from cache_gate.prices import load_prices
from tests.ledger.test_reader import summary
from tests.ledgers import backlog, claude_code, gemini, openai_chat


@dataclass
class Handed:
    """A sink that keeps what it is handed, in order: (format, key, tokens, time)."""

    seen: list[tuple[str, str | None, int, float | None]] = field(default_factory=list)

    def add(self, records: list[Record]) -> None:
        self.seen += [(r.format, r.dedup_key, r.token_total, r.time) for r in records]

    def merge(self, other: Handed) -> None:
        self.seen += other.seen


@contextlib.contextmanager
def window_of(size: int, chunk: int = 1 << 20) -> Iterator[None]:
    saved = requests.WINDOW, reader.CHUNK_BYTES
    requests.WINDOW, reader.CHUNK_BYTES = size, chunk
    try:
        yield
    finally:
        requests.WINDOW, reader.CHUNK_BYTES = saved


def cc(message: str | None, request: str | None = "r", output: int = 40,
       minute: int = 0, **fields: Any) -> dict[str, Any]:
    fields.setdefault("timestamp", f"2026-11-20T10:{minute % 60:02d}:00.000Z")
    line = claude_code(message_id=message or "", request_id=request or "",
                       output_tokens=output, **fields)
    if message is None:
        del line["message"]["id"]
    if request is None:
        del line["requestId"]
    return line


def taken(window: int, lines: list[dict[str, Any]]) -> tuple[list[tuple[str | None, int]],
                                                              LedgerStats]:
    """What `Requests` hands on, fed one record at a time (the reference's way)."""
    held = Requests(window)
    stats = LedgerStats("-")
    decoding = decoders(descriptive=True, timed=True)
    out: list[Record] = []
    for line in lines:
        record = read_line(json.dumps(line).encode(), decoding)
        assert record is not None
        out += held.take([record], stats)
    out += held.close_all()
    return [(r.dedup_key, r.token_total) for r in out], stats


def test_streamed_lines_are_one_request_with_the_largest_usage() -> None:
    lines = [cc("m1", output=1), cc("m1", output=9), cc("m1", output=5), cc("m2")]
    handed, stats = taken(2, lines)
    assert [key for key, _ in handed] == ["message\x1fm1", "message\x1fm2"]
    assert handed[0][1] == 10 + 200 + 5000 + 9
    assert (stats.duplicates, stats.late_winners) == (2, 0)


def test_a_far_replay_with_the_same_usage_is_a_duplicate_not_flagged() -> None:
    lines = [cc("m1"), *(cc(f"x{i}") for i in range(5)), cc("m1", request="replay")]
    handed, stats = taken(2, lines)
    assert [key for key, _ in handed].count("message\x1fm1") == 1
    assert (stats.duplicates, stats.late_winners) == (1, 0)


def test_a_late_line_reporting_more_is_flagged_once() -> None:
    lines = [cc("m1", output=1), *(cc(f"x{i}") for i in range(5)), cc("m1", output=50),
             cc("m1", output=60)]
    handed, stats = taken(2, lines)
    assert handed[0] == ("message\x1fm1", 10 + 200 + 5000 + 1)  # kept: understated
    assert (stats.duplicates, stats.late_winners) == (2, 1)


def test_records_are_handed_on_in_the_order_of_their_first_line() -> None:
    lines = [cc("m1", output=1), backlog(cache_hit=True), cc("m2"), cc("m1", output=7),
             cc(None, request="r9"), openai_chat()]
    handed, _ = taken(3, lines)
    assert [key for key, _ in handed] == ["message\x1fm1", None, "message\x1fm2",
                                          "request\x1fr9", None]
    assert handed[0][1] == 10 + 200 + 5000 + 7


def test_memory_holds_the_window_and_a_hash_a_closed_request() -> None:
    held = Requests(4)
    stats = LedgerStats("-")
    for number in range(1000):
        held.take([Record("claude-code", dedup_key=f"k{number}", cache_read=number)], stats)
        assert len(held.open) <= 4
    assert held.closed.size == 996
    assert sum(map(len, held.closed.hashes)) == 996


# A transcript: streamed lines of a response together, replays anywhere, requestId-only
# lines, user turns, other formats' lines and junk between.
MESSAGES = [f"m{number}" for number in range(8)]


@st.composite
def transcripts(draw: st.DrawFn) -> list[str]:
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 30))):
        kind = draw(st.sampled_from(["response", "response", "replay", "request only",
                                     "user", "other", "junk", "outside"]))
        minute = draw(st.integers(0, 59))
        if kind in ("response", "replay"):
            message = draw(st.sampled_from(MESSAGES))
            request = draw(st.sampled_from(["r1", "r2", "r3"]))
            streamed = draw(st.integers(1, 3)) if kind == "response" else 1
            for _ in range(streamed):
                lines.append(json.dumps(cc(message, request, draw(st.integers(0, 60)),
                                           minute, isSidechain=kind == "replay")))
        elif kind == "request only":
            lines.append(json.dumps(cc(None, draw(st.sampled_from(["r1", "r4"])),
                                       draw(st.integers(0, 60)), minute)))
        elif kind == "user":
            lines.append(json.dumps({"sessionId": "s", "requestId": None, "type": "user",
                                     "message": {"role": "user", "content": "hi"}}))
        elif kind == "other":
            lines.append(json.dumps(draw(st.sampled_from([
                backlog(cache_hit=True, workflow="impl"), openai_chat(), gemini(),
                backlog(cache_hit=False, workflow="review")]))))
        elif kind == "outside":  # a request's line outside a window, or undated
            lines.append(json.dumps(cc(draw(st.sampled_from(MESSAGES)), "r1",
                                       timestamp="2025-01-01T00:00:00Z")))
        else:
            lines.append(draw(st.sampled_from(["{", "", "[]", '{"message": 3, "sessionId": 1}'])))
    return lines


def handed(data: bytes, selection: Selection, window: int, chunk: int, jobs: int | None,
           ) -> tuple[list[Any], dict[str, object], int]:
    """What the fast reader (jobs given) or the reference (None) hands on."""
    with tempfile.TemporaryDirectory() as folder, window_of(window, chunk):
        path = Path(folder) / "transcript.jsonl"
        path.write_bytes(data)
        if jobs is None:
            sink, stats = read_plain(str(path), selection, Handed, requests_window=window)
        else:
            sink, stats = reader.scan(str(path), selection, Handed, jobs=jobs)
    assert isinstance(sink, Handed)
    return sink.seen, summary(Tally(), stats), stats.late_winners


SINCE = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
WINDOWS = st.sampled_from([Selection(), Selection(Window(SINCE, None)),
                           Selection(workflows=frozenset({"impl"}))])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=transcripts(), window=st.integers(1, 3), chunk=st.integers(64, 1024),
       jobs=st.integers(1, 3), selection=WINDOWS)
def test_the_fast_reader_hands_on_what_the_reference_does(
        lines: list[str], window: int, chunk: int, jobs: int, selection: Selection) -> None:
    data = ("\n".join(lines) + "\n").encode()
    expected = handed(data, selection, window, chunk, None)
    assert handed(data, selection, window, chunk, jobs) == expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=transcripts(), window=st.integers(1, 3), selection=WINDOWS)
def test_a_small_window_differs_from_holding_everything_only_where_flagged(
        lines: list[str], window: int, selection: Selection) -> None:
    data = ("\n".join(lines) + "\n").encode()
    bounded, bounded_stats, flagged = handed(data, selection, window, 1 << 20, None)
    exact, exact_stats, none = handed(data, selection, 10**9, 1 << 20, None)
    assert none == 0
    event(f"late winners flagged: {bool(flagged)}")
    assert bounded_stats == exact_stats  # the same requests, lines and duplicates
    assert [kind[:2] for kind in bounded] == [kind[:2] for kind in exact]
    # Where they differ, the bounded reader kept an earlier line, reporting fewer tokens.
    understated = [(ours, theirs) for ours, theirs in zip(bounded, exact, strict=True)
                   if ours != theirs]
    assert len(understated) <= flagged
    assert all(ours[2] < theirs[2] for ours, theirs in understated)
    if not flagged:
        assert bounded == exact


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=transcripts(), window=st.integers(1, 3), chunk=st.integers(64, 1024),
       jobs=st.integers(1, 3))
def test_the_kpis_and_the_miss_causes_agree_with_a_small_window(
        lines: list[str], window: int, chunk: int, jobs: int) -> None:
    def evidence() -> KpiEvidence:
        return KpiEvidence(Tally(), MissCauses(load_prices(), load_model_minimums()))

    def seen(sink: object, stats: LedgerStats) -> dict[str, object]:
        assert isinstance(sink, KpiEvidence)
        return {**summary(sink.tally, stats), "causes": sink.causes.to_json(),
                "late": stats.late_winners}

    data = ("\n".join(lines) + "\n").encode()
    with tempfile.TemporaryDirectory() as folder, window_of(window, chunk):
        path = Path(folder) / "transcript.jsonl"
        path.write_bytes(data)
        expected = seen(*read_plain(str(path), Selection(), evidence,
                                    requests_window=window))
        assert seen(*reader.scan(str(path), Selection(), evidence, jobs=jobs)) == expected


def test_a_stretch_read_apart_without_requests_merges(tmp_path: Path) -> None:
    """Backlog lines after a transcript: the later stretch's reader keeps its records
    when enough of them come between (no re-read), and the result is the same."""
    lines = [json.dumps(cc("m1")), json.dumps(cc("m1", output=90))]
    lines += [json.dumps(backlog(cache_hit=index % 2 == 0, workflow="impl"))
              for index in range(400)]
    data = ("\n".join(lines) + "\n").encode()
    expected = handed(data, Selection(), 2, 4096, None)
    assert handed(data, Selection(), 2, 4096, 3) == expected
    assert expected[0][0][2] == 10 + 200 + 5000 + 90
