"""`kpi` in bounded memory (`analyses.kpi_spill`): a sink that spills what it read to
disk every few entries gives exactly what it gives in memory: every KPI, per-workflow
verdict, contributor, miss cause, example and the worst lineage, in the same order,
whether one process reads the ledger or several (whose sinks may not spill: they
give up, and one process reads it), and whether it resumes from a checkpoint."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_gate.analyses import cause_names, kpi_evidence
from cache_gate.analyses.kpi_evidence import KpiEvidence
from cache_gate.analyses.kpis import Tally
from cache_gate.analyses.miss_causes import MissCauses
from cache_gate.config import DEFAULT_TARGETS
from cache_gate.errors import InputError
from cache_gate.findings import Result
from cache_gate.gates.kpi import LedgerOptions, kpi_result
from cache_gate.ledger.jsonl import checkpoint, resume
from cache_gate.ledger.reading import Selection
from cache_gate.models import load_model_minimums
from cache_gate.prices import load_prices
from tests.full_disk import run_on_a_full_disk, said_in_one_line
from tests.ledger.test_fast_reader_agrees import START, ledgers
from tests.ledger.test_resume import small_chunks  # noqa: F401 - a fixture
from tests.ledgers import backlog

# Names that sort apart only by code point, and the absent name: more than the
# breakdowns show (TOP_GROUPS), so that ties decide which are shown.
NAMES = [None, "", "a", "B", "é", "ab", "\U0001f600", *(f"w{index}" for index in range(20))]


REASONS = ["system_changed", "tools_changed", "quota", "x_changed", "unavailable"]
# The provider diagnoses kept by name in these runs: fewer than REASONS.
NAMED = 2


@st.composite
def many_groups(draw: st.DrawFn) -> bytes:
    """Backlog lines over many workflows, prompts and sessions, with ties in what
    they miss: the orders the answers break ties by."""
    lines = []
    for index in range(draw(st.integers(0, 80))):
        moment = START + timedelta(minutes=draw(st.sampled_from([0, 4, 6, 59, 61])) * index)
        read = draw(st.sampled_from([0, 0, 900]))
        fields: dict[str, Any] = {
            "timestamp": moment.isoformat().replace("+00:00", "Z"),
            "workflow": draw(st.sampled_from(NAMES)),
            "prompt_id": draw(st.sampled_from(NAMES)),
            "model": draw(st.sampled_from(["claude-sonnet-4-6", "claude-haiku-4-5"])),
            "prefix_sha256": draw(st.sampled_from(["a", "b"])),
            "cache_hit": read > 0, "input_tokens": 2000 if read else 1100,
            "cache_read_input_tokens": read,
            "cache_creation_input_tokens": draw(st.sampled_from([0, 1100])),
        }
        if draw(st.booleans()):
            fields["session_id"] = draw(st.sampled_from(["s1", "s2", "s3"]))
        if draw(st.booleans()):  # more names than the runs keep (NAMED)
            fields["cache_miss_reason"] = draw(st.sampled_from(REASONS))
        lines.append(json.dumps(backlog(**fields)))
    return "".join(f"{line}\n" for line in lines).encode()


def kpi(path: Path, spill_after: int, jobs: int, cache: Path | None) -> Result | str:
    """`kpi` on the ledger (as `gates.kpi.run_kpi` reads it), or why it cannot decide:
    its sinks spilling past `spill_after` entries, resumed from a checkpoint in
    `cache` where given (whatever the ledger's size), keeping NAMED diagnoses by name;
    with workflow targets, so that per-workflow sums and the pool without them count."""
    options = LedgerOptions(
        str(path), Selection(), targets={**DEFAULT_TARGETS, "avoidable_miss_rate": 0.01},
        workflow_targets={"a": {"prompt_cache_hit_rate": 0.9},
                          "impl": {"cached_token_ratio": 0.9}},
        min_requests=1, jobs=jobs)
    saved, named = kpi_evidence.SPILL_AFTER, cause_names.REASONS_NAMED
    kpi_evidence.SPILL_AFTER, cause_names.REASONS_NAMED = spill_after, NAMED
    try:
        sink, stats, _ = resume.scan(
            str(path), options.selection, lambda: KpiEvidence(Tally(), options.miss_causes()),
            cache=checkpoint.LedgerCache("kpi", cache, min_bytes=0) if cache else None, jobs=jobs)
    finally:
        kpi_evidence.SPILL_AFTER, cause_names.REASONS_NAMED = saved, named
    assert isinstance(sink, KpiEvidence)
    tally, causes = sink.answers()
    try:
        return kpi_result("kpi", tally, stats, options, causes)
    except InputError as exc:
        return str(exc)


def shown(result: Result | str) -> object:
    """Everything the reports show of a result, but how the ledger was read."""
    if isinstance(result, str):
        return result
    sections = json.loads(json.dumps(result.sections))
    sections["ledger"].pop("incremental", None)
    return sections, result.findings, result.notes


@pytest.mark.usefixtures("small_chunks")
@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ledger=st.one_of(many_groups(), ledgers(ordered=True).map(lambda pair: pair[0]),
                        ledgers(ordered=False).map(lambda pair: pair[0])),
       spill_after=st.integers(0, 12), jobs=st.integers(1, 3), resumed=st.booleans())
def test_a_spilled_read_shows_what_one_in_memory_shows(
        tmp_path_factory: pytest.TempPathFactory, ledger: bytes, spill_after: int, jobs: int,
        resumed: bool) -> None:
    folder = tmp_path_factory.mktemp("spill")
    path = folder / "ledger.jsonl"
    path.write_bytes(ledger)
    expected = kpi(path, 10**9, 1, None)
    cache = folder / "cache" if resumed else None
    assert shown(kpi(path, spill_after, jobs, cache)) == shown(expected)
    if resumed:  # and again, from the checkpoint the run left, if it left one
        assert shown(kpi(path, spill_after, jobs, cache)) == shown(expected)


def test_a_spilled_store_leaves_nothing_behind(tmp_path: Path) -> None:
    """The store's file is in a private temporary directory, gone once the answers
    are read and the sink collected."""
    path = tmp_path / "ledger.jsonl"
    path.write_text("".join(json.dumps(backlog(workflow=f"w{index}")) + "\n"
                            for index in range(50)))
    before = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("cache-gate-*"))
    result = kpi(path, 5, 1, None)
    assert isinstance(result, Result)
    assert result.sections["kpis"]["prompt_cache_hit_rate"]["denominator"] == 50
    assert set(Path(os.environ.get("TMPDIR", "/tmp")).glob("cache-gate-*")) == before


def test_a_ledger_too_varied_to_checkpoint_is_read_as_ever(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stretch whose state outgrows memory keeps no stretches in the checkpoint
    (reading them back would cost what spilling saved), and neither does a checkpoint
    over the bound: the run answers all the same."""
    path = tmp_path / "ledger.jsonl"
    path.write_text("".join(json.dumps(backlog(workflow=f"w{index}")) + "\n"
                            for index in range(50)))
    expected = shown(kpi(path, 10**9, 1, None))
    assert shown(kpi(path, 5, 1, tmp_path / "spilled")) == expected
    assert _stretches_kept(tmp_path / "spilled") == [0]
    monkeypatch.setattr(resume, "MAX_CHECKPOINT_BYTES", 100)
    assert shown(kpi(path, 10**9, 1, tmp_path / "large")) == expected
    assert _stretches_kept(tmp_path / "large") == [0]
    # The JSON report's `ledger.incremental` says why.
    use = _resumed(path, tmp_path / "large")
    assert use is not None and not use.resumed and not use.saved
    assert use.reason == checkpoint.TOO_VARIED


def _resumed(path: Path, cache: Path) -> resume.Use | None:
    _, _, use = resume.scan(str(path), Selection(), lambda: KpiEvidence(Tally(), MissCauses(
        load_prices(), load_model_minimums())), cache=checkpoint.LedgerCache(
            "kpi", cache, min_bytes=0))
    return use


def _stretches_kept(cache: Path) -> list[int]:
    """How many stretches each checkpoint in `cache` keeps."""
    return [len(checkpoint.decode(entry.read_bytes()).segments)
            for entry in cache.glob("*.checkpoint")]


def test_a_ledger_found_too_varied_is_not_tried_again_while_it_only_grows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ledger.jsonl"
    lines = [json.dumps(backlog(workflow=f"w{index}")) + "\n" for index in range(60)]
    path.write_text("".join(lines[:50]))
    monkeypatch.setattr(resume, "MAX_CHECKPOINT_BYTES", 100)
    assert _resumed(path, tmp_path / "cache") is not None
    tried: list[int] = []
    read_new = resume._read_new
    monkeypatch.setattr(resume, "_read_new", lambda *args: tried.append(1) or read_new(*args))
    [mark] = (tmp_path / "cache").glob("*.checkpoint")
    marked = mark.read_bytes()
    with path.open("a") as ledger:
        ledger.write("".join(lines[50:]))
    use = _resumed(path, tmp_path / "cache")
    assert use is not None and use.reason == checkpoint.TOO_VARIED and tried == []
    assert mark.read_bytes() == marked  # the mark stands: not written again
    # Rewritten, it is another ledger: tried again (and, with room, resumed from then on).
    path.write_text("".join(lines[:2]))
    monkeypatch.setattr(resume, "MAX_CHECKPOINT_BYTES", 10**9)
    assert _resumed(path, tmp_path / "cache") is not None and tried == [1]
    use = _resumed(path, tmp_path / "cache")
    assert use is not None and use.resumed and tried == [1, 1]


def test_no_room_on_disk_is_said_in_one_line(tmp_path: Path) -> None:
    """A disk that fills up (here: a limit on the size of a file the process writes)
    is an error that says what to do, exit 2, never a traceback."""
    path = tmp_path / "ledger.jsonl"
    path.write_text("".join(json.dumps(backlog(workflow=f"w{index}")) + "\n"
                            for index in range(500)))
    process = run_on_a_full_disk(
        "from cache_gate.analyses import kpi_evidence; kpi_evidence.SPILL_AFTER = 5",
        "kpi", "--ledger", str(path), "--no-cache")
    assert said_in_one_line(process), process.stderr
