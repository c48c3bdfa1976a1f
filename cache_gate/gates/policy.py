"""`cache-gate policy`: read the two config files, validate them (CG301), run CG302-CG306;
with `--ledger`, hold the response cache TTL and the semantic threshold against the
ledger's evidence (CG307).

Flow: options -> load each file (exit 2 if it cannot be read at all) -> schema
violations and duplicate keys become CG301 findings -> typed views of the valid
parts -> rules -> (the ledger, read once in file order, and CG307) -> select/ignore
-> Result. A file with schema errors is still checked wherever its values are usable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from cache_gate.config import Settings
from cache_gate.errors import InputError
from cache_gate.findings import Finding, Result, Severity
from cache_gate.manifest.positions import format_path
from cache_gate.models import load_model_minimums
from cache_gate.policy import (
    disabled_layers,
    prefix_minimum,
    response_ttl,
    semantic_threshold,
)
from cache_gate.policy.backlog_config import BacklogPolicy, read_backlog_policy
from cache_gate.policy.engine import PolicyInputs, RuleFilter, flag
from cache_gate.policy.litellm_config import LiteLLMConfig, read_litellm_config
from cache_gate.policy.loading import ConfigDocument, load_config
from cache_gate.policy.schema import BACKLOG_SCHEMA, LITELLM_SCHEMA, validate

if TYPE_CHECKING:
    # The ledger's modules load only with --ledger: `policy` alone (a pre-commit hook)
    # starts as fast as it did.
    from cache_gate.gates.kpi import LedgerOptions
    from cache_gate.ledger.reading import LedgerStats
    from cache_gate.policy.ledger_evidence import CurveEvidence

POLICY_RULES = ("CG301", "CG302", "CG303", "CG304", "CG305", "CG306", "CG307")
BACKLOG_WHAT = "backlog config"
LITELLM_WHAT = "LiteLLM config"

Rule = Callable[[PolicyInputs], Iterator[Finding]]
RULES: tuple[Rule, ...] = (semantic_threshold.check, response_ttl.check, disabled_layers.check,
                           prefix_minimum.check)


class PolicyOptions(msgspec.Struct, frozen=True):
    config: str | None = "backlog.config.json"
    litellm_config: str | None = None
    # False: the backlog config is the default path, so its absence is not an error
    # when a LiteLLM config is checked instead.
    config_required: bool = True
    model_minimums: Mapping[str, int] = msgspec.field(default_factory=dict)
    model_minimums_source: str = "settings"
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    selection_source: str = "select/ignore"
    # `--ledger`: the evidence the configuration is held against (CG307); None: not read.
    ledger: LedgerOptions | None = None


def _ledger_options(settings: Settings, params: Mapping[str, Any]) -> LedgerOptions | None:
    """`--ledger` and its window, read as `kpi` reads them; None without `--ledger`.

    The option's key is `evidence_ledger`, not `ledger`: `check` hands every gate its
    own `--ledger`, and the policy gate it runs stays what it was without one."""
    ledger = params.get("evidence_ledger")
    if not ledger:
        return None
    from cache_gate.gates.kpi import ledger_settings

    return ledger_settings(settings, {
        "ledger": ledger, "days": params.get("days"), "since": params.get("since"),
        "until": params.get("until"), "now": params.get("now"), "workflows": (),
        "targets": (), "min_requests": None, "strict": False, "jobs": 1,
    })


def policy_options(settings: Settings, params: Mapping[str, Any]) -> PolicyOptions:
    """Options from the command line over the settings (CLI > settings > defaults)."""
    config = params.get("config") or settings.config
    named = bool(params.get("config")) or settings.config != Settings().config
    return PolicyOptions(
        config=config,
        litellm_config=params.get("litellm_config") or settings.litellm_config,
        config_required=named,
        model_minimums=settings.model_minimums,
        model_minimums_source=settings.source,
        select=tuple(settings.select),
        ignore=tuple(settings.ignore),
        selection_source=f"{settings.source}: select/ignore",
        ledger=_ledger_options(settings, params),
    )


def _schema_findings(document: ConfigDocument, schema: str) -> Iterator[Finding]:
    for violation in validate(document.data, schema):
        where = format_path(violation.path)
        yield flag("CG301", f"{where}: {violation.message}", path=document.display,
                   line=document.line_of(violation.path), key=f"{where}: {violation.message}")
    for duplicate in document.duplicates:
        where = format_path(duplicate.path)
        yield flag("CG301", f"{where} is set twice (first on line {duplicate.first_line}): "
                   "the later value silently wins", path=document.display,
                   line=duplicate.line, key=f"{where}: duplicate", severity=Severity.WARNING,
                   hint="Keep one of the two keys.")


def _display(path: str) -> str:
    return Path(path).as_posix()


def _load_backlog(options: PolicyOptions, notes: list[str]) -> ConfigDocument | None:
    if options.config is None:
        return None
    path = Path(options.config)
    if not path.exists() and not options.config_required and options.litellm_config:
        notes.append(f"{options.config} not found: only the LiteLLM config was checked "
                     "(pass --config PATH to check a backlog config too)")
        return None
    if not path.exists():
        raise InputError(f"backlog config {options.config} does not exist: pass --config PATH "
                         "(backlog.config.json) and/or --litellm-config PATH")
    return load_config(path, _display(options.config), BACKLOG_WHAT)


def run_policy(options: PolicyOptions) -> Result:
    notes: list[str] = []
    backlog_document = _load_backlog(options, notes)
    litellm_document = (load_config(Path(options.litellm_config),
                                    _display(options.litellm_config), LITELLM_WHAT)
                        if options.litellm_config else None)
    findings: list[Finding] = []
    backlog: BacklogPolicy | None = None
    litellm: LiteLLMConfig | None = None
    if backlog_document is not None:
        findings += _schema_findings(backlog_document, BACKLOG_SCHEMA)
        backlog = read_backlog_policy(backlog_document)
        if not backlog.declares_cache_policy:
            notes.append(f"{backlog_document.display}: no llmOps.cachePolicy, so the toolkit's "
                         "defaults apply and were checked")
    if litellm_document is not None:
        findings += _schema_findings(litellm_document, LITELLM_SCHEMA)
        litellm = read_litellm_config(litellm_document)
    inputs = PolicyInputs(backlog, litellm,
                          load_model_minimums(options.model_minimums,
                                              options.model_minimums_source))
    for rule in RULES:
        findings += rule(inputs)
    sections: dict[str, object] = {}
    if options.ledger is not None:
        from cache_gate.gates.kpi import ledger_json
        from cache_gate.policy import ledger_evidence

        evidence, stats = read_evidence(options.ledger, inputs)
        if stats.records:
            findings += ledger_evidence.check(inputs, evidence, stats.path)
        else:
            notes.append(f"ledger {stats.path}: no request in the window, so the "
                         "configuration was not held against it")
        sections = {"ledger": ledger_json(stats, options.ledger), **evidence.to_json()}
    notes += _backend_mismatch(backlog, litellm)
    selection = RuleFilter(POLICY_RULES, options.select, options.ignore,
                           options.selection_source)
    result = Result("policy", selection.keep(findings))
    result.sections["policy"] = _section(inputs, backlog_document, litellm_document)
    result.sections.update(sections)
    result.notes = _summary(backlog_document, litellm_document) + inputs.notes + notes
    return result


def read_evidence(ledger: LedgerOptions,
                  inputs: PolicyInputs) -> tuple[CurveEvidence, LedgerStats]:
    """The ledger's response TTL and semantic threshold curves, with the configured
    values replayed too: one pass, in file order (the curves depend on it)."""
    from cache_gate.analyses.exact_reading import read_exactly
    from cache_gate.gates.kpi import require_evidence
    from cache_gate.ledger.postgres import is_postgres_url
    from cache_gate.policy import ledger_evidence

    if is_postgres_url(ledger.ledger):
        raise InputError("policy --ledger reads a JSON-lines usage ledger; a PostgreSQL "
                         "ledger is not supported here yet: pass --ledger PATH to the "
                         "JSONL ledger")
    template = ledger_evidence.evidence_sink(inputs)
    sink, stats = read_exactly(ledger.ledger, ledger.selection,
                               lambda: ledger_evidence.CurveEvidence(template.ttls,
                                                                     template.thresholds),
                               jobs=1)
    require_evidence(stats)
    assert isinstance(sink, ledger_evidence.CurveEvidence)
    return sink, stats


def _backend_mismatch(backlog: BacklogPolicy | None,
                      litellm: LiteLLMConfig | None) -> Iterable[str]:
    """The two files disagreeing on the response cache backend is worth a word."""
    if backlog is None or litellm is None:
        return []
    declared = backlog.response_cache_backend
    actual = litellm.cache_type
    enabled = backlog.response_cache_enabled
    if (declared is None or actual is None or enabled is None or not enabled.value
            or declared.value == actual):
        return []
    return [f"{backlog.document.display} says the response cache backend is "
            f"{declared.value!r} ({format_path(declared.path)}), but {litellm.display} "
            f"configures {actual!r} (litellm_settings.cache_params.type)"]


def _summary(backlog: ConfigDocument | None, litellm: ConfigDocument | None) -> list[str]:
    checked = [f"{doc.display} ({what})" for doc, what in
               ((backlog, "llmOps.cachePolicy, llmOps.routing"),
                (litellm, "model_list, litellm_settings.cache")) if doc is not None]
    return [f"checked {' and '.join(checked)}"] if checked else []


def _section(inputs: PolicyInputs, backlog: ConfigDocument | None,
             litellm: ConfigDocument | None) -> dict[str, object]:
    section: dict[str, object] = {
        "config": backlog.display if backlog is not None else None,
        "litellm_config": litellm.display if litellm is not None else None,
    }
    policy = inputs.backlog
    if policy is not None:
        minimum = policy.stable_prefix_min_tokens
        section["stable_prefix_min_tokens"] = None if minimum is None else minimum.value
        section["routing"] = {route.key: {"alias": route.alias, "default": not route.explicit}
                              for route in policy.routes}
        section["routed_models"] = [m.to_json() for m in prefix_minimum.routed_models(
            PolicyInputs(policy, inputs.litellm, inputs.minimums))]
    if inputs.litellm is not None:
        section["response_cache"] = {"on": inputs.litellm.cache is True,
                                     "type": inputs.litellm.cache_type,
                                     "ttl": inputs.litellm.param("ttl")}
    return section


def inputs(settings: Settings, params: Mapping[str, Any]) -> list[str]:
    """What `check` looks for before it runs this gate."""
    litellm = params.get("litellm_config") or settings.litellm_config
    return [params.get("config") or settings.config, *([litellm] if litellm else [])]


def run(settings: Settings, params: Mapping[str, Any]) -> Result:
    """`cache-gate policy`: the cache configuration."""
    return run_policy(policy_options(settings, params))
