"""What shipping a cache-breaking change costs a day, said on the pull request.

The demo repository with a request id pasted into the reviewer's system prompt: lint
fails (CG104, and CG111 against the lock) and, reading the demo's usage ledger, says
what that costs a day. The figure is checked against the formula computed here from
the plain reference reader's records.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cache_gate.ledger.jsonl.reference import read_plain
from cache_gate.ledger.reading import Selection
from cache_gate.ledger.record import Record
from cache_gate.prices import load_prices

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
LEDGER = ".backlog-ops/usage-ledger.jsonl"
REQUEST_ID = "request 123e4567-e89b-12d3-a456-426614174000 is the example\n"


class Records:
    """A sink that keeps every record (the reference's answer, not a fast path)."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def add(self, records: list[Record]) -> None:
        self.records.extend(records)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    repository = tmp_path / "demo"
    shutil.copytree(DEMO, repository)
    with (repository / "prompts" / "reviewer-system.md").open("a", encoding="utf-8") as file:
        file.write(REQUEST_ID)
    return repository


def lint(repository: Path, *args: str) -> tuple[int, dict[str, Any]]:
    process = subprocess.run([sys.executable, "-m", "cache_gate", "lint", "--no-render",
                              "--format", "json", *args], cwd=repository,
                             capture_output=True, text=True, check=False)
    return process.returncode, json.loads(process.stdout)


def expected_usd_per_day(ledger: Path, prompt: str) -> float:
    sink, _ = read_plain(str(ledger), Selection(), Records, descriptive=True)
    assert isinstance(sink, Records)
    times = [r.time for r in sink.records if r.time is not None and not r.aggregate]
    days = max(1.0, (max(times) - min(times)) / 86400)
    mine = [r for r in sink.records if r.prompt_id == prompt and not r.aggregate]
    cached = [(r.cache_read or 0) + (r.cache_write or 0) for r in mine if r.eligible]
    cached = [tokens for tokens in cached if tokens]
    cacheable = sum(cached) / len(cached)
    model = Counter(r.model for r in mine if r.model).most_common(1)[0][0]
    price = load_prices().price(model)
    assert price is not None
    return len(mine) / days * cacheable * price / 1e6 * 0.9


def test_each_breaking_error_says_what_shipping_it_costs_a_day(broken: Path) -> None:
    code, report = lint(broken)
    assert code == 1
    cost = report["breaking_cost"]
    assert list(cost["by_prompt"]) == ["reviewer"]
    assert cost["usd_per_day"] == pytest.approx(
        expected_usd_per_day(broken / LEDGER, "reviewer"), abs=1e-4)
    priced = [f for f in report["findings"] if f["prompt_id"] == "reviewer"
              and f["severity"] == "error"]
    assert {f["rule"] for f in priced} == {"CG104", "CG111"}
    for finding in priced:
        assert f"(shipping this costs ≈ ${cost['usd_per_day']:,.2f}/day: " in finding["message"]


def test_the_price_does_not_change_a_findings_fingerprint(broken: Path) -> None:
    _, priced = lint(broken)
    _, unpriced = lint(broken, "--ledger", "no-such-ledger.jsonl")
    assert "breaking_cost" not in unpriced
    assert ({f["fingerprint"] for f in priced["findings"]}
            == {f["fingerprint"] for f in unpriced["findings"]})


def test_the_pull_request_comment_leads_with_the_total(broken: Path) -> None:
    _, report = lint(broken)
    process = subprocess.run([sys.executable, "-m", "cache_gate", "lint", "--no-render",
                              "--format", "markdown"], cwd=broken, capture_output=True,
                             text=True, check=False)
    title, blank, counts, blank_too, lead = process.stdout.splitlines()[:5]
    assert title.startswith("### cache-gate lint:") and blank == blank_too == ""
    assert counts == "2 errors, 1 warning."
    assert lead.startswith(f"**Shipping this change costs ≈ "
                           f"${report['breaking_cost']['usd_per_day']:,.2f} a day**")


def test_a_clean_change_reads_no_ledger(tmp_path: Path) -> None:
    """Passing lint never opens the ledger: the pre-commit path stays fast."""
    repository = tmp_path / "demo"
    shutil.copytree(DEMO, repository)
    (repository / LEDGER).write_text("not json at all\n" * 3)
    code, report = lint(repository)
    assert code == 0
    assert "breaking_cost" not in report
