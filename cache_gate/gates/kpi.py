"""`cache-gate kpi`: compute the cache KPIs from the ledger and compare with targets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from cache_gate import rules
from cache_gate.analyses import kpis
from cache_gate.analyses.cause_findings import avoidable_finding, top_causes
from cache_gate.analyses.kpi_evidence import KpiEvidence
from cache_gate.analyses.kpis import KpiResult, Tally
from cache_gate.analyses.miss_causes import MissCauses
from cache_gate.config import LOWER_IS_BETTER, Settings, kpi_name
from cache_gate.errors import InputError
from cache_gate.findings import Anchor, Finding, Result, Severity
from cache_gate.ledger.formats import FORMATS
from cache_gate.ledger.jsonl import checkpoint, resume
from cache_gate.ledger.jsonl.reader import cap_jobs
from cache_gate.ledger.postgres import is_postgres_url
from cache_gate.ledger.reading import LedgerStats, Selection
from cache_gate.ledger.requests import WINDOW
from cache_gate.ledger.window import make_window
from cache_gate.models import load_model_minimums
from cache_gate.prices import load_prices

TOP_CONTRIBUTORS = 3


class LedgerOptions(msgspec.Struct, frozen=True):
    """What `kpi`, `report` and `check` share: which ledger, which records, which targets."""

    ledger: str
    selection: Selection = Selection()
    targets: dict[str, float] = msgspec.field(default_factory=dict)
    workflow_targets: dict[str, dict[str, float]] = msgspec.field(default_factory=dict)
    required: frozenset[str] = frozenset()
    min_requests: int = 30
    strict: bool = False
    jobs: int | None = None
    # The repository file findings are placed at when the ledger is not a file.
    anchor: Anchor | None = None
    # The settings' price and minimum overrides (the miss causes' costs and minimums).
    prices: Mapping[str, float] = msgspec.field(default_factory=dict)
    model_minimums: Mapping[str, int] = msgspec.field(default_factory=dict)
    settings_source: str = "settings"
    # Resume from the ledger's checkpoint, and leave one (`ledger.jsonl.resume`).
    cache: bool = True

    def miss_causes(self) -> MissCauses:
        """An empty miss-cause analysis priced and bounded as the settings say."""
        return MissCauses(load_prices(self.prices, self.settings_source),
                          load_model_minimums(self.model_minimums, self.settings_source))


def parse_target(text: str) -> tuple[str, float]:
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


def settings_anchor(settings: Settings, manifest: str | None = None) -> Anchor | None:
    """Where findings go when what they are about is not a file: CI consumers need a
    file (GitHub code scanning rejects a SARIF result without one, and a URL as one).
    The settings file configures the gate; without one, the prompt manifest holds the
    prompts whose caching is judged."""
    if settings.source != Settings().source:
        return Anchor.at(settings.source, "the settings file")
    manifest = manifest or settings.manifest
    if Path(manifest).is_file():
        return Anchor.at(manifest, "the prompt manifest")
    return None


def ledger_settings(settings: Settings, params: Mapping[str, Any]) -> LedgerOptions:
    """Ledger options from the command line over the settings."""
    targets = dict(settings.targets)
    targets.update(parse_target(text) for text in params["targets"])
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
        jobs=cap_jobs(params["jobs"]),
        anchor=settings_anchor(settings, params.get("manifest")),
        prices=settings.prices,
        model_minimums=settings.model_minimums,
        settings_source=settings.source,
        cache=not params.get("no_cache", False),
    )


def ledger_json(stats: LedgerStats, options: LedgerOptions) -> dict[str, object]:
    """The JSON report's `ledger` section (contract keys first)."""
    window = options.selection.window
    section: dict[str, object] = {
        "path": stats.path,
        "records": stats.records,
        "bad_lines": stats.bad_count,
        "formats": dict(sorted(stats.formats.items())),
        "window": {
            **window.to_json(),
            "undated_excluded": stats.undated,
            "outside": stats.outside_window,
        },
        "bad_line_samples": [bad.to_json() for bad in stats.bad],
        "not_requests": stats.not_requests,
        "duplicates": stats.duplicates,
        "other_workflows": stats.other_workflows,
        "partial_last_line": stats.partial_tail,
    }
    if stats.late_winners:
        # Repeated requests whose later line reported more tokens than the one kept
        # (ledger/requests.py): their figures are low, and the report says so.
        section["approximate"] = {"late_repeats_with_more_tokens": stats.late_winners}
    if stats.incremental is not None:
        section["incremental"] = stats.incremental
    if stats.source is not None:
        # A database is read through its window's index: rows outside are not counted.
        section["source"] = stats.source
        section["window"]["outside"] = None  # type: ignore[index]
    return section


def bad_line_findings(stats: LedgerStats, strict: bool) -> list[Finding]:
    rule = rules.get("CG206")
    severity = Severity.ERROR if strict else rule.severity
    findings = [
        # A table's bad rows have no line number: their message names the request_id.
        Finding(stats.path, bad.line or None, rule.id, rule.name, severity,
                f"malformed ledger {'line' if bad.line else 'row'}: {bad.error}",
                hint=rule.fix, key=f"line {bad.line}" if bad.line else bad.error)
        for bad in stats.bad
    ]
    more = stats.bad_count - len(stats.bad)
    if more > 0:
        findings.append(Finding(stats.path, None, rule.id, rule.name, severity,
                                f"{more} more malformed ledger lines (first "
                                f"{len(stats.bad)} listed)", hint=rule.fix, key="more"))
    return findings


def placed(findings: list[Finding], stats: LedgerStats,
           options: LedgerOptions) -> list[Finding]:
    """Findings about a ledger that is a database, moved from its URL (no place a CI
    consumer can show) to a repository file, saying so; others unchanged."""
    if stats.source is None:
        return findings
    subject = f"ledger {stats.path}, a database"
    anchor = options.anchor
    note = anchor.note(subject) if anchor else f" ({subject})"
    return [msgspec.structs.replace(finding, path=anchor.path if anchor else None,
                                    message=finding.message + note)
            for finding in findings]


def evaluate_all(tally: Tally, options: LedgerOptions) -> tuple[
        dict[str, KpiResult], dict[str, dict[str, KpiResult]]]:
    """Global KPIs, and the KPIs of every workflow with targets of its own.

    A workflow with its own target for a KPI is judged on that target alone and
    left out of the pool the global target judges (so a workflow that naturally
    caches less does not drag down, or hide behind, the rest).
    """
    present = tally.workflow_sums(frozenset(options.workflow_targets))
    overrides = {wf: t for wf, t in options.workflow_targets.items() if wf in present}
    results: dict[str, KpiResult] = {}
    everything = tally.total()
    for name in kpis.KPI_SLOTS:
        own = frozenset(wf for wf, targets in overrides.items() if name in targets)
        pool = tally.total(own) if own else everything
        results[name] = kpis.evaluate(name, pool, options.targets[name],
                                      min_requests=options.min_requests,
                                      required=name in options.required)
    per_workflow: dict[str, dict[str, KpiResult]] = {}
    for workflow, targets in sorted(overrides.items()):
        assert workflow is not None
        per_workflow[workflow] = {
            name: kpis.evaluate(name, present[workflow], target,
                                min_requests=options.min_requests)
            for name, target in targets.items()
        }
    return results, per_workflow


def contributors(tally: Tally, name: str) -> list[str]:
    """The workflows and prompts that pull a KPI down most, as readable lines."""
    lines = []
    for field_index, label in ((0, "workflow"), (1, "prompt")):
        for key, sums in tally.worst(field_index, name, TOP_CONTRIBUTORS):
            missed = kpis.shortfall(name, sums)
            numerator_slot, denominator_slot, _ = kpis.KPI_SLOTS[name]
            rate = sums[numerator_slot] / sums[denominator_slot]
            unit = "tokens" if name == "cached_token_ratio" else "requests"
            what = "avoidable misses" if name in LOWER_IS_BETTER else f"{unit} missed"
            lines.append(f"{label} {key or '(none)'}: {rate:.1%} "
                         f"({missed:,} of {sums[denominator_slot]:,} {what})")
    return lines


def _describe(result: KpiResult, scope: str) -> str:
    label = kpis.LABELS[result.name]
    value = result.value
    if value is None:
        return f"{label}{scope} is required but nothing in the window reports it"
    unit = "tokens" if result.name == "cached_token_ratio" else "requests"
    if result.name in LOWER_IS_BETTER:
        return (f"{label}{scope} {value:.1%} is above the {result.target:.0%} target "
                f"({result.numerator:,} avoidable misses / {result.denominator:,} eligible "
                "requests)")
    return (f"{label}{scope} {value:.1%} is below the {result.target:.0%} target "
            f"({result.numerator:,} / {result.denominator:,} {unit})")


def kpi_findings(results: dict[str, KpiResult], per_workflow: dict[str, dict[str, KpiResult]],
                 options: LedgerOptions, path: str,
                 causes: MissCauses | None = None) -> list[Finding]:
    findings = []
    scoped = [("", results)] + [(f" of workflow {wf}", own) for wf, own in per_workflow.items()]
    for scope, group in scoped:
        for name, result in group.items():
            rule = rules.get(kpis.RULE_OF_KPI[name])
            if result.failed and name == "avoidable_miss_rate" and causes is not None:
                finding = avoidable_finding(causes, path, _describe(result, scope))
                findings.append(msgspec.structs.replace(finding, key=f"{name}{scope}"))
            elif result.failed:
                findings.append(Finding(path, None, rule.id, rule.name, rule.severity,
                                        _describe(result, scope), hint=kpis.ACTIONS[name],
                                        key=f"{name}{scope}"))
            elif result.status == "insufficient" and options.strict:
                findings.append(Finding(
                    path, None, rule.id, rule.name, Severity.ERROR,
                    f"{kpis.LABELS[name]}{scope}: only {result.requests} requests report it, "
                    f"fewer than --min-requests {options.min_requests} (--strict)",
                    hint="Widen the window (--days) or lower --min-requests.",
                    key=f"{name}{scope} insufficient"))
    return findings


def run_kpi(options: LedgerOptions) -> Result:
    if is_postgres_url(options.ledger):
        from cache_gate.analyses.postgres_sums import read_evidence

        table = KpiEvidence(Tally(), options.miss_causes())
        stats = read_evidence(options.ledger, options.selection, table)
        tally, causes = table.answers()
        return kpi_result("kpi", tally, stats, options, causes)
    # The miss causes need each request's time, model and prefix (the sink asks the
    # reader for them), in ledger order.
    evidence, stats, use = resume.scan(
        options.ledger, options.selection,
        lambda: KpiEvidence(Tally(), options.miss_causes()),
        cache=ledger_cache(options) if options.cache else None, jobs=options.jobs)
    if use is not None:
        stats.incremental = use.to_json()
    assert isinstance(evidence, KpiEvidence)
    tally, causes = evidence.answers()
    return kpi_result("kpi", tally, stats, options, causes)


def ledger_cache(options: LedgerOptions) -> checkpoint.LedgerCache:
    """Where `kpi` keeps its checkpoint of the ledger: keyed on everything its sink
    depends on besides the ledger (the workflows it keeps, the prices and minimums of
    the miss causes' costs)."""
    workflows = options.selection.workflows
    return checkpoint.LedgerCache(json.dumps({
        "sink": "kpi", "workflows": None if workflows is None else sorted(workflows),
        "prices": dict(options.prices), "minimums": dict(options.model_minimums),
    }, sort_keys=True, default=str))


def require_evidence(stats: LedgerStats) -> None:
    """No evidence is no pass: a ledger whose lines hold no valid request, or more
    malformed lines than valid records, cannot decide a gate (exit 2), however its
    KPIs would come out. An empty window in a valid ledger is not this: its KPIs are
    `n/a` or `insufficient`, and the report says the window is empty."""
    valid = (stats.records + stats.outside_window + stats.undated + stats.other_workflows
             + stats.duplicates)
    if valid and stats.bad_count <= valid:
        return
    if stats.bad_count:
        first = stats.bad[0]
        where = f"line {first.line}" if first.line else "first bad row"
        raise InputError(
            f"ledger {stats.path}: no evidence to decide on: {stats.bad_count:,} malformed "
            f"line{'s' * (stats.bad_count != 1)} against {valid:,} valid record"
            f"{'s' * (valid != 1)} ({where}: {first.error}); fix what writes the ledger, "
            "or point --ledger at the usage ledger")
    if stats.not_requests:
        raise InputError(
            f"ledger {stats.path}: no evidence to decide on: none of its "
            f"{stats.not_requests:,} JSON objects is a request in a format cache-gate reads "
            f"({', '.join(FORMATS)}); point --ledger at the usage ledger")


def kpi_result(command: str, tally: Tally, stats: LedgerStats, options: LedgerOptions,
               causes: MissCauses) -> Result:
    require_evidence(stats)
    # The one place the miss causes' counts join the tally, whatever the source.
    tally.add_avoidable(causes.avoidable_by_group)
    results, per_workflow = evaluate_all(tally, options)
    findings = bad_line_findings(stats, options.strict)
    findings += kpi_findings(results, per_workflow, options, stats.path, causes)
    findings = placed(findings, stats, options)
    whole = tally.total()
    hit_rate = kpis.evaluate("prompt_cache_hit_rate", whole, 0, min_requests=0).value
    notes = []
    for name, result in results.items():
        if result.failed:
            notes.append(f"{kpis.LABELS[name]}: {kpis.ACTIONS[name]}")
            notes.extend(f"  {line}" for line in contributors(tally, name))
    if hit_rate is not None and hit_rate < kpis.ESCALATION_BELOW:
        notes.extend(kpis.ESCALATION)
    if results["avoidable_miss_rate"].failed:
        notes.extend(f"  {line}" for line in top_causes(causes))
    if stats.partial_tail:
        notes.append("The ledger's last line has no newline and is not valid JSON yet "
                     "(a writer mid-append?): it was ignored.")
    if stats.late_winners:
        notes.append(f"Approximate: {stats.late_winners:,} repeated requests (Claude Code) "
                     f"reported more tokens on a line more than {WINDOW:,} records after "
                     "their first; the line counted for each is an earlier one, with fewer "
                     "tokens.")
    kpi_rows = {name: result.to_json() for name, result in results.items()}
    for name in kpi_rows:
        if per_workflow and any(name in own for own in per_workflow.values()):
            kpi_rows[name]["scope"] = "workflows without their own target"
    sections: dict[str, object] = {
        "kpis": kpi_rows,
        "cache_hit_rate_pct": None if hit_rate is None else round(hit_rate * 100, 1),
        "ledger": ledger_json(stats, options),
        "miss_causes": causes.to_json(),
    }
    if per_workflow:
        sections["workflow_kpis"] = {
            wf: {name: r.to_json() for name, r in own.items()} for wf, own in per_workflow.items()
        }
    return Result(command, findings, sections, notes)


def inputs(settings: Settings, params: Mapping[str, Any]) -> list[str]:
    """What `check` looks for before it runs this gate."""
    return [params.get("ledger") or settings.ledger]


def run(settings: Settings, params: Mapping[str, Any]) -> Result:
    """`cache-gate kpi`: the ledger's KPIs against their targets."""
    return run_kpi(ledger_settings(settings, params))
