"""A render command that leaves processes behind (a background child, a `setsid`
child, a double fork): every one of them is gone when `lint` returns."""

from __future__ import annotations

import os
import secrets
import sys
import time
from pathlib import Path

import pytest

from tests.lint.repo import lint, write_repo

LEAVERS = {
    "a background child": "subprocess.Popen(SLEEPER, **QUIET)",
    "a setsid child": "subprocess.Popen(SLEEPER, start_new_session=True, **QUIET)",
    "a double fork": ("pid = os.fork()\n"
                      "if pid == 0:\n"
                      "    os.setsid()\n"
                      "    if os.fork() == 0:\n"
                      "        null = os.open(os.devnull, os.O_WRONLY)\n"
                      "        os.dup2(null, 1)\n"
                      "        os.dup2(null, 2)\n"
                      "        os.execvp(SLEEPER[0], SLEEPER)\n"
                      "    os._exit(0)\n"
                      "os.waitpid(pid, 0)"),
}


def _running(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in command:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("leaver", list(LEAVERS), ids=list(LEAVERS))
def test_no_process_outlives_lint(tmp_path: Path, leaver: str) -> None:
    marker = f"{secrets.randbelow(10**6) + 10**6}.5"  # a unique `sleep` argument
    # The leftovers let go of the run's output, so the run itself ends at once.
    script = (f"import os, subprocess, sys\nSLEEPER = ['sleep', '{marker}']\n"
              "QUIET = {'stdout': subprocess.DEVNULL, 'stderr': subprocess.DEVNULL}\n"
              f"{LEAVERS[leaver]}\nprint('You are the reviewer.')\n")
    write_repo(tmp_path, {"p/system.md": "You are the reviewer.\n" * 300,
                          "scripts/render.py": script},
               [{"id": "main", "stable_prefix": "p/system.md",
                 "render": {"command": [sys.executable, "scripts/render.py"], "runs": 2}}])
    lint(tmp_path)
    deadline = time.monotonic() + 5
    while _running(marker) and time.monotonic() < deadline:  # a kill takes a moment
        time.sleep(0.05)
    left = _running(marker)
    for pid in left:  # never leave them behind, whatever the outcome
        os.kill(pid, 9)
    assert left == []
