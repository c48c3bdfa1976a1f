"""`cache-gate doctor`: run every escalation check whose input is there, as one Result.

- the cache backend (CG401/CG402): `--redis-url`, else `REDIS_URL`, else the
  LiteLLM config's `cache_params`; and the proxy's `/cache/ping` with `--proxy-url`;
- manifest coverage (CG403) and workload repetition (CG404), from the ledger.

A default input that is absent is skipped with a note; an input named on the
command line that is absent is an error (exit 2), and so is having nothing to
check at all. Every message goes through the redactor before it is reported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from cache_gate.config import Settings
from cache_gate.doctor.bounded import CheckFailed, run_bounded
from cache_gate.doctor.redaction import Redactor
from cache_gate.errors import InputError
from cache_gate.findings import Anchor, Finding, Result
from cache_gate.ledger.reading import Selection

if TYPE_CHECKING:
    from cache_gate.doctor.redis_target import RedisTarget
    from cache_gate.policy.litellm_config import LiteLLMConfig

DOCTOR_RULES = ("CG401", "CG402", "CG403", "CG404")
DEFAULT_TIMEOUT = 3.0
MASTER_KEY_ENV = "LITELLM_MASTER_KEY"


@dataclass(frozen=True)
class DoctorOptions:
    redis_url: str | None = None
    litellm_config: str | None = None
    proxy_url: str | None = None
    ledger: str = ".backlog-ops/usage-ledger.jsonl"
    ledger_required: bool = False
    manifest: str = ".backlog-ops/prompt-manifest.json"
    manifest_required: bool = False
    selection: Selection = Selection()
    min_requests: int = 30
    response_target: float = 0.20
    timeout: float = DEFAULT_TIMEOUT
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    selection_source: str = "select/ignore"
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    # Where a finding about what no repository file names (--redis-url, REDIS_URL,
    # --proxy-url) is shown when there is no LiteLLM config: see `_placed`.
    anchor: Anchor | None = None


def doctor_options(settings: Settings, params: Mapping[str, Any],
                   environ: Mapping[str, str] | None = None) -> DoctorOptions:
    """Options from the command line over the settings (CLI > settings > defaults)."""
    from cache_gate.gates.kpi import settings_anchor
    from cache_gate.ledger.window import make_window

    defaults = Settings()
    window = make_window(days=params.get("days"), since=params.get("since"),
                         until=params.get("until"), now=params.get("now"))
    min_requests = params.get("min_requests")
    return DoctorOptions(
        redis_url=params.get("redis_url"),
        litellm_config=params.get("litellm_config") or settings.litellm_config,
        proxy_url=params.get("proxy_url"),
        ledger=params.get("ledger") or settings.ledger,
        ledger_required=bool(params.get("ledger")) or settings.ledger != defaults.ledger,
        manifest=params.get("manifest") or settings.manifest,
        manifest_required=bool(params.get("manifest")) or settings.manifest != defaults.manifest,
        selection=Selection(window),
        min_requests=settings.min_requests if min_requests is None else min_requests,
        response_target=settings.targets["response_cache_useful_hit_rate"],
        timeout=params.get("timeout") or DEFAULT_TIMEOUT,
        select=tuple(settings.select),
        ignore=tuple(settings.ignore),
        selection_source=f"{settings.source}: select/ignore",
        environ=dict(os.environ if environ is None else environ),
        anchor=settings_anchor(settings, params.get("manifest")),
    )


@dataclass
class _Report:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sections: dict[str, object] = field(default_factory=dict)
    checked: list[str] = field(default_factory=list)


def run_doctor(options: DoctorOptions) -> Result:
    redactor = Redactor()
    for variable in ("REDIS_PASSWORD", MASTER_KEY_ENV):
        redactor.add(options.environ.get(variable))
    try:
        result = _run(options, redactor)
    except InputError as exc:
        raise InputError(redactor.scrub(str(exc))) from None
    return redactor.result(result)


def _run(options: DoctorOptions, redactor: Redactor) -> Result:
    from cache_gate.policy.engine import RuleFilter

    report = _Report()
    litellm = _litellm(options, redactor)
    _backend(options, litellm, redactor, report)
    if options.proxy_url:
        _proxy(options, litellm, redactor, report)
    _ledger(options, report)
    if not report.checked:
        raise InputError("nothing to check: " + "; ".join(report.notes))
    selection = RuleFilter(DOCTOR_RULES, options.select, options.ignore,
                           options.selection_source)
    report.sections["checked"] = report.checked
    findings = _placed(report.findings, options)
    return Result("doctor", selection.keep(findings), {"doctor": report.sections},
                  report.notes)


def _placed(findings: list[Finding], options: DoctorOptions) -> list[Finding]:
    """Findings with no file (a backend named by --redis-url or REDIS_URL, a proxy by
    --proxy-url) placed at a repository file, saying so: CI consumers need one (GitHub
    code scanning rejects a SARIF result without a location). The LiteLLM config is
    the proxy's cache configuration; else the settings file, else the prompt manifest."""

    anchor = options.anchor
    if options.litellm_config:
        # As given, relative to the working directory like every finding's path: the
        # reporters make paths relative to the checkout.
        anchor = Anchor.at(options.litellm_config, "the LiteLLM config")
    if anchor is None:
        return findings
    note = anchor.note("named outside the repository")
    return [msgspec.structs.replace(finding, path=anchor.path, message=finding.message + note)
            if finding.path is None else finding for finding in findings]


def _litellm(options: DoctorOptions, redactor: Redactor) -> LiteLLMConfig | None:
    if not options.litellm_config:
        return None
    from cache_gate.policy.litellm_config import read_litellm_config
    from cache_gate.policy.loading import load_config

    path = Path(options.litellm_config)
    config = read_litellm_config(load_config(path, path.as_posix(), "LiteLLM config"))
    # Literal credentials in the config are secrets too, whatever is done with them.
    password, url = config.param("password"), config.param("url")
    if isinstance(password, str) and not password.startswith("os.environ/"):
        redactor.add(password)
    if isinstance(url, str) and not url.startswith("os.environ/"):
        redactor.url(url)
    return config


def whole_check_seconds(timeout: float) -> float:
    """One deadline for a whole check (a Redis probe makes a dozen round trips, a
    proxy ping one request): whatever the server drips, it ends by then."""
    return 2 * timeout + 0.5


def _backend(options: DoctorOptions, litellm: LiteLLMConfig | None, redactor: Redactor,
             report: _Report) -> None:
    from cache_gate.doctor import redis_target
    from cache_gate.doctor.redis_backend import BackendProbe, probe_redis

    target: RedisTarget | None
    if options.redis_url:
        target = redis_target.from_url(options.redis_url, "--redis-url", redactor)
    elif options.environ.get("REDIS_URL"):
        target = redis_target.from_url(options.environ["REDIS_URL"], "REDIS_URL", redactor)
    elif litellm is not None:
        target, reason = redis_target.from_litellm(litellm, options.environ, redactor)
    else:
        report.notes.append("no cache backend named (--redis-url, REDIS_URL, or "
                            "--litellm-config): backend not checked")
        return
    if target is None:
        report.notes.append(str(reason))
        return
    try:
        probe, learned = run_bounded(
            lambda: (probe_redis(target, options.timeout), redactor.known()),
            deadline_s=whole_check_seconds(options.timeout))
        redactor.learn(learned)
    except CheckFailed as failed:
        probe = BackendProbe(target)
        probe.details.update({"url": target.display, "source": target.source,
                              "reachable": False})
        probe.flag("CG401", str(failed), "bounded")
    report.checked.append("backend")
    report.findings += probe.findings
    if probe.summary:
        report.notes.append(probe.summary)
    report.sections["backend"] = probe.details


def _proxy(options: DoctorOptions, litellm: LiteLLMConfig | None, redactor: Redactor,
           report: _Report) -> None:
    from cache_gate.doctor.proxy import ProxyPing, ping_proxy

    key = options.environ.get(MASTER_KEY_ENV)
    if key is None and litellm is not None:
        from cache_gate.policy.litellm_config import env_reference

        settings = litellm.document.data.get("general_settings")
        configured = settings.get("master_key") if isinstance(settings, dict) else None
        name = env_reference(configured)
        key = options.environ.get(name) if name else configured
        key = key if isinstance(key, str) else None
    assert options.proxy_url is not None
    url = options.proxy_url
    redactor.add(key)
    try:
        ping, learned = run_bounded(
            lambda: (ping_proxy(url, key, options.timeout, redactor), redactor.known()),
            deadline_s=whole_check_seconds(options.timeout))
        redactor.learn(learned)
    except CheckFailed as failed:
        ping = ProxyPing(redactor.url(url))
        ping.unhealthy(str(failed), "bounded")
    report.checked.append("proxy")
    report.findings += ping.findings
    if not ping.findings:
        report.notes.append(ping.summary)
    report.sections["proxy"] = ping.details


def _ledger(options: DoctorOptions, report: _Report) -> None:
    from cache_gate.doctor.coverage import check_coverage, missing_manifest
    from cache_gate.doctor.ledger_profile import LedgerProfile
    from cache_gate.doctor.manifest_index import read_manifest_index
    from cache_gate.doctor.workload import check_workload
    from cache_gate.ledger.jsonl.reader import scan
    from cache_gate.ledger.postgres import is_postgres_url
    from cache_gate.ledger.postgres.url import redact

    if is_postgres_url(options.ledger):
        # Never echo the URL's password.
        raise InputError(f"ledger {redact(options.ledger)}: doctor reads a JSONL ledger "
                         "file, not a PostgreSQL table")
    if not Path(options.ledger).exists() and not options.ledger_required:
        report.notes.append(f"no ledger at {options.ledger}: manifest coverage (CG403) and "
                            "workload (CG404) not checked (--ledger PATH)")
        return
    profile, stats = scan(options.ledger, options.selection, LedgerProfile,
                          descriptive=True, jobs=1)
    assert isinstance(profile, LedgerProfile)
    profile.finish()
    report.checked.append("ledger")
    report.sections["ledger"] = {"path": stats.path, "records": stats.records,
                                 "bad_lines": stats.bad_count}
    manifest_path = Path(options.manifest)
    if manifest_path.exists() or options.manifest_required:
        manifest = read_manifest_index(manifest_path, manifest_path.as_posix())
        findings, notes, section = check_coverage(profile, manifest, stats.path)
        report.findings += findings
        report.notes += notes
        report.sections["coverage"] = section
    else:
        missing = missing_manifest(profile, options.manifest, stats.path)
        if missing is not None:
            report.findings.append(missing)
    findings, table, section, left_out = check_workload(
        profile, stats.path, min_requests=options.min_requests,
        response_target=options.response_target)
    report.findings += findings
    report.notes += table
    report.sections["workload"] = section
    if left_out:
        report.sections["workload_left_out"] = left_out


def run(settings: Settings, params: Mapping[str, Any]) -> Result:
    """`cache-gate doctor`: the runbook's escalation checks."""
    return run_doctor(doctor_options(settings, params))
