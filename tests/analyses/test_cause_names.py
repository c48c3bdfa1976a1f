"""A provider's diagnoses are kept by name up to a bound: a ledger that names a new
reason on every line stays bounded in memory and in the report, and its avoidable
misses are counted exactly (the pools keep avoidability: `*_changed` names pool apart)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from cache_gate.analyses import cause_names
from cache_gate.analyses.cause_names import OTHER_CHANGED, OTHER_REASON, REASONS_NAMED
from cache_gate.analyses.miss_causes import MissCauses
from cache_gate.ledger.record import Record
from cache_gate.models import load_model_minimums
from cache_gate.prices import load_prices
from tests.analyses.test_miss_causes import miss, planted
from tests.ledger.test_resume import plain, run
from tests.ledgers import write_ledger

PRICES, MINIMUMS = load_prices(), load_model_minimums()


def read(records: list[Record]) -> MissCauses:
    causes = MissCauses(PRICES, MINIMUMS)
    causes.add(records)
    return causes


def test_names_past_the_bound_are_pooled_by_what_they_say() -> None:
    """The first REASONS_NAMED names stay; later new ones pool, `*_changed` apart (and
    avoidable); a name kept stays kept; built-in causes never pool."""
    records = [miss(minute, prompt_id=f"p{minute}", miss_reason=f"r{minute}_changed")
               for minute in range(REASONS_NAMED + 10)]
    records += [miss(100, prompt_id="q", miss_reason="quota"),
                miss(101, prompt_id="q", miss_reason="r0_changed"),
                miss(102, prompt_id="q", miss_reason="model_changed")]
    causes = read(records)
    causes.bound_names(may_pool=True)
    overall = {cause: cost.requests for cause, cost in causes.overall.items()}
    assert overall[OTHER_CHANGED] == 10
    assert overall[OTHER_REASON] == 1
    assert overall["r0_changed"] == 2
    assert overall["model_changed"] == 1
    assert len(overall) == REASONS_NAMED + 3
    assert causes.avoidable_misses == REASONS_NAMED + 10 + 2
    assert causes.examples[OTHER_CHANGED] is records[REASONS_NAMED]


REASONS = ["system_changed", "tools_changed", "quota", "x_changed", "model_changed",
           "unavailable", OTHER_CHANGED]


@st.composite
def ledger(draw: st.DrawFn) -> list[Record]:
    return [miss(minute, prompt_id=draw(st.sampled_from(["p", "q"])),
                 miss_reason=draw(st.sampled_from([None, *REASONS])))
            for minute in range(draw(st.integers(0, 30)))]


def read_from_start(records: list[Record], chunks: list[int]) -> MissCauses:
    """As the reader of the ledger's start takes them: in chunks, its sink pooling
    past the bound after each."""
    causes = MissCauses(PRICES, MINIMUMS)
    bounds = [0, *sorted(min(cut, len(records)) for cut in chunks), len(records)]
    for low, high in itertools.pairwise(bounds):
        causes.add(records[low:high])
        causes.bound_names(may_pool=True)
    return causes


def outcome(causes: MissCauses) -> object:
    return (causes.to_json(), causes.examples, causes.avoidable_by_group,
            causes.worst_lineage(),
            {key: lineage.avoidable for key, lineage in causes.lineages.items()})


@settings(max_examples=300, deadline=None)
@given(records=ledger(), chunks=st.lists(st.integers(0, 30), max_size=4),
       cuts=st.lists(st.integers(0, 30), max_size=3), bound=st.integers(0, 4))
def test_pooled_in_stretches_as_one_by_one(records: list[Record], chunks: list[int],
                                           cuts: list[int], bound: int) -> None:
    """Pooled a chunk at a time, or by stretches read apart (which keep every name)
    merged into the start's, the misses are counted as when each name is pooled as it
    comes: every cell, example, avoidable count and the worst lineage."""
    with mock.patch.object(cause_names, "REASONS_NAMED", bound):
        one_by_one = outcome(read_from_start(records, list(range(len(records)))))
        assert outcome(read_from_start(records, chunks)) == one_by_one
        bounds = [0, *sorted(min(cut, len(records)) for cut in cuts), len(records)]
        first, *later = [read(records[low:high]) for low, high in itertools.pairwise(bounds)]
        first.bound_names(may_pool=True)
        for part in later:
            first.merge(part)
            first.bound_names(may_pool=True)
        assert outcome(first) == one_by_one


def test_a_stretch_read_apart_keeps_every_name() -> None:
    """It cannot know which names come first in the whole ledger: it keeps them all
    (a ledger checkpointed in stretches still resumes), for the start's to pool."""
    causes = read([miss(minute, miss_reason=f"r{minute}") for minute in range(3)])
    with mock.patch.object(cause_names, "REASONS_NAMED", 2):
        causes.bound_names(may_pool=False)
    assert sorted(causes.overall) == ["r0", "r1", "r2"]


def test_a_ledger_naming_a_reason_a_line_gives_a_bounded_report(tmp_path: Path) -> None:
    """Through the command: 500 names, REASONS_NAMED of them shown and the rest pooled,
    every miss still counted as avoidable."""
    ledger = write_ledger(tmp_path / "ledger.jsonl", *(
        planted(minute, cache_miss_reason=f"r{minute}_changed") for minute in range(500)))
    done = subprocess.run([sys.executable, "-m", "cache_gate", "kpi", "--no-cache",
                           "--ledger", str(ledger), "--format", "json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    overall = report["miss_causes"]["overall"]
    assert len(overall) == REASONS_NAMED + 1
    assert overall[OTHER_CHANGED]["requests"] == 500 - REASONS_NAMED
    assert report["kpis"]["avoidable_miss_rate"]["numerator"] == 500


def test_the_bound_the_docs_state_is_the_code_s() -> None:
    page = Path(__file__).parents[2] / "docs" / "commands" / "report.md"
    assert f"The first {REASONS_NAMED} distinct names" in page.read_text(encoding="utf-8")


def test_a_ledger_naming_more_reasons_than_the_bound_still_resumes(tmp_path: Path) -> None:
    """Its stretches keep their names in the ledger cache; the run that reads them back
    pools them, as a run without the cache does."""
    path = write_ledger(tmp_path / "ledger.jsonl", *(
        planted(minute, cache_miss_reason=f"r{minute}_changed")
        for minute in range(REASONS_NAMED + 10)))
    run(path, tmp_path / "cache")
    with path.open("a", encoding="utf-8") as ledger:
        ledger.write(json.dumps(planted(REASONS_NAMED + 10, cache_miss_reason="late")) + "\n")
    summary, use = run(path, tmp_path / "cache")
    assert use is not None and use.resumed, use
    assert summary == plain(path)
