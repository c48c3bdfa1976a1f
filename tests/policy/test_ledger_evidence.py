"""`policy --ledger`: the response cache TTL and the semantic threshold held against a
real ledger file (CG307), notes where the ledger holds no evidence, and `policy`
without `--ledger` (and `check`) as they were."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cache_gate import rules
from cache_gate.analyses import hash_spill
from cache_gate.analyses.tuning_curves import ResponseTtlCurve
from cache_gate.cli import cli
from cache_gate.policy import ledger_evidence
from tests.ledgers import backlog
from tests.policy.helpers import (
    backlog_config,
    litellm_config,
    policy,
    policy_json,
    rules_of,
    write_configs,
)

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def stamp(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_ledger(directory: Path, lines: list[dict[str, Any]]) -> str:
    path = directory / "usage-ledger.jsonl"
    ordered = sorted(lines, key=lambda line: line["timestamp"])
    path.write_text("".join(json.dumps(line) + "\n" for line in ordered), encoding="utf-8")
    return str(path)


def repeats(gap: float, count: int = 30) -> list[dict[str, Any]]:
    """`count` requests, each sent again `gap` seconds later, 10 minutes apart."""
    return [backlog(timestamp=stamp(n * 600 + again * gap), request_sha256=f"req-{n}")
            for n in range(count) for again in (0, 1)]


def scored(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Semantic scores on the first 51 lines: below 0.88, 10 answers known not useful;
    from 0.88 one in 41: the lowest threshold at most 5% useless is 0.88."""
    scores = [(0.87, False)] * 10 + [(0.88, True)] * 20 + [(0.90, False)] + [(0.92, True)] * 20
    for line, (similarity, useful) in zip(lines, scores, strict=False):
        line["semantic_cache"] = {"status": "miss", "similarity": similarity, "useful": useful}
    return lines


def configs(directory: Path, ttl: int = 3600, threshold: float = 0.88) -> list[str]:
    semantic = {"enabled": True, "backend": "qdrant", "threshold": threshold}
    response = {"enabled": True, "ttlSeconds": ttl, "backend": "redis"}
    return write_configs(directory,
                         backlog_config(responseCache=response, semanticCache=semantic),
                         litellm_config(ttl=ttl))


def cg307(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [finding for finding in document["findings"] if finding["rule"] == "CG307"]


def test_a_ttl_the_ledger_contradicts_is_cg307_at_both_files(tmp_path: Path) -> None:
    # Requests come back after 2.5 hours: a 1-hour TTL serves none of them.
    ledger = write_ledger(tmp_path, scored(repeats(9000)))
    code, document = policy_json(*configs(tmp_path, ttl=3600), "--ledger", ledger)
    assert code == 0  # a warning
    findings = cg307(document)
    assert sorted(f["path"].rsplit("/", 1)[-1] for f in findings) == [
        "backlog.config.json", "litellm.yaml"]
    for finding in findings:
        assert finding["severity"] == "warning"
        assert finding["name"] == "config-contradicts-ledger"
        assert ("the ledger's 60 hashed requests would hit 0 times at 3600 s and 30 times "
                "at 14400 s") in finding["message"]
        assert finding["hint"] == "Set it to 14400 s (the ledger's recommendation)."
    litellm = next(f for f in findings if f["path"].endswith("litellm.yaml"))
    assert "litellm_settings.cache_params.ttl 3600" in litellm["message"]
    text = (tmp_path / "litellm.yaml").read_text().splitlines()
    assert text[litellm["line"] - 1].strip() == "ttl: 3600"
    curve = document["response_ttl_curve"]
    assert curve["recommended_ttl_s"] == 14400
    assert [p["hits"] for p in curve["points"]] == [0, 0, 0, 0, 30, 30]
    assert document["ledger"]["records"] == 60


def test_a_ttl_far_longer_than_the_ledger_needs_is_cg307(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path, scored(repeats(1500)))
    _, document = policy_json(*configs(tmp_path, ttl=86400), "--ledger", ledger)
    findings = cg307(document)
    assert len(findings) == 2
    assert all("over 4x what the ledger needs" in f["message"] for f in findings)
    assert all(f["hint"] == "Set it to 1800 s (the ledger's recommendation)." for f in findings)


def test_a_configuration_the_ledger_agrees_with_has_no_cg307(tmp_path: Path) -> None:
    # Back after 25 minutes: 30 minutes is the recommendation, 1 hour serves them all.
    ledger = write_ledger(tmp_path, scored(repeats(1500)))
    code, out, err = policy(*configs(tmp_path, ttl=3600, threshold=0.88), "--ledger", ledger)
    assert (code, err) == (0, "")
    assert "CG307" not in out
    assert "the response cache would serve 30 of them at 1800 s" in out
    assert "the lowest threshold with at most 5% known-useless hits is 0.88" in out
    _, document = policy_json(*configs(tmp_path), "--ledger", ledger)
    assert cg307(document) == []
    assert document["semantic_threshold_curve"]["recommended"] == 0.88


def test_a_threshold_far_from_the_ledger_s_is_cg307(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path, scored(repeats(1500)))
    _, document = policy_json(*configs(tmp_path, threshold=0.84), "--ledger", ledger)
    [finding] = cg307(document)
    assert finding["path"].endswith("backlog.config.json")
    assert ("llmOps.cachePolicy.semanticCache.threshold 0.84 is below what the ledger "
            "recommends: at 0.84 its 51 scored requests give 51 hits, 11 known not useful "
            "(22%); at 0.88, 41 hits, 1 known not useful") in finding["message"]
    assert finding["hint"] == "Set it to 0.88 (the ledger's recommendation)."
    # 0.02 away is not far.
    _, document = policy_json(*configs(tmp_path, threshold=0.90), "--ledger", ledger)
    assert cg307(document) == []


def test_no_evidence_is_a_note_never_a_finding(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path, [backlog(timestamp=stamp(n * 60)) for n in range(10)])
    code, out, _ = policy(*configs(tmp_path, ttl=60, threshold=0.5), "--ledger", ledger)
    assert code == 0
    assert "CG307" not in out
    assert "no request carries a request_sha256" in out
    assert "no request carries a semantic cache similarity" in out


def test_hashes_that_never_repeat_and_scores_without_verdicts_are_notes(tmp_path: Path) -> None:
    lines = [backlog(timestamp=stamp(n * 60), request_sha256=f"once-{n}",
                     semantic_cache={"status": "miss", "similarity": 0.9})
             for n in range(10)]
    ledger = write_ledger(tmp_path, lines)
    code, out, _ = policy(*configs(tmp_path), "--ledger", ledger)
    assert code == 0 and "CG307" not in out
    assert "none of its 10 hashed requests comes back within 86,400 s" in out
    assert "says whether the answer was useful" in out


def test_an_empty_window_is_a_note(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path, scored(repeats(9000)))
    code, out, _ = policy(*configs(tmp_path), "--ledger", ledger, "--since", "2027-01-01")
    assert code == 0 and "CG307" not in out
    assert "no request in the window" in out


def test_the_window_applies(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path, scored(repeats(9000)))
    # Up to the first request's return: only first sends, none comes back.
    _, document = policy_json(*configs(tmp_path), "--ledger", ledger, "--until", stamp(8999))
    assert document["ledger"]["records"] == 15
    assert document["response_ttl_curve"]["recommended_ttl_s"] is None
    assert cg307(document) == []


def test_without_ledger_policy_is_as_it_was(tmp_path: Path) -> None:
    code, document = policy_json(*configs(tmp_path, ttl=3600))
    assert code == 0
    assert cg307(document) == []
    assert {"ledger", "response_ttl_curve", "semantic_threshold_curve"}.isdisjoint(document)


def test_check_does_not_hold_the_policy_against_its_ledger(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path, scored(repeats(9000)))
    result = CliRunner().invoke(cli, ["check", *configs(tmp_path), "--ledger", ledger,
                                      "--format", "json", "--min-requests", "0"],
                                catch_exceptions=False)
    document = json.loads(result.stdout)
    assert document["gates"]["policy"]["status"] == "passed"
    assert cg307(document) == []


def test_a_postgresql_ledger_is_refused_in_one_line_without_its_password(
        tmp_path: Path) -> None:
    code, out, err = policy(*configs(tmp_path), "--ledger",
                            "postgresql://litellm:s3cret-pw@db.internal:5432/litellm")
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "PostgreSQL ledger is not supported here yet" in err
    assert "s3cret-pw" not in err


def test_a_ledger_with_no_valid_request_cannot_decide(tmp_path: Path) -> None:
    path = tmp_path / "usage-ledger.jsonl"
    path.write_text("not json\n{also not\n", encoding="utf-8")
    code, _, err = policy(*configs(tmp_path), "--ledger", str(path))
    assert code == 2
    assert "no evidence to decide on" in err


def test_a_missing_ledger_is_exit_2(tmp_path: Path) -> None:
    code, _, err = policy(*configs(tmp_path), "--ledger", str(tmp_path / "absent.jsonl"))
    assert code == 2 and err.startswith("cache-gate: error: ")


def test_a_ttl_set_from_the_environment_is_noted_not_judged(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path, scored(repeats(9000)))
    config = litellm_config(ttl="os.environ/CACHE_TTL")
    args = write_configs(tmp_path, litellm=yaml.safe_load(yaml.safe_dump(config)))
    code, out, _ = policy(*args, "--ledger", ledger)
    assert code == 0
    assert "CG307 config-contradicts-ledger" not in out
    assert "its fit with the ledger (CG307) is not checked" in out


def test_cg307_can_be_ignored_in_the_settings(tmp_path: Path) -> None:
    ledger = write_ledger(tmp_path, scored(repeats(9000)))
    (tmp_path / ".cache-gate.toml").write_text('ignore = ["CG307"]\n', encoding="utf-8")
    _, document = policy_json(*configs(tmp_path), "--ledger", ledger)
    assert rules_of(document) == []


def test_the_checking_module_documents_cg307() -> None:
    doc = ledger_evidence.__doc__ or ""
    lead = " ".join(doc.split("\n\n", 1)[0].split())
    assert f"CG307 {rules.get('CG307').name}" in lead
    assert re.search(r"(?m)^Example:", doc) and re.search(r"(?m)^Fix: ", doc)


def test_a_curve_whose_hashes_went_to_disk_says_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """policy's curves are bounded in memory as report's are (`hash_spill`): the
    hashes of a dense ledger go to disk, and the findings and curves do not change."""
    lines = repeats(9000, count=200) + [
        backlog(timestamp=stamp(n * 7.5), request_sha256=f"{n:064x}") for n in range(400)]
    ledger = write_ledger(tmp_path, scored(lines))
    arguments = (*configs(tmp_path, ttl=3600), "--ledger", ledger)
    in_memory = policy_json(*arguments)
    monkeypatch.setattr(hash_spill, "HASHES_HELD", 10)
    spills: list[int] = []
    spill = ResponseTtlCurve.spill
    monkeypatch.setattr(ResponseTtlCurve, "spill",
                        lambda curve: spills.append(1) or spill(curve))
    assert policy_json(*arguments) == in_memory
    assert spills  # it did go to disk
    assert cg307(in_memory[1]) and in_memory[1]["response_ttl_curve"]["recommended_ttl_s"]
