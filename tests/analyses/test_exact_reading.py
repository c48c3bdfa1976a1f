"""A ledger out of time order, read by sinks whose tables per request hash drop expired
entries (exact only in time order): the gates notice that a pass met a hash whose
entry it had dropped, and read the ledger again keeping every hash, so duplicate spend
and the response TTL curve are what a table that never drops gives."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cache_gate.analyses.breakdowns import Analytics
from cache_gate.analyses.exact_reading import read_exactly
from cache_gate.analyses.merging import DROP_SLACK
from cache_gate.analyses.tuning_curves import ResponseTtlCurve
from cache_gate.ledger.jsonl.reader import scan
from cache_gate.ledger.reading import Selection, Sink
from cache_gate.policy.ledger_evidence import CurveEvidence
from tests.analyses.test_report_spill import analytics
from tests.ledgers import backlog

START = datetime(2026, 11, 20, tzinfo=UTC)


def _at(seconds: int, request: str) -> str:
    moment = (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
    return json.dumps(backlog(timestamp=moment, request_sha256=request, cache_hit=False))


@pytest.fixture
def disordered(tmp_path: Path) -> Path:
    """`a` at 0 s, `b` a day and the slack and a second later (a table holding one hash
    drops `a`'s entry then: it expired, at every TTL, before `b`), then `a` again at
    0 s: a duplicate of the first, and a hit of the response cache, which only a table
    that kept `a` sees."""
    path = tmp_path / "ledger.jsonl"
    late = 86400 + int(DROP_SLACK) + 1
    path.write_text("".join(f"{line}\n" for line in (_at(0, "a"), _at(late, "b"),
                                                     _at(0, "a"))))
    return path


def _analytics(memory: int | None) -> Callable[[], Sink]:
    return lambda: analytics(memory)


def _curves(memory: int | None) -> Callable[[], Sink]:
    def make() -> CurveEvidence:
        sink = CurveEvidence()
        if memory is not None:
            sink.response = ResponseTtlCurve(memory=memory)
        return sink
    return make


def _seen(sink: Sink) -> tuple[object, ...]:
    if isinstance(sink, Analytics):
        assert sink.tuning is not None
        return (sink.duplicates.requests, sink.tuning.response.to_json())
    assert isinstance(sink, CurveEvidence)
    return (sink.response.to_json(),)


@pytest.mark.parametrize("make_sink", [_analytics, _curves])
def test_one_pass_that_dropped_an_entry_it_meets_again_is_an_estimate(
        disordered: Path, make_sink: Callable[[int | None], Callable[[], Sink]]) -> None:
    sink, _ = scan(str(disordered), Selection(), make_sink(1), descriptive=True, jobs=1)
    exact, _ = scan(str(disordered), Selection(), make_sink(None), descriptive=True, jobs=1)
    assert isinstance(sink, Analytics | CurveEvidence)
    assert sink.estimated and _seen(sink) != _seen(exact)


@pytest.mark.parametrize("make_sink", [_analytics, _curves])
@pytest.mark.parametrize("jobs", [1, 2])
def test_the_gates_read_it_again_keeping_every_hash(
        disordered: Path, make_sink: Callable[[int | None], Callable[[], Sink]],
        jobs: int) -> None:
    sink, stats = read_exactly(str(disordered), Selection(), make_sink(1), jobs)
    exact, _ = scan(str(disordered), Selection(), make_sink(None), descriptive=True, jobs=1)
    assert isinstance(sink, Analytics | CurveEvidence)
    assert not sink.estimated
    assert _seen(sink) == _seen(exact)
    assert stats.path == str(disordered) and stats.records == 3


def test_the_duplicate_is_counted(disordered: Path) -> None:
    sink, _ = read_exactly(str(disordered), Selection(), _analytics(1), 1)
    assert isinstance(sink, Analytics)
    assert sink.duplicates.requests == 1


@pytest.mark.parametrize("make_sink", [_analytics, _curves])
def test_lines_swapped_within_the_slack_are_read_once(
        tmp_path: Path, make_sink: Callable[[int | None], Callable[[], Sink]]) -> None:
    """Three days of requests 100 s apart, every two lines swapped (writers that
    interleave), each its own hash but every tenth, which repeats one of 20,000 s
    before: tables that drop expired entries all along (holding one hash), yet one
    pass is exact, not an estimate."""
    lines = [_at(index * 100, f"h{index - 200 if index % 10 == 0 else index}")
             for index in range(2600)]
    for index in range(0, len(lines) - 1, 2):
        lines[index], lines[index + 1] = lines[index + 1], lines[index]
    path = tmp_path / "ledger.jsonl"
    path.write_text("".join(f"{line}\n" for line in lines))
    sink, _ = scan(str(path), Selection(), make_sink(1), descriptive=True, jobs=1)
    exact, _ = scan(str(path), Selection(), make_sink(None), descriptive=True, jobs=1)
    assert isinstance(sink, Analytics | CurveEvidence)
    assert not sink.estimated
    assert _seen(sink) == _seen(exact)
