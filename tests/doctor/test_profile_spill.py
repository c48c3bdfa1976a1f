"""doctor in bounded memory (`doctor.profile_store`): a profile that spills what it read
to disk every few entries gives exactly the report it gives in memory, JSON and text,
byte for byte: coverage (CG403, the uncovered paths, the shares), the workload table,
its left-out count, the sampled repetition rates and CG404 with its cut."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_gate.doctor import coverage, ledger_profile, repetition, workload
from tests.analyses.test_kpi_spill import NAMES
from tests.doctor.helpers import doctor
from tests.full_disk import run_on_a_full_disk, said_in_one_line
from tests.ledger.test_resume import small_chunks  # noqa: F401 - a fixture
from tests.ledgers import backlog

LEDGER = "ledger.jsonl"
MANIFEST = "manifest.json"
HASHES = [f"h{index}" for index in range(12)]


@st.composite
def profiles(draw: st.DrawFn) -> tuple[bytes, bytes | None]:
    """Backlog lines over many workflows and prompts, with ties in what they count and
    repeated hashes; and a manifest that covers some of them, or none."""
    lines = []
    workflows = NAMES[:draw(st.integers(1, len(NAMES)))]  # few, or many
    for _ in range(draw(st.integers(1, 80))):
        fields: dict[str, Any] = {
            "workflow": draw(st.sampled_from(workflows)),
            "prompt_id": draw(st.sampled_from(NAMES)),
            "input_tokens": draw(st.sampled_from([0, 100, 1000])),
            "cached_input_tokens": 0,
            "cache_hit": draw(st.booleans()),
            "prefix_sha256": draw(st.sampled_from([None, *HASHES[:2], *HASHES])),
            "request_sha256": draw(st.sampled_from([None, *HASHES])),
        }
        if draw(st.booleans()):
            fields["response_cache"] = {"status": draw(st.sampled_from(["hit", "miss"]))}
        lines.append(json.dumps(backlog(**fields)))
    named = [name for name in NAMES if name]
    manifest = None
    if draw(st.booleans()):
        manifest = json.dumps({"version": 1, "prompts": [
            {"id": name, "workflow": draw(st.sampled_from(named))}
            for name in draw(st.lists(st.sampled_from(named), max_size=8, unique=True))]})
    return ("".join(f"{line}\n" for line in lines).encode(),
            None if manifest is None else manifest.encode())


def _doctor(spill_after: int) -> tuple[str, str]:
    """doctor's JSON and text on the ledger here, spilling past `spill_after` entries."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ledger_profile, "SPILL_AFTER", spill_after)
        manifest = ["--manifest", MANIFEST] if Path(MANIFEST).exists() else []
        runs = [doctor("--ledger", LEDGER, *manifest, "--min-requests", "2", "--format", form)
                for form in ("json", "text")]
    assert all(code in (0, 1) and err == "" for code, _, err in runs), runs
    return runs[0][1], runs[1][1]


@pytest.fixture(autouse=True)
def _small_cuts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small sample, and short lists, so that the cuts and the levels matter; a
    temporary directory of the test's own."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setattr(repetition, "DISTINCT_KEPT", 2)
    monkeypatch.setattr(workload, "WORKFLOWS_SHOWN", 4)
    monkeypatch.setattr(workload, "FINDINGS_SHOWN", 2)
    monkeypatch.setattr(coverage, "UNCOVERED_SHOWN", 3)


@pytest.mark.usefixtures("small_chunks")
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=profiles(), spill_after=st.integers(0, 40))
def test_a_spilled_profile_reports_what_one_in_memory_does(
        case: tuple[bytes, bytes | None], spill_after: int) -> None:
    ledger, manifest = case
    Path(LEDGER).write_bytes(ledger)
    Path(MANIFEST).unlink(missing_ok=True)
    if manifest is not None:
        Path(MANIFEST).write_bytes(manifest)
    assert _doctor(spill_after) == _doctor(10**9)


def test_the_report_lists_the_largest_and_counts_the_rest(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repetition, "DISTINCT_KEPT", 1000)
    Path(LEDGER).write_text("".join(
        json.dumps(backlog(workflow=f"w{index}", prompt_id=None, input_tokens=1000 + index,
                           prefix_sha256=f"p{index}-{request}",
                           request_sha256=f"r{index}-{request}")) + "\n"
        for index in range(10) for request in range(index + 2)))
    spilled, in_memory = _doctor(5), _doctor(10**9)
    assert spilled == in_memory
    document = json.loads(spilled[0])
    assert list(document["doctor"]["workload"]) == ["w9", "w8", "w7", "w6"]
    assert document["doctor"]["workload_left_out"] == 6
    low = [f["message"] for f in document["findings"] if f["rule"] == "CG404"]
    # No workflow reuses a prefix: the two with the most requests listed, one more
    # finding for the rest (no response cache in use: no CG404 for the requests).
    assert sorted(message.split(" reuse")[0] for message in low) == [
        "8 more workflows", "workflow w8: only 0% of 10 requests",
        "workflow w9: only 0% of 11 requests"]


def test_a_spilled_profile_leaves_nothing_behind() -> None:
    Path(LEDGER).write_text("".join(json.dumps(backlog(workflow=f"w{index}")) + "\n"
                                    for index in range(50)))
    assert _doctor(5) == _doctor(10**9)
    assert list(Path(tempfile.gettempdir()).iterdir()) == []


def test_no_room_on_disk_is_said_in_one_line() -> None:
    Path(LEDGER).write_text("".join(json.dumps(backlog(workflow=f"w{index}")) + "\n"
                                    for index in range(2000)))
    process = run_on_a_full_disk(
        "from cache_gate.doctor import ledger_profile; ledger_profile.SPILL_AFTER = 5",
        "doctor", "--ledger", LEDGER)
    assert said_in_one_line(process), process.stderr
