"""`check` on a hook's path (the bundled example, as `bench/startup.py` runs it): only
the imports it needs, records that are cheap to define, the render commands running
while it imports the rest, and no garbage collection walking everything at exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"

# Runs `python -m cache_gate check` in a fresh interpreter, noting the cache_gate
# modules imported when the render commands are started and when they are waited for,
# and at exit every module, the dataclasses of cache_gate's modules and the collector's
# state.
PROBE = """\
import dataclasses, gc, json, sys
from cache_gate.manifest import processes

seen = {}

def watch(method, name):
    def watched(self, *args, **kwargs):
        seen.setdefault(name, sorted(m for m in sys.modules if m.startswith("cache_gate")))
        return method(self, *args, **kwargs)
    return watched

processes.Batch.start = watch(processes.Batch.start, "start")
processes.Batch.wait = watch(processes.Batch.wait, "wait")
# `python -m cache_gate check --format json`, in this interpreter.
import runpy
sys.argv = [sys.executable, "check", "--format", "json"]
try:
    runpy.run_module("cache_gate", run_name="__main__")
finally:
    seen["exit"] = sorted(sys.modules)
    seen["dataclasses"] = sorted(
        f"{name}.{value.__qualname__}" for name, module in list(sys.modules.items())
        if name.startswith("cache_gate") for value in vars(module).values()
        if isinstance(value, type) and value.__module__ == name
        and dataclasses.is_dataclass(value))
    seen["frozen"] = gc.get_freeze_count()
    seen["threshold"] = gc.get_threshold()
    with open(sys.argv_file, "w") as out:
        json.dump(seen, out)
"""

# What `check` on the example must not import: validators, drivers (and the URL of
# one: its ledger is a file), other commands' code, the reporters of other formats, and
# what only options it was not given need.
NOT_IMPORTED = [
    "jsonschema", "referencing", "psycopg", "redis", "asyncio", "multiprocessing",
    "concurrent", "sqlite3", "logging", "ssl", "socket", "email", "http", "xml", "statistics",
    "pickle",
    "cache_gate.ledger.postgres.url", "cache_gate.ledger.postgres.session", "cache_gate.doctor",
    "cache_gate.gates.report",
    "cache_gate.gates.doctor", "cache_gate.analyses.breakdowns", "cache_gate.analyses.tuning",
    "cache_gate.policy.ledger_evidence", "cache_gate.rules.fix",
    "cache_gate.reporters.html", "cache_gate.reporters.sarif", "cache_gate.reporters.json",
    "cache_gate.reporters.markdown", "cache_gate.reporters.charts",
]
# The modules of the gates `check` runs and what they share with every gate: their
# records are msgspec structs, or plain classes where they keep what they compute on
# themselves (a struct with a `__dict__` can crash msgspec releases before 0.21 on
# Python 3.13): a dataclass costs a hook's start-up some 0.3-0.8 ms to define.
# `MissCauses` stays a dataclass: `analyses.kpi_spill` subclasses it with an __init__.
STRUCTS_ONLY = ("cache_gate.cli", "cache_gate.config", "cache_gate.findings",
                "cache_gate.manifest", "cache_gate.rules", "cache_gate.policy",
                "cache_gate.reporters", "cache_gate.models", "cache_gate.prices",
                "cache_gate.schema_check", "cache_gate.schema_errors", "cache_gate.gates",
                "cache_gate.analyses.breaking_cost", "cache_gate.analyses.lineage",
                "cache_gate.analyses.miss_causes")
DATACLASSES = ["cache_gate.analyses.miss_causes.MissCauses"]


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What `check` on the demo had imported (at the render commands' start, when they
    are waited for, at exit), and its dataclasses and collector at exit."""
    found = tmp_path_factory.mktemp("startup") / "modules.json"
    script = PROBE.replace("sys.argv_file", repr(str(found)))
    # The render command's `python3` is this interpreter, as in bench/startup.py.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    done = subprocess.run([sys.executable, "-c", script], cwd=DEMO, capture_output=True,
                          text=True, env={**os.environ, "PATH": path}, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["passed"]
    seen: dict[str, Any] = json.loads(found.read_text(encoding="utf-8"))
    return seen


@pytest.mark.parametrize("name", NOT_IMPORTED)
def test_check_imports_no_validator_driver_or_other_command(
        probe: dict[str, Any], name: str) -> None:
    assert "cache_gate.manifest.render" in probe["exit"]  # the probe sees imports
    assert name not in probe["exit"]


def test_the_gates_records_are_structs(probe: dict[str, Any]) -> None:
    assert "cache_gate.gates.kpi" in probe["exit"]  # the probe sees every gate's modules
    assert [name for name in probe["dataclasses"] if name.startswith(STRUCTS_ONLY)] \
        == DATACLASSES


def test_the_rules_and_later_gates_are_imported_while_the_renders_run(
        probe: dict[str, Any]) -> None:
    later = {"cache_gate.rules.lint", "cache_gate.analyses.breaking_cost", "cache_gate.gates.kpi",
             "cache_gate.gates.policy"}
    assert later.isdisjoint(probe["start"])
    assert later <= set(probe["wait"])


def test_as_a_program_it_collects_less_and_freezes_what_is_left_at_exit(
        probe: dict[str, Any]) -> None:
    assert probe["threshold"][0] > 700  # Python's default
    assert probe["frozen"] > 0
