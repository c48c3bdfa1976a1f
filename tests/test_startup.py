"""`check` on a hook's path (the bundled example, as `bench/startup.py` runs it): only
the imports it needs, and the render commands running while it imports the rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo"

# Runs `python -m cache_gate check` in a fresh interpreter, noting the cache_gate
# modules imported when the render commands are started and when they are waited for,
# and every module at exit.
PROBE = """\
import json, sys
from cache_gate.manifest import processes

seen = {}

def watch(method, name):
    def watched(self):
        seen.setdefault(name, sorted(m for m in sys.modules if m.startswith("cache_gate")))
        return method(self)
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
    with open(sys.argv_file, "w") as out:
        json.dump(seen, out)
"""


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The modules `check` on the demo had imported: at the render commands' start,
    when they are waited for, at exit."""
    found = tmp_path_factory.mktemp("startup") / "modules.json"
    probe = PROBE.replace("sys.argv_file", repr(str(found)))
    # The render command's `python3` is this interpreter, as in bench/startup.py.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    done = subprocess.run([sys.executable, "-c", probe], cwd=DEMO, capture_output=True,
                          text=True, env={**os.environ, "PATH": path}, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["passed"]
    loaded: dict[str, list[str]] = json.loads(found.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize("name", ["jsonschema", "referencing", "psycopg", "redis",
                                  "cache_gate.ledger.postgres.session",
                                  "cache_gate.reporters.html", "cache_gate.reporters.sarif",
                                  "cache_gate.doctor", "cache_gate.gates.report"])
def test_check_imports_no_validator_driver_or_other_command(
        modules: dict[str, list[str]], name: str) -> None:
    assert "cache_gate.manifest.render" in modules["exit"]  # the probe sees imports
    assert name not in modules["exit"]


def test_the_rules_and_later_gates_are_imported_while_the_renders_run(
        modules: dict[str, list[str]]) -> None:
    later = {"cache_gate.rules.lint", "cache_gate.analyses.breaking_cost", "cache_gate.gates.kpi",
             "cache_gate.gates.policy"}
    assert later.isdisjoint(modules["start"])
    assert later <= set(modules["wait"])
