"""The `cache-gate` command line: each command gathers options and calls a gate.

Heavy modules are imported inside the commands, so `cache-gate --version` and
`--help` start fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cache_gate import __version__
from cache_gate.errors import InputError

if TYPE_CHECKING:
    from cache_gate.config import Settings
    from cache_gate.findings import Result
    from cache_gate.kpi_gate import LedgerOptions

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("text", "json", "github", "gitlab", "sarif", "junit", "markdown")


def _default_format() -> str:
    if os.environ.get("GITHUB_ACTIONS") == "true" and "github" in FORMATS:
        return "github"
    return "text"


def output_options(command: F) -> F:
    """Options every gate takes: how to report, and the tool's settings."""
    for option in reversed([
        click.option("--format", "report_format", type=click.Choice(FORMATS), default=None,
                     help="Report format [default: text; github inside GitHub Actions]."),
        click.option("--output", type=click.Path(dir_okay=False, writable=True),
                     help="Write the report to PATH; print only the one-line verdict."),
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
                     help="Usage ledger, JSON lines [default: .backlog-ops/usage-ledger.jsonl]."),
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


def _parse_target(text: str) -> tuple[str, float]:
    from cache_gate.config import kpi_name

    name, sep, raw = text.partition("=")
    if not sep:
        raise InputError(f"--target {text!r}: expected NAME=VALUE, e.g. prompt_cache_hit_rate=0.6")
    try:
        name = kpi_name(name)
        value = float(raw.rstrip("%")) / (100 if raw.strip().endswith("%") else 1)
    except ValueError as exc:
        raise InputError(f"--target {text!r}: {exc}") from None
    if not 0 <= value <= 1:
        raise InputError(f"--target {text!r}: a target is a fraction from 0 to 1 (or 0-100%)")
    return name, value


def _ledger_from(settings: Settings, params: dict[str, Any]) -> LedgerOptions:
    from cache_gate.kpi_gate import LedgerOptions
    from cache_gate.ledger.reader import Selection
    from cache_gate.ledger.window import make_window

    targets = dict(settings.targets)
    targets.update(_parse_target(text) for text in params["targets"])
    window = make_window(days=params["days"] or (None if params["since"] else settings.days),
                         since=params["since"], until=params["until"], now=params["now"])
    workflows = frozenset(params["workflows"]) if params["workflows"] else None
    min_requests = params["min_requests"]
    return LedgerOptions(
        ledger=params["ledger"] or settings.ledger,
        selection=Selection(window, workflows),
        targets=targets,
        workflow_targets=settings.workflow_targets,
        required=frozenset(settings.required),
        min_requests=settings.min_requests if min_requests is None else min_requests,
        strict=params["strict"] or settings.strict,
        jobs=params["jobs"],
    )


def _emit(result: Result, params: dict[str, Any]) -> int:
    from cache_gate import reporters
    from cache_gate.reporters.text import verdict

    code = int(result.exit_code(exit_zero=params["exit_zero"]))
    no_color = params["no_color"] or "NO_COLOR" in os.environ
    color = not no_color and sys.stdout.isatty()
    context = reporters.RenderContext(code, color, params["verbose"] - params["quiet"])
    report_format = params["report_format"] or _default_format()
    text = reporters.get(report_format)(result, context)
    if report_format == "github":
        from cache_gate.reporters.github import write_step_summary

        write_step_summary(result, context)
    if params["output"]:
        target = Path(params["output"])
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write report to {target}: {exc.strerror}") from None
        click.echo(verdict(result, context) + f" - report written to {target}")
    else:
        click.echo(text, nl=False)
    return code


def _run(gate: Callable[[], int]) -> None:
    """Run a gate; user errors become one line on stderr and exit 2."""
    try:
        code = gate()
    except InputError as exc:
        click.echo(f"cache-gate: error: {exc}", err=True)
        code = 2
    except BrokenPipeError:
        # Reader of our output went away (e.g. `| head`): not an error of ours.
        sys.stderr.close()
        code = 0
    sys.exit(code)


@click.group(name="cache-gate",
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="cache-gate")
def cli() -> None:
    """Fail a commit or pull request when a change breaks LLM prompt caching.

    \b
    Exit codes: 0 passed, 1 the gate failed, 2 the gate could not decide
    (usage error, missing or unreadable input, invalid config).
    """


@cli.command()
@ledger_options
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

    def gate() -> int:
        from cache_gate.config import load_settings
        from cache_gate.kpi_gate import run_kpi

        settings = load_settings(params["settings"])
        return _emit(run_kpi(_ledger_from(settings, params)), params)

    _run(gate)


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

    def gate() -> int:
        from cache_gate.config import load_settings
        from cache_gate.report import run_report

        settings = load_settings(params["settings"])
        options = _ledger_from(settings, params)
        result = run_report(options, settings)
        params["exit_zero"] = True
        return _emit(result, params)

    _run(gate)


@cli.command()
@click.option("--manifest", metavar="PATH",
              help="Prompt manifest [default: .backlog-ops/prompt-manifest.json].")
@click.option("--lock", metavar="PATH",
              help="Prompt lock [default: beside the manifest, prompt-manifest.lock.json].")
@click.option("--root", metavar="DIR", type=click.Path(file_okay=False),
              help="Repository root that manifest paths are relative to [default: the "
                   "directory holding the manifest's .backlog-ops/].")
@click.option("--update-lock", is_flag=True,
              help="Write the lock from the current stable prefixes (atomically).")
@click.option("--no-render", is_flag=True, help="Do not run the prompts' render commands.")
@click.option("--fix", is_flag=True,
              help="Normalise line endings, BOM, trailing whitespace and invisible "
                   "characters in stable-prefix files, and say what changed.")
@click.option("--select", multiple=True, metavar="RULES",
              help="Only these rules: IDs, prefixes or names, comma-separated or repeated.")
@click.option("--ignore", multiple=True, metavar="RULES",
              help="Skip these rules: IDs, prefixes or names, comma-separated or repeated.")
@output_options
def lint(**params: Any) -> None:
    """Lint the prompt manifest's stable prefixes and check them against the lock.

    \b
    Fails (exit 1) on a finding of severity error: something in a stable prefix
    that varies between calls (dates, clock expressions, placeholders, ids,
    machine paths, invisible bytes), a prefix that can never be cached (dynamic
    content before the breakpoint, below the model's minimum, a bad breakpoint
    layout), or drift from the committed lock (CG111). Rules: CG100-CG113.
    """

    def gate() -> int:
        from cache_gate.config import load_settings
        from cache_gate.lint_gate import lint_options, run_lint

        settings = load_settings(params["settings"])
        return _emit(run_lint(lint_options(settings, params)), params)

    _run(gate)


def main(argv: list[str] | None = None) -> int:
    """Console entry point."""
    try:
        cli.main(args=argv, prog_name="cache-gate")
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 2
    return 0
