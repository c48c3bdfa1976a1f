"""Run a prompt's render command several times under varied conditions, and compare.

A render command prints the stable prefix the way the application builds it. Run
once, it proves nothing; run under another clock, time zone, hash seed, locale and
working directory, byte-identical output is evidence that the prefix does not
depend on them. When the outputs differ, one more run per factor (only that factor
changed) names the cause.

The command is an argument list (no shell); relative arguments naming files in the
repository are made absolute, so the command works from any working directory. Each
run has a timeout and an output bound; the process group is killed when either is
exceeded. The clock is varied with libfaketime (LD_PRELOAD) where it is installed.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import locale
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from cache_gate.manifest.repository import MAX_PROMPT_FILE_BYTES
from cache_gate.manifest.spec import RenderSpec

FAKETIME_DIRS = (
    "/usr/lib/x86_64-linux-gnu/faketime",
    "/usr/lib/aarch64-linux-gnu/faketime",
    "/usr/lib/*-linux-gnu/faketime",
    "/usr/lib64/faketime",
    "/usr/lib/faketime",
    "/usr/local/lib/faketime",
    "/opt/homebrew/lib/faketime",
)
FAKE_CLOCKS = ("2031-07-14 23:59:58", "2029-02-28 12:00:00")
TIME_ZONES = ("UTC", "Pacific/Kiritimati", "America/Los_Angeles")
HASH_SEEDS = ("0", "1", "2")
LOCALES = ("C.UTF-8", "en_US.UTF-8", "de_DE.UTF-8", "C")
STDERR_TAIL = 4096  # bytes of stderr kept
STDERR_LINE = 200  # characters of its last line shown


def find_libfaketime() -> Path | None:
    """libfaketime.so.1 in the usual library directories, or None."""
    for pattern in FAKETIME_DIRS:
        for directory in sorted(glob.glob(pattern)):  # noqa: PTH207 - absolute patterns
            candidate = Path(directory) / "libfaketime.so.1"
            if candidate.is_file():
                return candidate
    return None


def _installed_locales() -> list[str]:
    """The candidate locales this machine has (C and C.UTF-8 always count)."""
    found = []
    saved = locale.setlocale(locale.LC_ALL)
    try:
        for name in LOCALES:
            try:
                locale.setlocale(locale.LC_ALL, name)
            except locale.Error:
                continue
            found.append(name)
    finally:
        locale.setlocale(locale.LC_ALL, saved)
    return found or ["C"]


@dataclass(frozen=True)
class Conditions:
    """What one run varies."""

    clock: str | None  # a fake start time, None: the real clock
    tz: str
    hash_seed: str
    locale: str
    cwd: str  # "repository" or "temporary directory"

    def differences(self, other: Conditions) -> list[str]:
        names = []
        if self.clock != other.clock:
            names.append("clock")
        if self.tz != other.tz:
            names.append("TZ")
        if self.hash_seed != other.hash_seed:
            names.append("PYTHONHASHSEED (hash order)")
        if self.locale != other.locale:
            names.append("locale")
        if self.cwd != other.cwd:
            names.append("working directory")
        return names

    def describe(self) -> str:
        clock = f"clock {self.clock}" if self.clock else "real clock"
        return (f"{clock}, TZ={self.tz}, PYTHONHASHSEED={self.hash_seed}, "
                f"LC_ALL={self.locale}, cwd {self.cwd}")


@dataclass
class RunOutput:
    conditions: Conditions
    stdout: bytes = b""
    error: str | None = None  # why the run failed (exit status, timeout, size)


@dataclass
class RenderReport:
    outputs: list[RunOutput] = field(default_factory=list)
    # Factors that changed the output when varied alone.
    causes: list[str] = field(default_factory=list)
    # The output differs even under identical conditions (randomness, time passing).
    unstable_alone: bool = False

    @property
    def failure(self) -> RunOutput | None:
        return next((run for run in self.outputs if run.error), None)

    @property
    def first_difference(self) -> tuple[RunOutput, RunOutput, int] | None:
        """(first run, differing run, byte offset) of the first run that differs."""
        if not self.outputs:
            return None
        base = self.outputs[0]
        for run in self.outputs[1:]:
            if run.stdout != base.stdout:
                return base, run, first_differing_offset(base.stdout, run.stdout)
        return None


def first_differing_offset(first: bytes, second: bytes) -> int:
    limit = min(len(first), len(second))
    low, high = 0, limit
    # Binary search on prefix equality: fast even for megabytes.
    while low < high:
        middle = (low + high) // 2
        if first[low:middle + 1] == second[low:middle + 1]:
            low = middle + 1
        else:
            high = middle
    return low


class Renderer:
    """Runs render commands for one repository."""

    def __init__(self, root: Path, default_timeout: float) -> None:
        self.root = root
        self.default_timeout = default_timeout
        self.libfaketime = find_libfaketime()
        self.locales = _installed_locales()

    def plan(self, runs: int) -> list[Conditions]:
        """Run 1 is the baseline (real clock, repository); each later run varies all."""
        plan = [Conditions(None, TIME_ZONES[0], HASH_SEEDS[0], self.locales[0], "repository")]
        for index in range(1, runs):
            clock = FAKE_CLOCKS[(index - 1) % len(FAKE_CLOCKS)] if self.libfaketime else None
            plan.append(Conditions(
                clock=clock,
                tz=TIME_ZONES[index % len(TIME_ZONES)],
                hash_seed=HASH_SEEDS[index % len(HASH_SEEDS)],
                locale=self.locales[index % len(self.locales)],
                cwd="temporary directory" if index % 2 else "repository",
            ))
        return plan

    def check(self, spec: RenderSpec) -> RenderReport:
        timeout = spec.timeout or self.default_timeout
        command = self._command(spec.command)
        report = RenderReport()
        for conditions in self.plan(spec.runs):
            run = self._run(command, conditions, timeout)
            report.outputs.append(run)
            if run.error:
                return report
        difference = report.first_difference
        if difference is not None:
            base, other, _ = difference
            self._find_causes(command, base, other, timeout, report)
        return report

    def _find_causes(self, command: list[str], base: RunOutput, other: RunOutput,
                     timeout: float, report: RenderReport) -> None:
        again = self._run(command, base.conditions, timeout)
        if again.error is None and again.stdout != base.stdout:
            report.unstable_alone = True
            return
        varied = other.conditions
        for factor in base.conditions.differences(varied):
            single = _vary(base.conditions, varied, factor)
            run = self._run(command, single, timeout)
            if run.error is None and run.stdout != base.stdout:
                report.causes.append(factor)

    def _command(self, command: tuple[str, ...]) -> list[str]:
        resolved = []
        for index, argument in enumerate(command):
            candidate = self.root / argument
            relative = not Path(argument).is_absolute() and not argument.startswith("-")
            if relative and (index > 0 or "/" in argument) and candidate.exists():
                resolved.append(str(candidate))
            else:
                resolved.append(argument)
        return resolved

    def _environment(self, conditions: Conditions) -> dict[str, str]:
        env = dict(os.environ)
        for name in ("FAKETIME", "LD_PRELOAD", "LC_ALL", "LANG", "LANGUAGE"):
            env.pop(name, None)
        env.update(TZ=conditions.tz, PYTHONHASHSEED=conditions.hash_seed,
                   LC_ALL=conditions.locale, LANG=conditions.locale,
                   PYTHONDONTWRITEBYTECODE="1")
        if conditions.clock and self.libfaketime:
            env["LD_PRELOAD"] = str(self.libfaketime)
            env["FAKETIME"] = f"@{conditions.clock}"
            # Timeouts and event loops need a real monotonic clock.
            env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
        return env

    def _run(self, command: list[str], conditions: Conditions, timeout: float) -> RunOutput:
        output = RunOutput(conditions)
        temporary = None
        cwd = self.root
        if conditions.cwd != "repository":
            temporary = tempfile.mkdtemp(prefix="cache-gate-render-")
            cwd = Path(temporary)
        try:
            output.stdout, output.error = _execute(command, cwd, self._environment(conditions),
                                                   timeout)
        finally:
            if temporary:
                shutil.rmtree(temporary, ignore_errors=True)
        return output


def _vary(base: Conditions, varied: Conditions, factor: str) -> Conditions:
    field_name = {"clock": "clock", "TZ": "tz", "PYTHONHASHSEED (hash order)": "hash_seed",
                  "locale": "locale", "working directory": "cwd"}[factor]
    return replace(base, **{field_name: getattr(varied, field_name)})


def _execute(command: list[str], cwd: Path, env: dict[str, str],
             timeout: float) -> tuple[bytes, str | None]:
    """(stdout, None) on success; (partial stdout, reason) when the run failed."""
    _become_subreaper()
    before = _children()
    try:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   start_new_session=True)
    except FileNotFoundError:
        return b"", f"command not found: {command[0]}"
    except PermissionError:
        return b"", f"not executable: {command[0]}"
    except OSError as exc:
        return b"", f"cannot start {command[0]}: {exc.strerror}"
    stdout, stderr = bytearray(), bytearray()
    deadline = time.monotonic() + timeout
    reason = None
    assert process.stdout is not None and process.stderr is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ, stdout)
        selector.register(process.stderr, selectors.EVENT_READ, stderr)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                reason = f"timed out after {timeout:g} s"
                break
            for key, _ in selector.select(remaining):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                buffer: bytearray = key.data
                buffer += chunk
                if buffer is stderr and len(stderr) > 4 * STDERR_TAIL:
                    del stderr[: len(stderr) - STDERR_TAIL]  # only its end is shown
            if len(stdout) > MAX_PROMPT_FILE_BYTES:
                reason = (f"printed more than {MAX_PROMPT_FILE_BYTES // (1024 * 1024)} MiB "
                          "(the bound for a prompt)")
                break
    if reason is not None:
        _kill(process)
        process.wait()
    else:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill(process)
            process.wait()
            reason = f"timed out after {timeout:g} s"
    process.stdout.close()
    process.stderr.close()
    _reap_descendants(before)
    if reason is None and process.returncode != 0:
        # The last line of stderr says most (an exception's type and message).
        lines = bytes(stderr).decode("utf-8", "replace").strip().splitlines()
        tail = lines[-1].strip()[:STDERR_LINE] if lines else ""
        reason = f"exited with status {process.returncode}" + (f": {tail}" if tail else "")
    return bytes(stdout), reason


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
    """The processes whose parent is this one, from /proc."""
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
    """Kill and reap every process the run left behind: its descendants are handed
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
