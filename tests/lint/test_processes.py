"""A batch of runs started before it is waited for: between `start(meanwhile=N)` and
`wait`, a thread starts the next run as one ends, never more than N at a time, and
leaving the batch early stops it and every run."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from cache_gate.manifest import processes
from cache_gate.manifest.processes import Batch, Run

# Each run marks itself running, prints how many runs are marked, and unmarks itself
# before it exits: the count is how many ran at once.
COUNTING = """\
import os, sys, time
mine = os.path.join(sys.argv[1], sys.argv[2])
open(mine, "w").close()
print(len(os.listdir(sys.argv[1])))
time.sleep(0.05)
os.remove(mine)
"""


def _runs(directory: Path, count: int, script: str = COUNTING) -> list[Run]:
    return [Run([sys.executable, "-c", script, str(directory), str(index)], dict(os.environ),
                30.0, directory, 1 << 20) for index in range(count)]


def _until_ended(runs: list[Run]) -> None:
    """Wait for the thread to end every run (the bound only keeps a broken build from
    hanging): a run's output is filled in when it ends."""
    for _ in range(6000):
        if all(run.stdout or run.error for run in runs):
            return
        time.sleep(0.01)
    pytest.fail("the runs were not ended before `wait`")


def test_the_thread_starts_each_run_as_one_ends(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    runs = _runs(marks, 3)
    with Batch(runs, 4) as batch:
        batch.start(meanwhile=1)
        _until_ended(runs)  # before `wait`: the thread started and read them all
        batch.wait()
    assert [(run.error, run.stdout) for run in runs] == [(None, b"1\n")] * 3


@pytest.mark.parametrize("meanwhile", [1, 2])
def test_never_more_runs_at_once_than_meanwhile_allows(tmp_path: Path, meanwhile: int) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    runs = _runs(marks, 5)
    with Batch(runs, 4) as batch:
        batch.start(meanwhile=meanwhile)
        _until_ended(runs)
        batch.wait()
    assert all(run.error is None for run in runs)
    assert max(int(run.stdout) for run in runs) <= meanwhile


def test_wait_takes_over_with_the_batchs_own_limit(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    runs = _runs(marks, 3)
    with Batch(runs, 4) as batch:
        batch.start(meanwhile=1)
        batch.wait()
    assert [run.error for run in runs] == [None] * 3


def test_leaving_early_stops_the_thread_and_every_run(tmp_path: Path) -> None:
    sleeper = "import time\nprint('started', flush=True)\ntime.sleep(60)\n"
    runs = _runs(tmp_path, 3, sleeper)
    with pytest.raises(KeyboardInterrupt), Batch(runs, 4) as batch:
        batch.start(meanwhile=1)
        raise KeyboardInterrupt  # as SIGTERM would, while this process imports
    assert runs[0].error is not None  # stopped
    assert [run.stdout for run in runs[1:]] == [b"", b""]  # never started
    assert not [thread for thread in threading.enumerate()
                if thread.name == "cache-gate-runs"]


def test_what_the_thread_raises_is_raised_by_wait(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> list[object]:
        raise OSError("the selector broke")

    monkeypatch.setattr(processes, "_step", broken)
    runs = _runs(tmp_path, 3, "import time\ntime.sleep(60)\n")
    with pytest.raises(OSError, match="the selector broke"), Batch(runs, 4) as batch:
        batch.start(meanwhile=1)
        batch.wait()
    assert runs[0].error is not None  # stopped on the way out


def test_the_thread_reads_a_run_that_prints_more_than_a_pipe_holds(tmp_path: Path) -> None:
    runs = _runs(tmp_path, 1, "import sys\nsys.stdout.write('x' * 300_000)\n")
    with Batch(runs, 4) as batch:
        batch.start(meanwhile=4)
        _until_ended(runs)  # it would wait on its full pipe, were it not read before `wait`
        batch.wait()
    assert (runs[0].error, len(runs[0].stdout)) == (None, 300_000)
