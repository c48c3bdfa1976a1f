"""Render determinism (CG112): real render commands, run under varied conditions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cache_gate.manifest import processes
from cache_gate.manifest.render import Renderer, find_libfaketime, first_differing_offset
from cache_gate.manifest.spec import RenderSpec
from tests.lint.repo import CLEAN_PROSE, lint, lint_json, write_repo

needs_faketime = pytest.mark.skipif(
    find_libfaketime() is None,
    reason="libfaketime is not installed (apt-get install libfaketime): the clock cannot "
           "be varied")

DETERMINISTIC = """\
from pathlib import Path
root = Path(__file__).resolve().parent.parent
print(sorted(["b", "a"]), (root / "p/system.md").read_text()[:40])
"""
SET_ORDER = """\
words = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
         "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau"}
print("Tools:", ", ".join(words))
"""
TODAY = """\
import datetime
print("You are the reviewer.")
print("Today is", datetime.date.today().isoformat())
"""
NANOSECONDS = "import time\nprint('Request', time.time_ns())\n"
FAILING = "import sys\nsys.stderr.write('template missing\\n')\nsys.exit(3)\n"
SLOW = "import time\ntime.sleep(30)\n"
# Closes its output, then never exits (waiting on a pipe: no clock involved).
SILENT_HANG = ("import os\nprint('Intro', flush=True)\nos.close(1)\nos.close(2)\n"
               "os.read(os.pipe()[0], 1)\n")
CWD_DEPENDENT = "print(open('p/system.md').read()[:20])\n"
SESSION = "print('Intro')\nprint('Session 3f1c2a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f')\n"
STATIC_DATE = "print(open(__file__.replace('render.py', '../p/system.md')).read())\n"


def _repo(root: Path, script: str, **render: Any) -> Path:
    return write_repo(root, {"p/system.md": CLEAN_PROSE, "scripts/render.py": script}, [{
        "id": "main", "stable_prefix": "p/system.md",
        "render": {"command": [sys.executable, "scripts/render.py"], **render}}])


def _cg112(root: Path, *args: str) -> list[dict[str, Any]]:
    _, report = lint_json(root, *args)
    return [f for f in report["findings"] if f["rule"] == "CG112"]


def test_deterministic_command_passes_and_says_so(tmp_path: Path) -> None:
    _repo(tmp_path, DETERMINISTIC)
    code, out, _ = lint(tmp_path)
    assert code == 0, out
    assert "render main: 3 runs (varied" in out and "printed identical bytes" in out
    _, report = lint_json(tmp_path)
    assert report["prompts"][0]["render"]["identical"] is True


def test_prompts_render_at_once_without_disturbing_each_other(tmp_path: Path) -> None:
    """Every run is under way at once, the slow prompt's with the fast one's: the end
    of one run (and the reaping of what it left behind) never touches another's."""
    busy = ("import sys, time\nfrom pathlib import Path\nend = time.monotonic() + "
            "float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"
            "print((Path(__file__).resolve().parent.parent / 'p/system.md').read_text())\n")
    write_repo(tmp_path, {"p/system.md": CLEAN_PROSE, "scripts/render.py": busy}, [
        {"id": f"p{index}", "stable_prefix": "p/system.md",
         "render": {"command": [sys.executable, "scripts/render.py", seconds], "runs": 2}}
        for index, seconds in enumerate(["0", "0.4", "0.1"])])
    _, report = lint_json(tmp_path)
    assert [f for f in report["findings"] if f["rule"] == "CG112"] == []
    assert [p["render"]["identical"] for p in report["prompts"]] == [True, True, True]


def test_set_iteration_order_is_caught_and_blamed_on_the_hash_seed(tmp_path: Path) -> None:
    _repo(tmp_path, SET_ORDER)
    [finding] = _cg112(tmp_path)
    assert finding["severity"] == "error"
    assert finding["path"] == ".backlog-ops/prompt-manifest.json"
    message = finding["message"]
    assert message.startswith("prompts[0].render.command: render output differs between runs "
                              "at byte ")
    assert "(output line 1)" in message
    assert "it changes with PYTHONHASHSEED (hash order)" in message


@needs_faketime
def test_current_date_is_caught_and_blamed_on_the_clock(tmp_path: Path) -> None:
    _repo(tmp_path, TODAY)
    [finding] = _cg112(tmp_path)
    assert "(output line 2)" in finding["message"]
    assert "it changes with clock" in finding["message"]


def test_date_in_render_output_is_an_error(tmp_path: Path) -> None:
    _repo(tmp_path, TODAY)
    _, report = lint_json(tmp_path)
    [date] = [f for f in report["findings"] if f["rule"] == "CG101"]
    assert date["severity"] == "error"
    assert date["message"].startswith("prompts[0].render.command: render output line 2: date '")


def test_output_that_changes_on_every_run(tmp_path: Path) -> None:
    _repo(tmp_path, NANOSECONDS)
    [finding] = _cg112(tmp_path)
    assert "differs even when run again under the same conditions" in finding["message"]


@pytest.mark.parametrize(("script", "render", "expected"), [
    (FAILING, {}, "render command failed on run 1 (real clock, TZ=UTC"),
    (FAILING, {}, "exited with status 3: template missing"),
    (SLOW, {"timeout": 0.5}, "timed out after 0.5 s"),
    (SILENT_HANG, {"timeout": 0.5}, "timed out after 0.5 s"),
    (CWD_DEPENDENT, {}, "render command failed on run 2"),
])
def test_failing_commands(tmp_path: Path, script: str, render: dict[str, Any],
                          expected: str) -> None:
    _repo(tmp_path, script, **render)
    [finding] = _cg112(tmp_path)
    assert expected in finding["message"]
    if script is CWD_DEPENDENT:
        assert "working directory" in finding["hint"]


def test_command_not_found(tmp_path: Path) -> None:
    write_repo(tmp_path, {"p/system.md": CLEAN_PROSE}, [{
        "id": "main", "stable_prefix": "p/system.md",
        "render": {"command": ["no-such-render-command-xyz"]}}])
    [finding] = _cg112(tmp_path)
    assert "command not found: no-such-render-command-xyz" in finding["message"]


def test_render_output_is_linted_without_repeating_the_files(tmp_path: Path) -> None:
    _repo(tmp_path, SESSION)
    _, report = lint_json(tmp_path)
    [identifier] = [f for f in report["findings"] if f["rule"] == "CG104"]
    assert identifier["message"].startswith("prompts[0].render.command: render output line 2: "
                                            "UUID '3f1c2a9e")
    system = CLEAN_PROSE + "Dates are ISO 8601, e.g. 2024-03-15.\n"
    write_repo(tmp_path, {"p/system.md": system, "scripts/render.py": STATIC_DATE}, [{
        "id": "main", "stable_prefix": "p/system.md",
        "render": {"command": [sys.executable, "scripts/render.py"]}}])
    _, report = lint_json(tmp_path)
    dates = [f for f in report["findings"] if f["rule"] == "CG101"]
    assert [(d["path"], d["severity"]) for d in dates] == [("p/system.md", "warning")]


def test_no_render_skips_it(tmp_path: Path) -> None:
    _repo(tmp_path, FAILING)
    assert _cg112(tmp_path, "--no-render") == []
    _repo(tmp_path, FAILING)
    assert _cg112(tmp_path, "--ignore", "CG112") == []


def test_note_when_libfaketime_is_missing(tmp_path: Path) -> None:
    _repo(tmp_path, DETERMINISTIC)
    _, out, _ = lint(tmp_path)
    if find_libfaketime() is None:
        assert "libfaketime not found" in out and "the clock was not varied" in out
    else:
        assert "libfaketime not found" not in out and "varied clock, TZ" in out


@pytest.mark.parametrize(("first", "second", "offset"), [
    (b"abc", b"abc", 3), (b"abc", b"abd", 2), (b"", b"x", 0), (b"ab", b"abc", 2),
    (b"x" * 100_000 + b"a", b"x" * 100_000 + b"b", 100_000),
])
def test_first_differing_offset(first: bytes, second: bytes, offset: int) -> None:
    assert first_differing_offset(first, second) == offset


def test_meanwhile_runs_while_the_commands_run(tmp_path: Path) -> None:
    """What `check` imports meanwhile overlaps the runs: each run waits for a file that
    only `meanwhile` makes (no clock: the runs' clocks are faked)."""
    go = tmp_path / "go"
    script = f"import os\nwhile not os.path.exists({str(go)!r}): os.sched_yield()\nprint('ready')\n"
    spec = RenderSpec(("prompts", 0, "render"), (sys.executable, "-c", script), timeout=10)
    reports = Renderer(tmp_path, 10.0).check_all([spec], meanwhile=go.touch)
    assert [(run.error, run.stdout) for run in reports[0].outputs] == [(None, b"ready\n")] * 3


def test_children_are_listed_as_a_scan_of_proc_finds_them() -> None:
    if not Path("/proc/self/task").is_dir():
        pytest.skip("needs Linux /proc")
    sleepers = [subprocess.Popen(["sleep", "5"]) for _ in range(3)]
    try:
        mine = {sleeper.pid for sleeper in sleepers}
        assert mine <= processes._children() == processes._children_by_scan()
    finally:
        for sleeper in sleepers:
            sleeper.kill()
            sleeper.wait()
