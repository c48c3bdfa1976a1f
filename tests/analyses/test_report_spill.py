"""`report` in bounded memory (`analyses.report_spill`): a sink that spills what it read
to disk every few entries gives exactly the report it gives in memory, JSON and text,
byte for byte: every breakdown and how many groups were left out, the trend, the cache
tokens and savings per model, prefix drift (CG205), the miss causes, the TTL advice and
CG208, in the same order, whether one process reads the ledger or several (whose sinks
may not spill: they give up, and one process reads it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cache_gate.analyses import breakdowns, cause_names, hash_spill
from cache_gate.analyses.breakdowns import Analytics
from cache_gate.analyses.duplicate_spend import DuplicateSpend
from cache_gate.analyses.exact_reading import read_exactly
from cache_gate.analyses.miss_causes import MissCauses
from cache_gate.analyses.tuning import Tuning
from cache_gate.analyses.tuning_curves import ResponseTtlCurve
from cache_gate.config import Settings
from cache_gate.errors import InputError
from cache_gate.gates.kpi import LedgerOptions
from cache_gate.gates.report import report_result
from cache_gate.ledger.jsonl.reader import scan
from cache_gate.ledger.reading import Selection
from cache_gate.models import load_model_minimums
from cache_gate.prices import load_prices
from cache_gate.reporters import RenderContext, get
from tests.analyses.test_kpi_spill import NAMED, NAMES, REASONS
from tests.full_disk import run_on_a_full_disk, said_in_one_line
from tests.ledger.test_fast_reader_agrees import START, ledgers
from tests.ledger.test_resume import small_chunks  # noqa: F401 - a fixture
from tests.ledgers import backlog

# Seconds between requests at the edges that matter: the prompt cache TTLs (5 minutes,
# an hour), the duplicate TTL, a day (the trend's days).
GAPS = [0, 30, 299, 301, 1800, 3599, 3601, 86401]
# More hashes than a prompt keeps (PREFIXES_KEPT), so that which are kept matters.
HASHES = [f"h{index:02}" for index in range(breakdowns.PREFIXES_KEPT + 5)]


@st.composite
def report_ledgers(draw: st.DrawFn) -> bytes:
    """Backlog lines over many workflows, prompts, phases, models and days, with ties in
    what they count, drifting prefixes, 1-hour cache writes and repeated requests."""
    lines = []
    moment = START.timestamp()
    in_order = draw(st.booleans())
    for _ in range(draw(st.integers(0, 80))):
        moment = (moment + draw(st.sampled_from(GAPS)) if in_order
                  else START.timestamp() + draw(st.integers(0, 4 * 86400)))
        read = draw(st.sampled_from([0, 0, 900]))
        write = draw(st.sampled_from([0, 1100]))
        fields: dict[str, Any] = {
            "timestamp": _utc(moment) if draw(st.integers(0, 9)) else ...,
            "workflow": draw(st.sampled_from(NAMES)),
            "prompt_id": draw(st.sampled_from(NAMES)),
            "phase": draw(st.sampled_from([None, "", "plan", "build", "é"])),
            "model": draw(st.sampled_from(["claude-sonnet-4-6", "claude-haiku-4-5",
                                           "no-such-model", None])),
            "prefix_sha256": draw(st.sampled_from([None, *HASHES[:3], *HASHES])),
            "cache_hit": read > 0, "input_tokens": 200,
            "cache_read_input_tokens": read, "cache_creation_input_tokens": write,
        }
        if write and draw(st.booleans()):
            fields["cache_creation"] = {"ephemeral_1h_input_tokens": write}
        if draw(st.integers(0, 3)) == 0:
            fields["session_id"] = draw(st.sampled_from(["s1", "s2"]))
        if draw(st.integers(0, 5)) == 0:
            fields["request_sha256"] = draw(st.sampled_from(["r1", "r2"]))
        if draw(st.integers(0, 3)) == 0:  # more names than the runs keep (NAMED)
            fields["cache_miss_reason"] = draw(st.sampled_from(REASONS))
        lines.append(json.dumps(backlog(**fields)))
    return "".join(f"{line}\n" for line in lines).encode()


def _utc(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def analytics(memory: int | None = None) -> Analytics:
    """The report's sink, as `gates.report` makes it; its tables per request hash drop
    expired entries past `memory` hashes, where given."""
    sink = Analytics(ttl=float(Settings().response_cache_ttl),
                     causes=MissCauses(load_prices(), load_model_minimums()),
                     tuning=Tuning(load_prices()))
    if memory is not None:
        assert sink.tuning is not None
        sink.duplicates = DuplicateSpend(sink.ttl, memory)
        sink.tuning.response = ResponseTtlCurve(memory=memory)
    return sink


def report(path: Path, spill_after: int, jobs: int, hashes_held: int = 10**9,
           memory: int | None = None) -> tuple[str, str]:
    """The report (JSON, text) of the ledger, or why there is none: its sinks spilling
    past `spill_after` entries, and their tables per request hash past `hashes_held`
    (dropping expired hashes past `memory`, where given), keeping NAMED diagnoses by
    name, read by `jobs` processes
    where its stretches merge (as `gates.report` reads it, without the guess that sends
    some ledgers to one process at once)."""
    settings_ = Settings()
    options = LedgerOptions(str(path), Selection(), targets=dict(settings_.targets),
                            min_requests=1, jobs=jobs)

    def make_sink() -> Analytics:
        return analytics(memory)

    saved = breakdowns.SPILL_AFTER, hash_spill.HASHES_HELD, cause_names.REASONS_NAMED
    breakdowns.SPILL_AFTER, hash_spill.HASHES_HELD = spill_after, hashes_held
    cause_names.REASONS_NAMED = NAMED
    try:
        sink, stats = read_exactly(str(path), options.selection, make_sink, jobs)
        assert isinstance(sink, Analytics)
        result = report_result(sink, stats, options, settings_)
    except InputError as exc:  # no evidence: the same error either way
        return str(exc), ""
    finally:
        breakdowns.SPILL_AFTER, hash_spill.HASHES_HELD, cause_names.REASONS_NAMED = saved
    context = RenderContext(0)
    return get("json")(result, context), get("text")(result, context)


@pytest.mark.usefixtures("small_chunks")
@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ledger=st.one_of(report_ledgers(), ledgers(ordered=True).map(lambda pair: pair[0]),
                        ledgers(ordered=False).map(lambda pair: pair[0])),
       spill_after=st.integers(0, 12), jobs=st.integers(1, 3))
def test_a_spilled_report_is_the_report_in_memory(
        tmp_path_factory: pytest.TempPathFactory, ledger: bytes, spill_after: int,
        jobs: int) -> None:
    path = tmp_path_factory.mktemp("spill") / "ledger.jsonl"
    path.write_bytes(ledger)
    assert report(path, spill_after, jobs) == report(path, 10**9, 1)


def test_the_property_spills_and_lists_more_than_it_shows(tmp_path: Path) -> None:
    """The property above does spill, and its ledgers can leave groups and drifting
    prompts out of what the report lists: the counts come from the store."""
    lines = [backlog(workflow=f"w{index}", prompt_id=f"p{index % 30}",
                     prefix_sha256=f"h{index % 7}") for index in range(300)]
    path = tmp_path / "ledger.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    spilled, in_memory = report(path, 5, 1), report(path, 10**9, 1)
    assert spilled == in_memory
    document = json.loads(spilled[0])
    assert document["breakdown_left_out"] == {"workflow": 300 - breakdowns.BREAKDOWN_SHOWN}
    assert len(document["prefix_drift"]) == 30
    assert sum(f["rule"] == "CG205" for f in document["findings"]) == breakdowns.DRIFT_SHOWN + 1


def test_a_spilled_report_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_text("".join(json.dumps(backlog(workflow=f"w{index}")) + "\n"
                            for index in range(50)))
    before = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("cache-gate-*"))
    assert report(path, 5, 1) == report(path, 10**9, 1)
    assert set(Path(os.environ.get("TMPDIR", "/tmp")).glob("cache-gate-*")) == before


def test_no_room_on_disk_is_said_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_text("".join(json.dumps(backlog(workflow=f"w{index}", prompt_id=f"p{index}"))
                            + "\n" for index in range(500)))
    process = run_on_a_full_disk(
        "from cache_gate.analyses import breakdowns; breakdowns.SPILL_AFTER = 5",
        "report", "--ledger", str(path))
    assert said_in_one_line(process), process.stderr


def test_sigterm_mid_spill_leaves_no_file(tmp_path: Path) -> None:
    """The store's directory goes with the run, however the run ends."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    path = tmp_path / "ledger.jsonl"
    path.write_text("".join(json.dumps(backlog(workflow=f"w{index}", prompt_id=f"p{index}"))
                            + "\n" for index in range(100_000)))
    command = [sys.executable, "-c",
               "from cache_gate.analyses import breakdowns; breakdowns.SPILL_AFTER = 50; "
               "from cache_gate.cli import main; raise SystemExit(main())",
               "report", "--ledger", str(path)]
    with subprocess.Popen(command, env={"PATH": "/usr/bin:/bin", "TMPDIR": str(temporary)},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as run:
        deadline = time.monotonic() + 60
        while not any(temporary.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert any(temporary.iterdir()), "the report never spilled"
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=30)
    assert run.returncode == 128 + signal.SIGTERM, err
    assert list(temporary.iterdir()) == []
    assert b"Traceback" not in err


@pytest.mark.parametrize("limit", [0, 1, 3, 40])
def test_the_latest_days_are_the_same_spilled_or_not(tmp_path: Path, limit: int) -> None:
    """The report lists the latest days only (`lineage.DAYS_SHOWN`): its trend and the
    miss causes by day, from the store as in memory, with how many days there are."""
    path = tmp_path / "ledger.jsonl"
    path.write_text("".join(json.dumps(backlog(
        timestamp=_utc(START.timestamp() + index * 86400 / 3), workflow=f"w{index}",
        cache_hit=False, cached_input_tokens=0)) + "\n" for index in range(90)))

    def latest(spill_after: int) -> tuple[object, object]:
        saved = breakdowns.SPILL_AFTER
        breakdowns.SPILL_AFTER = spill_after
        try:
            sink, _ = scan(str(path), Selection(), lambda: Analytics(
                causes=MissCauses(load_prices(), load_model_minimums()),
                tuning=Tuning(load_prices())), descriptive=True, jobs=1)
        finally:
            breakdowns.SPILL_AFTER = saved
        assert isinstance(sink, Analytics) and sink.causes is not None
        sink.finish()
        days, count = sink.causes.days(limit)
        return sink.days(limit), ([(day, {cause: cost.to_json() for cause, cost in table.items()})
                                   for day, table in days], count)

    in_memory = latest(10**9)
    assert in_memory == latest(5)
    (days, count), (cause_days, cause_count) = in_memory
    assert count == cause_count == 30
    assert [day for day, _ in days] == [day for day, _ in cause_days]
    assert len(days) == min(limit, 30)
    assert days == sorted(days)
    assert not days or days[-1][0] == _utc(START.timestamp() + 89 * 86400 / 3)[:10]
