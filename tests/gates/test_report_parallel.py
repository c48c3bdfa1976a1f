"""`report` read in parallel (the fast reader's forked stretches, merged in ledger
order) gives the report, JSON and text, byte for byte, of the plain reference reader
(line by line, one pass), with any number of readers; where the stretches cannot merge
exactly, it is read again in one process."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_gate.analyses import exact_reading
from cache_gate.analyses.breakdowns import Analytics
from cache_gate.config import Settings
from cache_gate.errors import InputError
from cache_gate.gates import report as report_gate
from cache_gate.gates.kpi import LedgerOptions
from cache_gate.ledger.jsonl import reader
from cache_gate.ledger.jsonl.reference import read_plain
from cache_gate.ledger.reading import LedgerStats, Selection, Sink
from cache_gate.reporters import RenderContext, get
from tests.ledger.test_fast_reader_agrees import backlog_lines, junk, other_lines
from tests.ledgers import backlog

START = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def report_lines(draw: st.DrawFn) -> dict[str, Any]:
    """What the report reads besides the KPIs' fields: phases, costs, request and
    prefix hashes (repeated, and drifting), similarity scores."""
    line = draw(st.one_of(backlog_lines(), backlog_lines(), other_lines()))
    if "workflow" in line or draw(st.booleans()):
        line["phase"] = draw(st.sampled_from(["plan", "build"]))
        line["cost_usd"] = draw(st.sampled_from([0.01, 0.2]))
        if draw(st.integers(0, 2)) == 0:
            line["request_sha256"] = draw(st.sampled_from(["r1", "r2", "r3"]))
        if draw(st.booleans()):
            line["prefix_sha256"] = draw(st.sampled_from(["a", "b", *map(str, range(25))]))
    return line


@st.composite
def ledgers(draw: st.DrawFn) -> bytes:
    """Lines in time order (minutes to a day apart) or in none, some malformed."""
    ordered = draw(st.booleans())
    moment = START
    lines: list[bytes] = []
    for _ in range(draw(st.integers(0, 60))):
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(junk).encode("utf-8", "surrogatepass"))
            continue
        line = draw(report_lines())
        if ordered:
            moment += timedelta(seconds=draw(st.sampled_from([0, 60, 301, 3601, 90_000])))
        else:
            moment = START + timedelta(seconds=draw(st.integers(0, 300_000)))
        line.pop("created", None)
        if line.get("object") == "chat.completion":
            line["created"] = int(moment.timestamp())
        else:
            key = "startTime" if "call_type" in line else "timestamp"
            line[key] = moment.isoformat().replace("+00:00", "Z")
        lines.append(json.dumps(line).encode())
    data = b"\n".join(lines)
    return data + b"\n" if lines and draw(st.booleans()) else data


def rendered(path: Path, jobs: int | None) -> tuple[str, str]:
    """The report, JSON and text; or the error (exit 2) that no evidence makes."""
    options = LedgerOptions(str(path), targets=dict(Settings().targets), jobs=jobs)
    try:
        result = report_gate.run_report(options, Settings())
    except InputError as exc:
        return "exit 2", str(exc)
    context = RenderContext(0)
    return get("json")(result, context), get("text")(result, context)


def reference_scan(path: str, selection: Selection, make_sink: Callable[[], Sink], *,
                   descriptive: bool = False, jobs: int | None = None,
                   ) -> tuple[Sink, LedgerStats]:
    return read_plain(path, selection, make_sink, descriptive=descriptive)


@contextmanager
def counted_merges(patch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many merges succeeded (in this process: the parent merges)."""
    merges = [0]
    merge = Analytics.merge

    def counting(self: Analytics, later: Analytics) -> None:
        merge(self, later)
        merges[0] += 1

    patch.setattr(Analytics, "merge", counting)
    yield merges


def counted_scans(patch: pytest.MonkeyPatch) -> list[int | None]:
    """The `jobs` of each read the report gate asks for, in order."""
    scans: list[int | None] = []
    scan = reader.scan

    def counting_scan(*args: Any, **kwargs: Any) -> tuple[Sink, LedgerStats]:
        scans.append(kwargs.get("jobs"))
        return scan(*args, **kwargs)

    patch.setattr(exact_reading, "scan", counting_scan)
    return scans


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=ledgers(), chunk=st.integers(64, 2048))
def test_the_parallel_report_is_the_reference_readers(data: bytes, chunk: int) -> None:
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        path = Path(folder) / "ledger.jsonl"
        path.write_bytes(data)
        patch.setattr(reader, "CHUNK_BYTES", chunk)
        with patch.context() as reference:
            reference.setattr(exact_reading, "scan", reference_scan)
            expected = rendered(path, 1)
        # Every reader count tries the parallel path, even where request hashes come
        # early (where the gate would not try it).
        patch.setattr(report_gate, "_stretches_may_merge", lambda path: True)
        for jobs in (1, 2, 3, 4):
            assert rendered(path, jobs) == expected, jobs


def test_a_ledger_without_request_hashes_is_merged_not_read_again(tmp_path: Path) -> None:
    lines = [backlog(timestamp=(START + timedelta(minutes=n)).isoformat(), prompt_id=f"p{n % 3}",
                     prefix_sha256=f"h{n % 7}", phase=f"ph{n % 2}") for n in range(300)]
    path = tmp_path / "ledger.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exact_reading, "scan", reference_scan)
        expected = rendered(path, 1)
    with pytest.MonkeyPatch.context() as patch, counted_merges(patch) as merges:
        scans = counted_scans(patch)
        assert rendered(path, 3) == expected
        assert (scans, merges[0]) == ([3], 2)


def test_a_repeat_across_stretches_is_read_again_in_one_process(tmp_path: Path) -> None:
    """One request hash, every minute: the response curve cannot merge across the cut,
    so the ledger is read again with one reader, and the report is one pass's."""
    lines = [backlog(timestamp=(START + timedelta(minutes=n)).isoformat(),
                     request_sha256="r1", cache_hit=False, cached_input_tokens=0)
             for n in range(200)]
    path = tmp_path / "ledger.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(exact_reading, "scan", reference_scan)
        expected = rendered(path, 1)
    with pytest.MonkeyPatch.context() as patch:
        scans = counted_scans(patch)
        patch.setattr(report_gate, "_stretches_may_merge", lambda path: True)
        assert rendered(path, 2) == expected
        assert scans == [2, 1]
    with pytest.MonkeyPatch.context() as patch:
        scans = counted_scans(patch)
        assert rendered(path, 2) == expected
        assert scans == [1]  # the gate saw the request hashes: one process from the start


def test_which_ledgers_are_tried_in_parallel(tmp_path: Path) -> None:
    hashed, plain, empty = tmp_path / "h.jsonl", tmp_path / "p.jsonl", tmp_path / "e.jsonl"
    hashed.write_text(json.dumps(backlog(request_sha256="r1")) + "\n")
    plain.write_text(json.dumps(backlog(request_sha256=None)) + "\n")
    empty.write_text("")
    may_merge = report_gate._stretches_may_merge
    assert not may_merge(str(hashed))
    assert may_merge(str(plain)) and may_merge(str(empty))
    assert not may_merge("-") and not may_merge(str(tmp_path / "missing.jsonl"))
    assert not may_merge(str(tmp_path))


def test_a_ledger_of_new_prompts_is_read_in_one_process(tmp_path: Path) -> None:
    """Each stretch would hold a prompt's state for every line it read: merging them
    costs more than reading apart saves."""
    distinct, repeated = tmp_path / "d.jsonl", tmp_path / "r.jsonl"
    distinct.write_text("".join(json.dumps(backlog(prompt_id=f"p{i}", request_sha256=None))
                                + "\n" for i in range(100)))
    repeated.write_text("".join(json.dumps(backlog(prompt_id=f"p{i % 3}",
                                                   request_sha256=None)) + "\n"
                                for i in range(100)))
    assert not report_gate._stretches_may_merge(str(distinct))
    assert report_gate._stretches_may_merge(str(repeated))
