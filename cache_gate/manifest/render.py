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
The runs of every prompt are started together, at most PARALLEL_RUNS at a time (while
`check` imports its other gates, at most one per core: `processes`), and compared in
the order of the plan, so the report is the one runs in turn would give: a prompt's
runs after a failed one are dropped.
"""

from __future__ import annotations

import glob
import locale
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from cache_gate.manifest.processes import Batch, Run, run_all
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
# Processes at a time, over every prompt's runs (as many as four prompts' runs in
# turn had running).
PARALLEL_RUNS = 4


def _cores() -> int:
    """The cores this process may run on: while it works too, runs beyond them would
    only take turns with each other and with it (`Batch.start`)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


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


class Conditions(msgspec.Struct, frozen=True):
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


class RunOutput(msgspec.Struct):
    conditions: Conditions
    stdout: bytes = b""
    error: str | None = None  # why the run failed (exit status, timeout, size)


class RenderReport(msgspec.Struct):
    outputs: list[RunOutput] = msgspec.field(default_factory=list)
    # Factors that changed the output when varied alone.
    causes: list[str] = msgspec.field(default_factory=list)
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

    def check_all(self, specs: Sequence[RenderSpec],
                  meanwhile: Callable[[], object] | None = None) -> list[RenderReport]:
        """Each spec's report. The runs of every spec are started together; a spec's
        runs after one that fails are dropped (its report ends with the failure).
        `meanwhile` is called once they are started: this process's own work that
        overlaps them (short, and the same whatever the input: `Batch`)."""
        commands = [self._command(spec.command) for spec in specs]
        timeouts = [spec.timeout or self.default_timeout for spec in specs]
        plans = [self.plan(spec.runs) for spec in specs]
        runs = [[self._run(command, conditions, timeout) for conditions in plan]
                for plan, command, timeout in zip(plans, commands, timeouts, strict=True)]
        for prompt_runs in runs:
            for index, run in enumerate(prompt_runs):
                run.dropped_on_failure = prompt_runs[index + 1:]
        every_run = [run for prompt_runs in runs for run in prompt_runs]
        with Batch(every_run, PARALLEL_RUNS) as batch:
            if meanwhile is not None:
                batch.start(meanwhile=_cores())
                meanwhile()
            batch.wait()
        reports = []
        for plan, prompt_runs in zip(plans, runs, strict=True):
            report = RenderReport()
            for conditions, run in zip(plan, prompt_runs, strict=True):
                report.outputs.append(RunOutput(conditions, run.stdout, run.error))
                if run.error:
                    break
            reports.append(report)
        self._find_causes(reports, commands, timeouts)
        return reports

    def _find_causes(self, reports: list[RenderReport], commands: list[list[str]],
                     timeouts: list[float]) -> None:
        """For each report whose runs differ: run the first run's conditions again
        (output that differs then is unstable on its own), and each factor that
        differed alone (those that change the output are the causes). All at once."""
        searches = []
        for report, command, timeout in zip(reports, commands, timeouts, strict=True):
            difference = report.first_difference if report.failure is None else None
            if difference is None:
                continue
            base, other, _ = difference
            again = self._run(command, base.conditions, timeout)
            singles = [(factor, self._run(command, _vary(base.conditions, other.conditions,
                                                          factor), timeout))
                       for factor in base.conditions.differences(other.conditions)]
            searches.append((report, base, again, singles))
        run_all([run for _, _, again, singles in searches
                 for run in (again, *(single for _, single in singles))], PARALLEL_RUNS)
        for report, base, again, singles in searches:
            if again.error is None and again.stdout != base.stdout:
                report.unstable_alone = True
                continue
            report.causes = [factor for factor, run in singles
                             if run.error is None and run.stdout != base.stdout]

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

    def _run(self, command: list[str], conditions: Conditions, timeout: float) -> Run:
        cwd = self.root if conditions.cwd == "repository" else None  # None: a temporary one
        return Run(command, self._environment(conditions), timeout, cwd, MAX_PROMPT_FILE_BYTES)


def _vary(base: Conditions, varied: Conditions, factor: str) -> Conditions:
    field_name = {"clock": "clock", "TZ": "tz", "PYTHONHASHSEED (hash order)": "hash_seed",
                  "locale": "locale", "working directory": "cwd"}[factor]
    return msgspec.structs.replace(base, **{field_name: getattr(varied, field_name)})
