"""A run whose disk fills up: a limit on the size of any file the process writes."""

from __future__ import annotations

import subprocess
import sys


def run_on_a_full_disk(spill: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`cache-gate ARGS` in a fresh process that may write files of 8 KiB at most,
    after `spill` (Python that makes it spill early) ran."""
    return subprocess.run(
        [sys.executable, "-B", "-c",  # -B: a short write would truncate a .pyc
         "import resource, signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
         f"resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192)); {spill}; "
         "from cache_gate.cli import main; raise SystemExit(main())", *args],
        capture_output=True, text=True, check=False)


def said_in_one_line(process: subprocess.CompletedProcess[str]) -> bool:
    """Exit 2, with a message that says where and what to do: never a traceback."""
    return (process.returncode == 2 and "Traceback" not in process.stderr
            and "could not be kept on disk" in process.stderr and "TMPDIR" in process.stderr)
