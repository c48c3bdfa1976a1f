"""The `cache-gate` command line: each command gathers options and calls a gate.

Heavy modules are imported inside the commands, so `cache-gate --version` and
`--help` start fast.
"""

from __future__ import annotations

import gc
import math
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cache_gate import __version__
from cache_gate.errors import InputError
from cache_gate.inputs import forget_inputs

if TYPE_CHECKING:
    from cache_gate.findings import Result

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("text", "json", "github", "gitlab", "sarif", "junit", "markdown", "html")


def _default_format() -> str:
    if os.environ.get("GITHUB_ACTIONS") == "true" and "github" in FORMATS:
        return "github"
    return "text"


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """A FloatRange lets NaN through (every comparison with it is false)."""
    del ctx
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number of seconds", param=param)
    return value


def output_options(command: F) -> F:
    """Options every gate takes: how to report, and the tool's settings."""
    for option in reversed([
        click.option("--format", "report_format", type=click.Choice(FORMATS), default=None,
                     help="Report format [default: text; github inside GitHub Actions]."),
        click.option("--output", type=click.Path(dir_okay=False, writable=True),
                     help="Write the report to PATH; print only the one-line verdict."),
        click.option("--report", "extra_reports", multiple=True, metavar="FORMAT=PATH",
                     help="Also write a report in FORMAT to PATH, e.g. sarif=cache-gate.sarif "
                          "(repeatable)."),
        click.option("--exit-zero", is_flag=True,
                     help="Exit 0 even when the gate fails (input errors still exit 2)."),
        click.option("--settings", type=click.Path(dir_okay=False),
                     help="cache-gate settings file [default: .cache-gate.toml, else "
                          "[tool.cache-gate] in pyproject.toml]."),
        click.option("-q", "--quiet", count=True, help="Show errors and the verdict only."),
        click.option("-v", "--verbose", count=True, help="Show more detail."),
        click.option("--no-color", is_flag=True, help="No colours (NO_COLOR is honoured too)."),
    ]):
        command = option(command)
    return command


def ledger_options(command: F) -> F:
    """Options of the gates that read the usage ledger."""
    for option in reversed([
        click.option("--ledger", metavar="PATH",
                     help="Usage ledger, JSON lines [default: .backlog-ops/usage-ledger.jsonl]; "
                          "or postgresql://... to read LiteLLM's SpendLogs table."),
        click.option("--days", type=click.IntRange(min=1), metavar="N",
                     help="Only the last N days (before --until, else --now)."),
        click.option("--since", metavar="TIME", help="Only records at or after TIME (ISO-8601)."),
        click.option("--until", metavar="TIME", help="Only records at or before TIME (ISO-8601)."),
        click.option("--now", metavar="TIME",
                     help="Take TIME as the current time, for reproducible runs."),
        click.option("--workflow", "workflows", multiple=True, metavar="W",
                     help="Only workflow W (repeatable)."),
        click.option("--min-requests", type=click.IntRange(min=0), metavar="N",
                     help="Fewer contributing requests make a KPI 'insufficient' [default: 30]."),
        click.option("--target", "targets", multiple=True, metavar="NAME=VALUE",
                     help="Override a KPI target, e.g. prompt_cache_hit_rate=0.7 or "
                          "cached-token-ratio=45% (repeatable)."),
        click.option("--strict", is_flag=True,
                     help="Malformed ledger lines and insufficient data fail the gate."),
        click.option("--jobs", type=click.IntRange(min=1), metavar="N",
                     help="Processes reading the ledger [default: one per core, large files]."),
    ]):
        command = option(command)
    return command


# kpi's and check's: they keep a checkpoint of a large ledger (report reads it whole).
no_cache_option = click.option(
    "--no-cache", is_flag=True,
    help="Read the whole ledger, and neither use nor leave the checkpoint that lets the "
         "next run over a large ledger read only what was appended "
         "($XDG_CACHE_HOME/cache-gate).")


def _emit(result: Result, params: dict[str, Any]) -> int:
    """Report the result where it was asked for; return the exit code.

    Every report leaves through `guard_lines`, whatever its format or destination: a
    CI log (or a later step that prints a report file) must never run a workflow
    command that came from input data.
    """
    from cache_gate import reporters
    from cache_gate.redaction import environment_secrets, scrub_secrets
    from cache_gate.reporters.neutralise import guard_lines, terminal
    from cache_gate.reporters.text import verdict

    secrets = environment_secrets()

    def report(report_format: str) -> str:
        rendered = reporters.get(report_format)(result, context)
        return guard_lines(scrub_secrets(rendered, secrets), report_format)

    code = int(result.exit_code(exit_zero=params["exit_zero"]))
    no_color = params["no_color"] or "NO_COLOR" in os.environ
    color = not no_color and sys.stdout.isatty()
    context = reporters.RenderContext(code, color, params["verbose"] - params["quiet"])
    report_format = params["report_format"] or _default_format()
    text = report(report_format)
    if report_format == "github":
        from cache_gate.reporters.github import write_step_summary

        write_step_summary(result, context)
    extra = [_report_target(spec) for spec in params["extra_reports"]]
    for extra_format, target in extra:
        _write_report(target, report(extra_format))
    if params["output"]:
        target = Path(params["output"])
        _write_report(target, text)
        click.echo(guard_lines(f"{verdict(result, context)} - report written to "
                               f"{terminal(str(target))}\n"), nl=False)
    else:
        click.echo(text, nl=False)
    return code


def _report_target(spec: str) -> tuple[str, Path]:
    report_format, sep, path = spec.partition("=")
    if not sep or not path or report_format not in FORMATS:
        raise InputError(f"--report {spec!r}: expected FORMAT=PATH with FORMAT one of "
                         f"{', '.join(FORMATS)}")
    return report_format, Path(path)


def _write_report(target: Path, text: str) -> None:
    from cache_gate.reporters.destination import write_report

    write_report(target, text)


def _run_gate(params: dict[str, Any], name: str) -> None:
    """Load the settings, run the gate `cache_gate.gates.<name>`, report its result,
    exit with its code."""

    def gate() -> int:
        from cache_gate.config import load_settings
        from cache_gate.gates import gate

        settings = load_settings(params["settings"])
        return _emit(gate(name).run(settings, params), params)

    _run(gate)


def _run(gate: Callable[[], int]) -> None:
    """Run a gate; user errors become one line on stderr and exit 2."""
    try:
        code = gate()
    except InputError as exc:
        _error(str(exc))
        code = 2
    except BrokenPipeError:
        # Reader of our output went away (e.g. `| head`): not an error of ours.
        sys.stderr.close()
        code = 0
    except Exception as exc:
        # The last line of defence: whatever the input, never a traceback. The
        # exception's text may hold input data, so only its type and place are shown.
        if os.environ.get("CACHE_GATE_DEBUG") == "1":
            raise
        _error(f"internal error ({_where(exc)}): nothing was decided; please report it "
               "(CACHE_GATE_DEBUG=1 shows the traceback)")
        code = 2
    sys.exit(code)


def _error(message: str) -> None:
    """One line on stderr: the runner reads stderr for workflow commands too, and a
    message may quote a file name or a value from the input."""
    from cache_gate.redaction import environment_secrets, scrub_secrets
    from cache_gate.reporters.neutralise import guard_lines, terminal

    shown = terminal(scrub_secrets(message, environment_secrets()))
    click.echo(guard_lines(f"cache-gate: error: {shown}\n"), err=True, nl=False)


def _where(exc: BaseException) -> str:
    """`RecursionError in cache_gate/ledger/jsonl/reader.py:180`: the innermost frame of ours."""
    import traceback

    place = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        marker = f"{os.sep}cache_gate{os.sep}"
        if marker in frame.filename:
            relative = frame.filename[frame.filename.rindex(marker) + 1:]
            place = f" in {relative}:{frame.lineno}"
    return f"{type(exc).__name__}{place}"


@click.group(name="cache-gate",
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="cache-gate")
def cli() -> None:
    """Fail a commit or pull request when a change breaks LLM prompt caching.

    \b
    Exit codes: 0 passed, 1 the gate failed, 2 the gate could not decide
    (usage error, missing or unreadable input, invalid config).
    """
    forget_inputs()


@cli.command()
@ledger_options
@no_cache_option
@output_options
def kpi(**params: Any) -> None:
    """Compute the cache KPIs from the usage ledger and compare them with targets.

    \b
    KPIs (default targets, from the cache optimisation runbook):
      prompt_cache_hit_rate           >= 0.60  eligible requests that read the prompt cache
      cached_token_ratio              >= 0.40  cache-read / all input tokens, eligible requests
      response_cache_useful_hit_rate  >= 0.20  useful response-cache hits / lookups
      semantic_cache_useful_hit_rate  >= 0.10  useful semantic-cache hits / lookups
    A request is eligible when it reached the provider and reports prompt caching.
    Fails (exit 1) when a KPI is below its target.
    """

    _run_gate(params, "kpi")


@cli.command()
@ledger_options
@output_options
def report(**params: Any) -> None:
    """Cache analytics for people: breakdowns, daily trend, savings, duplicate spend.

    Breaks the KPIs down by workflow, phase, model and prompt; shows the daily
    prompt cache hit rate; estimates what caching saved and what repeated
    requests that missed every cache cost; flags runtime prefix drift (CG205).
    Never fails the build: exits 0 unless the input cannot be read.
    """

    params["exit_zero"] = True  # the report informs; it never fails the build
    _run_gate(params, "report")


def manifest_options(command: F) -> F:
    """Options of the gates that read the prompt manifest (lint, check)."""
    for option in reversed([
        click.option("--manifest", metavar="PATH",
                      help="Prompt manifest [default: .backlog-ops/prompt-manifest.json]."),
        click.option("--lock", metavar="PATH",
                     help="Prompt lock [default: beside the manifest, "
                          "prompt-manifest.lock.json]."),
        click.option("--root", metavar="DIR", type=click.Path(file_okay=False),
                     help="Repository root that manifest paths are relative to [default: the "
                          "directory holding the manifest's .backlog-ops/]."),
        click.option("--no-render", is_flag=True,
                     help="Do not run the prompts' render commands."),
        click.option("--select", multiple=True, metavar="RULES",
                     help="Only these rules: IDs, prefixes or names, comma-separated or "
                          "repeated."),
        click.option("--ignore", multiple=True, metavar="RULES",
                     help="Skip these rules: IDs, prefixes or names, comma-separated or "
                          "repeated."),
    ]):
        command = option(command)
    return command


@cli.command()
@manifest_options
@click.option("--update-lock", is_flag=True,
              help="Write the lock from the current stable prefixes (atomically).")
@click.option("--fix", is_flag=True,
              help="Normalise line endings, BOM, trailing whitespace and invisible "
                   "characters in stable-prefix files, and say what changed.")
@click.option("--ledger", metavar="PATH",
              help="Usage ledger that prices each cache-breaking error per day, read only "
                   "when there is one [default: .backlog-ops/usage-ledger.jsonl, if there].")
@output_options
def lint(**params: Any) -> None:
    """Lint the prompt manifest's stable prefixes and check them against the lock.

    \b
    Fails (exit 1) on a finding of severity error: something in a stable prefix
    that varies between calls (dates, clock expressions, placeholders, ids,
    machine paths, invisible bytes), a prefix that can never be cached (dynamic
    content before the breakpoint, below the model's minimum, a bad breakpoint
    layout), or drift from the committed lock (CG111). Rules: CG100-CG113.
    With a usage ledger, each error on a prompt says what shipping it costs a day.
    """

    _run_gate(params, "lint")


@cli.command()
@ledger_options
@no_cache_option
@manifest_options
@click.option("--config", metavar="PATH",
              help="Backlog toolkit config for the policy gate [default: backlog.config.json].")
@click.option("--litellm-config", metavar="PATH", help="LiteLLM proxy config for the policy gate.")
@output_options
def check(**params: Any) -> None:
    """Run every gate whose input exists; one combined result.

    \b
    lint    when the prompt manifest exists
    kpi     when the usage ledger exists
    policy  when backlog.config.json (or --config / --litellm-config) exists
    Skipped gates are listed with the reason. Exit 1 when any gate fails, 2 when a
    gate's input exists but cannot be read (the other gates still run).
    """

    _run_gate(params, "check")


@cli.command()
@click.option("--config", metavar="PATH",
              help="Backlog toolkit config whose llmOps.cachePolicy and llmOps.routing are "
                   "checked [default: backlog.config.json].")
@click.option("--litellm-config", metavar="PATH",
              help="LiteLLM proxy config.yaml (model_list, litellm_settings.cache, "
                   "cache_params).")
@click.option("--ledger", "evidence_ledger", metavar="PATH",
              help="Also hold the response cache TTL and the semantic threshold against this "
                   "usage ledger (JSON lines): CG307.")
@click.option("--days", type=click.IntRange(min=1), metavar="N",
              help="With --ledger: only its last N days (before --until, else --now).")
@click.option("--since", metavar="TIME",
              help="With --ledger: only records at or after TIME (ISO-8601).")
@click.option("--until", metavar="TIME",
              help="With --ledger: only records at or before TIME (ISO-8601).")
@click.option("--now", metavar="TIME", help="Take TIME as the current time.")
@output_options
def policy(**params: Any) -> None:
    """Check the cache policy: backlog.config.json and the LiteLLM proxy config.

    \b
    CG301 a config file fails its schema (error)
    CG302 semantic cache threshold below 0.82, aggressive (warning)
    CG303 semantic cache threshold 0.92 or above, conservative (info)
    CG304 response cache TTL below the runbook's 3600 s (info)
    CG305 a cache layer switched off (warning)
    CG306 stablePrefixMinTokens below a routed model's minimum cacheable length (error)
    CG307 with --ledger: the response cache TTL or semantic threshold is far from
          what the ledger's requests recommend (warning)
    Fails (exit 1) on a finding of severity error.
    """

    _run_gate(params, "policy")


@cli.command()
@click.option("--redis-url", metavar="URL",
              help="The Redis behind LiteLLM's cache, redis[s]://[:PASSWORD@]HOST:PORT/DB "
                   "[default: REDIS_URL, else the --litellm-config cache_params]. Prefer "
                   "REDIS_URL: a command line is visible to other users.")
@click.option("--litellm-config", metavar="PATH",
              help="LiteLLM proxy config.yaml whose cache_params locate the backend.")
@click.option("--proxy-url", metavar="URL",
              help="LiteLLM proxy base URL: also ask its /cache/ping (key from "
                   "LITELLM_MASTER_KEY).")
@click.option("--ledger", metavar="PATH",
              help="Usage ledger for coverage and workload [default: "
                   ".backlog-ops/usage-ledger.jsonl].")
@click.option("--manifest", metavar="PATH",
              help="Prompt manifest [default: .backlog-ops/prompt-manifest.json].")
@click.option("--days", type=click.IntRange(min=1), metavar="N",
              help="Only the ledger's last N days (before --until, else --now).")
@click.option("--since", metavar="TIME", help="Only records at or after TIME (ISO-8601).")
@click.option("--until", metavar="TIME", help="Only records at or before TIME (ISO-8601).")
@click.option("--now", metavar="TIME", help="Take TIME as the current time.")
@click.option("--min-requests", type=click.IntRange(min=0), metavar="N",
              help="Workflows with fewer hashed requests are not judged (CG404) "
                   "[default: 30].")
@click.option("--timeout", type=click.FloatRange(min=0.1, max=60), metavar="SECONDS",
              callback=_finite,
              help="Wait at most this long for each answer of the backend or proxy "
                   "[default: 3].")
@output_options
def doctor(**params: Any) -> None:
    """The runbook's escalation checks: cache backend, manifest coverage, workload.

    \b
    CG401 the cache backend (Redis, or the proxy's /cache/ping) does not answer (error)
    CG402 the backend is degraded: evictions, no eviction policy, slow (warning)
    CG403 a high-volume prompt or workflow has no manifest entry (warning)
    CG404 a workflow repeats too little for caching to pay (info)
    Runs each check whose input is there. Fails (exit 1) on a finding of severity
    error. Passwords and keys are never printed.
    """

    _run_gate(params, "doctor")


def _terminated(signum: int, frame: object) -> None:
    # SIGTERM (a CI job cancelled, a timeout) unwinds like an exception, so temporary
    # files (a piped ledger's copy, render directories) are removed on the way out.
    del frame
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Console entry point; `argv` None: this process's own command line.

    A run lives a fraction of a second, and nearly everything it allocates (modules,
    classes, compiled patterns) lives until it exits, so the cyclic collector's passes
    over it are wasted: as a program, its youngest generation is collected less often
    (it still is, for a long ledger), and what is left at exit is frozen, so that the
    interpreter's shutdown does not walk it all again (tens of milliseconds).
    """
    if argv is not None:  # called from Python (tests): the caller's collector is its own
        return _main(argv)
    gc.set_threshold(_YOUNGEST_GENERATION, *gc.get_threshold()[1:])
    try:
        return _main(None)
    finally:
        gc.freeze()


# Allocations (less deallocations) between collections of the youngest generation:
# Python's default is 700.
_YOUNGEST_GENERATION = 10_000


def _main(argv: list[str] | None) -> int:
    signal.signal(signal.SIGTERM, _terminated)
    try:
        cli.main(args=argv, prog_name="cache-gate", standalone_mode=False)
    except click.exceptions.Exit as done:  # --help, --version
        return done.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:  # `cache-gate` alone
        click.echo(exc.format_message(), err=True)
        return 2
    except click.UsageError as exc:
        # One line, as for every other error, with where to read more.
        message = " ".join(exc.format_message().split())
        command = exc.ctx.command_path if exc.ctx is not None else "cache-gate"
        _error(f"{message} (see '{command} --help')")
        return 2
    except click.ClickException as exc:
        _error(" ".join(exc.format_message().split()))
        return 2
    except click.Abort:
        click.echo("cache-gate: interrupted", err=True)
        return 130
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 2
    return 0
