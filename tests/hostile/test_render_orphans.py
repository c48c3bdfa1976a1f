"""A render command that leaves processes behind (a background child, a `setsid`
child, a double fork): every one of them is gone when `lint` returns, or when it is
terminated mid-render."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
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


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_sigterm_mid_render_leaves_no_process_and_no_directory(tmp_path: Path) -> None:
    """The runs are under way at once (one in a temporary directory) when the job is
    cancelled: every run is killed and every directory removed on the way out."""
    marker = f"{secrets.randbelow(10**6) + 10**6}.5"
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    repo = tmp_path / "repo"
    # The run and its child wait on a pipe nobody writes to (`sleep` under a faked
    # clock may fail at once).
    waiter = "import os; os.read(os.pipe()[0], 1)"
    script = (f"import os, subprocess, sys\n"
              f"subprocess.Popen([sys.executable, '-c', {waiter!r}, '{marker}'])\n"
              f"print('You are the reviewer.', flush=True)\n{waiter}\n")
    write_repo(repo, {"p/system.md": "You are the reviewer.\n" * 300,
                      "scripts/render.py": script},
               [{"id": "main", "stable_prefix": "p/system.md",
                 "render": {"command": [sys.executable, "scripts/render.py"], "runs": 3}}])
    command = [sys.executable, "-m", "cache_gate", "lint"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TMPDIR": str(temporary)}
    with subprocess.Popen(command, cwd=repo, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as run:
        deadline = time.monotonic() + 20
        while len(_running(marker)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_running(marker)) == 3, "the runs never started together"
        assert any(temporary.iterdir())  # the run in a temporary directory
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=20)
    left = _running(marker)
    for pid in left:
        os.kill(pid, 9)
    assert run.returncode == 128 + signal.SIGTERM
    assert b"Traceback" not in err
    assert left == []
    assert list(temporary.iterdir()) == []
