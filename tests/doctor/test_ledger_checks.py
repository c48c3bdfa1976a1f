"""doctor over the usage ledger: manifest coverage (CG403) and workload repetition (CG404)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cache_gate.doctor import repetition
from cache_gate.doctor.repetition import Repetition, repeat_rate
from tests.doctor.helpers import doctor, doctor_json, findings_of
from tests.ledgers import backlog, write_ledger

LEDGER = ".backlog-ops/usage-ledger.jsonl"
MANIFEST = ".backlog-ops/prompt-manifest.json"


@pytest.fixture(autouse=True)
def _repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".backlog-ops").mkdir()
    monkeypatch.chdir(tmp_path)


def _manifest(*prompts: dict[str, Any]) -> None:
    Path(MANIFEST).write_text(json.dumps({"version": 1, "prompts": list(prompts)}),
                              encoding="utf-8")


def _requests(workflow: str, count: int, *, prefixes: int = 1, distinct_requests: int = 1,
              tokens: int = 1000, **fields: Any) -> list[dict[str, Any]]:
    """`count` requests of a workflow cycling through `prefixes` prefix hashes."""
    line = {"workflow": workflow, "input_tokens": tokens, "cached_input_tokens": tokens // 2,
            **fields}
    return [backlog(**line, prefix_sha256=f"{workflow}-prefix-{i % prefixes}",
                    request_sha256=f"{workflow}-request-{i % distinct_requests}")
            for i in range(count)]


def test_a_high_volume_workflow_missing_from_the_manifest() -> None:
    write_ledger(Path(LEDGER), *_requests("validation", 50), *_requests("implementer", 40),
                 *_requests("triage", 2))
    _manifest({"id": "validator", "workflow": "validation", "stable_prefix": "x.md"},
              {"id": "triage", "stable_prefix": "t.md"})
    code, document = doctor_json()
    assert code == 0  # a warning
    [finding] = findings_of(document, "CG403")
    assert finding["path"] == MANIFEST
    assert finding["message"] == (
        "workflow implementer carries 43.5% of the ledger's input tokens (40,000 of 92,000; "
        "40 requests) and has no entry in the prompt manifest: its stable prefix is never "
        "linted nor locked")
    assert '"workflow": "implementer"' in finding["hint"]
    coverage = document["doctor"]["coverage"]
    assert coverage["covered_share"] == pytest.approx(52 / 92, abs=1e-4)
    assert [u["name"] for u in coverage["uncovered"]] == ["implementer"]


def test_prompt_ids_are_matched_on_the_prompt_not_the_workflow() -> None:
    write_ledger(Path(LEDGER), *_requests("review", 30, prompt_id="reviewer"),
                 *_requests("review", 30, prompt_id="reviewer-v2"))
    _manifest({"id": "reviewer", "workflow": "review", "stable_prefix": "r.md"})
    _, document = doctor_json()
    [finding] = findings_of(document, "CG403")
    assert finding["message"].startswith("prompt reviewer-v2 carries 50.0% of the ledger's")


def test_low_volume_paths_are_not_reported() -> None:
    write_ledger(Path(LEDGER), *_requests("validation", 99), *_requests("rare", 1))
    _manifest({"id": "validation", "stable_prefix": "v.md"})
    _, document = doctor_json()
    assert findings_of(document, "CG403") == []
    assert document["doctor"]["coverage"]["uncovered"][0]["name"] == "rare"


def test_without_a_manifest_one_finding_says_so() -> None:
    write_ledger(Path(LEDGER), *_requests("validation", 40), *_requests("review", 10))
    code, document = doctor_json()
    assert code == 0
    [finding] = findings_of(document, "CG403")
    assert finding["message"] == (f"no prompt manifest at {MANIFEST}, so none of the 2 prompts "
                                  f"and workflows in {LEDGER} has its stable prefix linted")


def test_a_named_manifest_that_is_missing_is_exit_2() -> None:
    write_ledger(Path(LEDGER), *_requests("validation", 40))
    code, _, err = doctor("--manifest", "nope.json")
    assert code == 2 and "prompt manifest nope.json does not exist" in err


def test_low_prefix_reuse_is_an_inherently_low_repetition_workload() -> None:
    write_ledger(Path(LEDGER),
                 *_requests("validation", 100, prefixes=2, prompt_id="validation"),
                 *_requests("implementer", 100, prefixes=90, prompt_id="implementer",
                            cache_hit=False, cached_input_tokens=0))
    _manifest({"id": "validation", "stable_prefix": "v.md"},
              {"id": "implementer", "stable_prefix": "i.md"})
    code, document = doctor_json()
    assert code == 0
    [finding] = findings_of(document, "CG404")
    assert finding["severity"] == "info"
    assert finding["message"] == (
        "workflow implementer: only 10% of 100 requests reuse an earlier stable prefix "
        "(validation: 98%); its prompt cache hit rate is 0%: it is inherently low-repetition, "
        "and prompt caching barely pays below 25% reuse")
    assert "[tool.cache-gate.workflow-targets.implementer]" in finding["hint"]
    workload = document["doctor"]["workload"]
    assert workload["implementer"]["prefix_reuse_rate"] == 0.1
    assert workload["validation"]["prefix_reuse_rate"] == 0.98


def test_too_few_requests_are_not_judged() -> None:
    write_ledger(Path(LEDGER), *_requests("implementer", 20, prefixes=20))
    _, document = doctor_json()
    assert findings_of(document, "CG404") == []
    _, document = doctor_json("--min-requests", "10")
    assert len(findings_of(document, "CG404")) == 1


def test_a_response_cache_that_can_never_reach_its_target() -> None:
    lines = _requests("implementer", 50, distinct_requests=48,
                      response_cache={"status": "miss"})
    write_ledger(Path(LEDGER), *lines)
    _, document = doctor_json()
    [finding] = [f for f in findings_of(document, "CG404") if "exactly" in f["message"]]
    assert finding["message"] == (
        "workflow implementer: only 4% of 50 requests repeat an earlier request exactly, so "
        "its response cache can never answer more than that (target 20%)")


def test_a_ledger_without_hashes_says_what_cannot_be_measured() -> None:
    write_ledger(Path(LEDGER), *[backlog()] * 40)
    code, out, _ = doctor()
    assert code == 0
    assert "the ledger records no prefix_sha256" in out


def test_a_named_ledger_that_is_missing_is_exit_2() -> None:
    code, _, err = doctor("--ledger", "nope.jsonl")
    assert code == 2 and "ledger nope.jsonl not found" in err


def test_a_window_narrows_the_ledger() -> None:
    old = _requests("implementer", 40, prefixes=40, timestamp="2026-01-01T00:00:00Z")
    write_ledger(Path(LEDGER), *old, *_requests("validation", 40))
    _, document = doctor_json("--days", "7", "--now", "2026-11-21T00:00:00Z")
    assert set(document["doctor"]["workload"]) == {"validation"}


def test_repetition_is_exact_below_the_memory_bound() -> None:
    seen = Repetition()
    for index in range(1000):
        seen.add(f"prefix-{index % 250}")
    assert seen.counted == (1000, 250, 0)  # requests, distinct, not sampled
    assert repeat_rate(seen.counted) == 0.75


def test_repetition_samples_past_the_bound_and_stays_close(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repetition, "DISTINCT_KEPT", 500)
    seen = Repetition()
    for index in range(40_000):
        seen.add(f"prefix-{index % 10_000}")  # every prefix 4 times: 75%
    requests, distinct, level = seen.counted
    assert level > 0 and distinct <= 500 and requests == 4 * distinct
    assert repeat_rate(seen.counted) == pytest.approx(0.75, abs=0.03)
