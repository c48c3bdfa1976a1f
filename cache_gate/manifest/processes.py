"""Run commands together, each bounded, and leave nothing behind.

A render command is the user's code: it may hang, print without end or leave
processes running. So every run has its own session (its process group is killed as
a whole), a deadline and an output bound; a run that asks for a fresh working
directory gets a temporary one, removed when the run ends. The runs of a batch are
started together, at most `parallel` at a time, and waited for in one loop; when the
loop is left early (SIGTERM unwinds like an exception), every process still running is
killed and every temporary directory removed. A `Batch` can be started before it is
waited for, so that this process's own start-up work (its imports) overlaps the runs';
the runs' deadlines count from their start. Meanwhile a thread goes on with the loop,
with no more runs at a time than there are cores: each run has a session of its own,
which Linux's autogroups schedule as a peer of this whole process, so runs beyond the
cores would slow this process's own work as much as each other. This process
is made a subreaper (Linux's PR_SET_CHILD_SUBREAPER), so the orphans of a run (a
background child, a `setsid` child, a double fork) are handed to it: once the batch
has ended they are killed and reaped, so no descendant outlives the batch.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

STDERR_TAIL = 4096  # bytes of stderr kept
STDERR_LINE = 200  # characters of its last line shown
# Seconds between looks at a process that closed its output: doubling, as
# Popen.wait's do, up to the last.
EXIT_POLLS = (0.001, 0.05)


class Run(msgspec.Struct, eq=False):
    """One command to run; `stdout` and `error` are what came of it."""

    command: list[str]
    env: dict[str, str]
    timeout: float
    cwd: Path | None  # None: a temporary directory of its own
    max_stdout: int  # bytes; a run printing more is stopped
    # Runs dropped when this one fails (as if they never ran).
    dropped_on_failure: list[Run] = msgspec.field(default_factory=list)
    stdout: bytes = b""
    error: str | None = None  # why it failed (exit status, timeout, size), None: it did not
    dropped: bool = False


class _Started(msgspec.Struct, eq=False):
    run: Run
    process: subprocess.Popen[bytes]
    temporary: str | None
    deadline: float
    stdout: bytearray = msgspec.field(default_factory=bytearray)
    stderr: bytearray = msgspec.field(default_factory=bytearray)
    open_pipes: int = 2
    exit_deadline: float | None = None  # set once both pipes are closed
    exit_poll: float = EXIT_POLLS[0]


def run_all(runs: Sequence[Run], parallel: int) -> None:
    """Run every run (at most `parallel` at a time), filling in its stdout and error."""
    with Batch(runs, parallel) as batch:
        batch.wait()


class Batch:
    """A batch of runs under way, as a context manager: `start` starts the first
    `parallel` of them, `wait` every run (starting those not yet started) until each
    has ended. Leaving the block stops every run still going and reaps what they left.

    What this process does between `start` and `wait` must not depend on the input
    (imports): a run's deadline counts from its start. After `start(meanwhile=N)` a
    thread goes on with the runs meanwhile (reads them, stops those past their
    deadline, starts the next as one ends, at most N at a time) until `wait` takes
    over; after a plain `start` nothing reads them, so that work must be short too (a
    run that fills its pipe waits)."""

    def __init__(self, runs: Sequence[Run], parallel: int) -> None:
        self._pending = deque(runs)
        self._parallel = parallel
        self._started: list[_Started] = []
        self._selector: selectors.BaseSelector | None = None
        self._before: set[int] = set()
        self._pacer: _Pacer | None = None

    def __enter__(self) -> Batch:
        if self._pending:
            _become_subreaper()
            self._before = _children()
            self._selector = selectors.DefaultSelector()
        return self

    def start(self, meanwhile: int | None = None) -> None:
        """Start runs, up to `parallel` at a time; with `meanwhile`, up to that many,
        and a thread that goes on with them (and starts the others as runs end) until
        `wait`."""
        parallel = self._parallel if meanwhile is None else min(meanwhile, self._parallel)
        self._start(parallel)
        if meanwhile is not None and self._started and self._selector is not None:
            self._pacer = _Pacer(self._selector, lambda: self._advance(parallel))

    def _start(self, parallel: int) -> None:
        selector = self._selector
        if selector is None:
            return
        started = self._started
        while self._pending and len(started) < parallel:
            run = self._pending.popleft()
            if not run.dropped:
                one = _start(run, selector)
                if one is None:
                    _drop_after(run, started, selector)
                else:
                    started.append(one)

    def _advance(self, parallel: int) -> bool:
        """Start what may start, then wait for output, a deadline or an exit; False
        once every run has ended."""
        selector, started = self._selector, self._started
        assert selector is not None
        self._start(parallel)
        if not started:
            return False
        ended = _step(started, selector)
        for one in ended:
            started.remove(one)
        for one in ended:
            _drop_after(one.run, started, selector)
        return True

    def wait(self) -> None:
        """Run until every run has ended, filling in its stdout and error."""
        self._stop_pacer()
        if self._selector is None:
            return
        while self._advance(self._parallel):
            pass

    def _stop_pacer(self) -> None:
        if self._pacer is not None:
            self._pacer.stop()

    def __exit__(self, *exc_info: object) -> None:
        selector = self._selector
        if selector is None:
            return
        try:
            self._stop_pacer()
        finally:
            try:
                for one in self._started:  # left early: an exception, SIGTERM
                    _stop(one, selector)
                self._started.clear()
            finally:
                selector.close()
                self._selector = None
                _reap_descendants(self._before)


class _Pacer:
    """A thread that calls `advance` until it returns False or the pacer is stopped; a
    pipe in the batch's selector wakes it from waiting for the runs."""

    def __init__(self, selector: selectors.BaseSelector, advance: Callable[[], bool]) -> None:
        self._selector = selector
        self._wake_read, self._wake_write = os.pipe()
        selector.register(self._wake_read, selectors.EVENT_READ, None)
        self._stopping = self._stopped = False
        self._failure: BaseException | None = None

        def pace() -> None:
            try:
                while not self._stopping and advance():
                    pass
            except BaseException as exc:  # raised again by `stop`, in the batch's thread
                self._failure = exc

        self._thread = threading.Thread(target=pace, name="cache-gate-runs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (after its current step) and raise what it raised. Called
        again on the way out, it finishes a stop that a signal interrupted."""
        if self._stopped:
            return
        self._stopping = True
        os.write(self._wake_write, b"\0")
        self._thread.join()
        self._stopped = True
        self._selector.unregister(self._wake_read)
        os.close(self._wake_read)
        os.close(self._wake_write)
        if self._failure is not None:
            raise self._failure


def _start(run: Run, selector: selectors.BaseSelector) -> _Started | None:
    """The run's process, started; None when it could not start (its error says why)."""
    temporary = tempfile.mkdtemp(prefix="cache-gate-render-") if run.cwd is None else None
    try:
        process = subprocess.Popen(run.command, cwd=run.cwd or temporary, env=run.env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=True)
    except BaseException as exc:
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)
        if not isinstance(exc, OSError):
            raise  # SIGTERM, while starting it
        if isinstance(exc, FileNotFoundError):
            run.error = f"command not found: {run.command[0]}"
        elif isinstance(exc, PermissionError):
            run.error = f"not executable: {run.command[0]}"
        else:
            run.error = f"cannot start {run.command[0]}: {exc.strerror}"
        return None
    one = _Started(run, process, temporary, time.monotonic() + run.timeout)
    assert process.stdout is not None and process.stderr is not None
    selector.register(process.stdout, selectors.EVENT_READ, (one, one.stdout))
    selector.register(process.stderr, selectors.EVENT_READ, (one, one.stderr))
    return one


def _step(started: list[_Started], selector: selectors.BaseSelector) -> list[_Started]:
    """Wait for output, a deadline or an exit; the runs that ended."""
    now = time.monotonic()
    waits = [one.deadline - now if one.exit_deadline is None else one.exit_poll
             for one in started]
    ended: list[_Started] = []
    reasons: dict[_Started, str] = {}
    for key, _ in selector.select(max(0.0, min(waits)) if waits else 0):
        if key.data is None:
            continue  # a `_Pacer` woken to stop
        one, buffer = key.data
        if one in reasons:
            continue
        chunk = os.read(key.fd, 65536)
        if not chunk:
            selector.unregister(key.fileobj)
            one.open_pipes -= 1
            if not one.open_pipes:
                # The output is closed; the process gets until its deadline (and at
                # least a moment) to exit.
                one.exit_deadline = max(time.monotonic() + 0.1, one.deadline)
            continue
        buffer += chunk
        if buffer is one.stderr and len(one.stderr) > 4 * STDERR_TAIL:
            del one.stderr[: len(one.stderr) - STDERR_TAIL]  # only its end is shown
        if len(one.stdout) > one.run.max_stdout:
            reasons[one] = (f"printed more than {one.run.max_stdout // (1024 * 1024)} MiB "
                            "(the bound for a prompt)")
    now = time.monotonic()
    for one in started:
        if one in reasons:
            _stop(one, selector, reasons[one])
        elif one.exit_deadline is None:
            if now >= one.deadline:
                _stop(one, selector, f"timed out after {one.run.timeout:g} s")
            else:
                continue
        elif one.process.poll() is None:
            if now < one.exit_deadline:
                one.exit_poll = min(2 * one.exit_poll, EXIT_POLLS[1])
                continue
            _stop(one, selector, f"timed out after {one.run.timeout:g} s")
        else:
            _stop(one, selector)
        ended.append(one)
    return ended


def _stop(one: _Started, selector: selectors.BaseSelector, reason: str | None = None) -> None:
    """End the run: kill its process group (when `reason` says why, or when it is still
    running), wait for it, close its pipes, remove its directory, set its result."""
    process = one.process
    if reason is not None or process.poll() is None:
        _kill(process)
    process.wait()
    for pipe in (process.stdout, process.stderr):
        assert pipe is not None
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(pipe)
        pipe.close()
    if one.temporary:
        shutil.rmtree(one.temporary, ignore_errors=True)
    run = one.run
    run.stdout, run.error = bytes(one.stdout), reason
    if reason is None and process.returncode != 0:
        # The last line of stderr says most (an exception's type and message).
        lines = bytes(one.stderr).decode("utf-8", "replace").strip().splitlines()
        tail = lines[-1].strip()[:STDERR_LINE] if lines else ""
        run.error = f"exited with status {process.returncode}" + (f": {tail}" if tail else "")


def _drop_after(run: Run, started: list[_Started], selector: selectors.BaseSelector) -> None:
    """When `run` failed, the runs it drops are not started, or stopped."""
    if run.error is None:
        return
    for later in run.dropped_on_failure:
        later.dropped = True
    for one in [one for one in started if one.run.dropped]:
        started.remove(one)
        _stop(one, selector, "dropped")


@functools.cache
def _become_subreaper() -> bool:
    """Make this process the one that orphans of a render command are handed to
    (Linux's PR_SET_CHILD_SUBREAPER), so that a background child, a `setsid` child
    or a double fork can be found and reaped after the run. False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


_PR_SET_CHILD_SUBREAPER = 36


def _children() -> set[int]:
    """The processes whose parent is this one, from /proc: each thread's list of its
    children where the kernel keeps one (CONFIG_PROC_CHILDREN; an orphan handed to this
    process joins one of them), else every process's parent, a scan of all of /proc."""
    try:
        return {int(pid) for task in Path("/proc/self/task").iterdir()
                for pid in (task / "children").read_text(encoding="ascii").split()}
    except (OSError, ValueError):
        return _children_by_scan()


def _children_by_scan() -> set[int]:
    """The processes whose parent is this one: a look at every process in /proc."""
    mine, found = os.getpid(), set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        # `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
        fields = status[status.rfind(")") + 2:].split()
        if len(fields) > 1 and fields[1] == str(mine):
            found.add(int(entry.name))
    return found


def _reap_descendants(before: set[int]) -> None:
    """Kill and reap every process the runs left behind: their descendants are handed
    to this process (a subreaper) as their parents die, so repeat until none is left."""
    for _ in range(100):
        left = _children() - before
        if not left:
            return
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for pid in left:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
