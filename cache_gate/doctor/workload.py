"""CG404 low-repetition-workload: workflows that repeat too little for caching to pay.

The runbook's third escalation step: "consider if the workload pattern is
inherently low-repetition (implementation has lower cache rates than
validation)". Per workflow, from the ledger's hashes:

- prefix reuse: the share of requests whose `prefix_sha256` was seen before.
  A prompt cache hit needs a reused prefix, so this bounds the prompt cache hit
  rate. Below 25%, caching hardly pays: a cache write costs 1.25x the input price
  and a read saves 0.9x, so with a reuse share r caching saves money only when
  0.9 r > 0.25 (1 - r), i.e. r > 22%. Reported (info) with the most
  repetitive workflow for comparison: set a per-workflow target rather than
  chase the global one.
- request repeats: the share of requests whose `request_sha256` was seen before,
  the most the response cache can ever answer. Where the response cache is in
  use and this is below the response cache KPI target, it is reported too: a
  longer TTL cannot help that workflow.

Workflows with fewer than `--min-requests` (default 30) hashed requests are not
judged; without `prefix_sha256` in the ledger, prefix reuse is not measured.

Example:

    CG404 low-repetition-workload info: workflow implementer: only 10% of 100
    requests reuse an earlier stable prefix (validation: 98%); its prompt cache hit
    rate is 0%: it is inherently low-repetition, and prompt caching barely pays
    below 25% reuse

Fix: judge the workflow on its own target
(`[tool.cache-gate.workflow-targets.implementer]`), keep it out of the response
cache, and share more of its prefix across requests where possible.
"""

from __future__ import annotations

from cache_gate.analyses import kpis
from cache_gate.doctor.ledger_profile import LedgerProfile, Repetition
from cache_gate.findings import Finding
from cache_gate.policy.engine import flag

LOW_PREFIX_REUSE = 0.25


def _rate(sums: list[int], name: str) -> float | None:
    numerator, denominator, _ = kpis.KPI_SLOTS[name]
    return sums[numerator] / sums[denominator] if sums[denominator] else None


def _judged(repetitions: dict[str | None, Repetition], min_requests: int
            ) -> dict[str, Repetition]:
    return {workflow: rep for workflow, rep in repetitions.items()
            if workflow is not None and rep.requests >= min_requests
            and rep.repeat_rate is not None}


def check_workload(profile: LedgerProfile, ledger: str, *, min_requests: int,
                   response_target: float) -> tuple[list[Finding], list[str], dict[str, object]]:
    """Findings, a table for people, and the JSON section."""
    by_workflow = profile.tally.by(0)
    prefixes = _judged(profile.prefixes, min_requests)
    requests = _judged(profile.requests, min_requests)
    findings: list[Finding] = []
    best = max(prefixes.items(), key=lambda item: item[1].repeat_rate or 0.0, default=None)
    for workflow, rep in sorted(prefixes.items()):
        reuse = rep.repeat_rate
        assert reuse is not None
        if reuse >= LOW_PREFIX_REUSE:
            continue
        compare = ""
        if best is not None and best[0] != workflow and (best[1].repeat_rate or 0) > reuse:
            compare = f" ({best[0]}: {best[1].repeat_rate:.0%})"
        hit = _rate(by_workflow.get(workflow, [0] * kpis.SLOTS), "prompt_cache_hit_rate")
        seen = f"; its prompt cache hit rate is {hit:.0%}" if hit is not None else ""
        findings.append(flag(
            "CG404", f"workflow {workflow}: only {reuse:.0%} of {rep.requests:,} requests reuse "
            f"an earlier stable prefix{compare}{seen}: it is inherently low-repetition, and "
            "prompt caching barely pays below 25% reuse",
            path=ledger, key=f"prefix:{workflow}",
            hint=f"Judge it on its own target ([tool.cache-gate.workflow-targets.{workflow}] "
                 "prompt_cache_hit_rate) instead of the global 60%; share more of its "
                 "prefix across requests if you can."))
    for workflow, rep in sorted(requests.items()):
        repeat = rep.repeat_rate
        assert repeat is not None
        lookups = by_workflow.get(workflow, [0] * kpis.SLOTS)[kpis.RESPONSE_LOOKUPS]
        if not lookups or repeat >= response_target:
            continue
        findings.append(flag(
            "CG404", f"workflow {workflow}: only {repeat:.0%} of {rep.requests:,} requests "
            "repeat an earlier request exactly, so its response cache can never answer more "
            f"than that (target {response_target:.0%})", path=ledger,
            key=f"request:{workflow}",
            hint="A longer TTL will not help here; leave this workflow out of the response "
                 "cache, or give it its own response_cache_useful_hit_rate target."))
    section = _section(profile, by_workflow)
    return findings, _table(section), section


def _section(profile: LedgerProfile, by_workflow: dict[str | None, list[int]]
             ) -> dict[str, object]:
    rows: dict[str, object] = {}
    for workflow, sums in sorted(by_workflow.items(), key=lambda item: -item[1][kpis.REQUESTS]):
        prefix, request = profile.prefixes.get(workflow), profile.requests.get(workflow)
        rows[workflow if workflow is not None else "(none)"] = {
            "requests": sums[kpis.REQUESTS],
            "prefix_reuse_rate": _rounded(prefix.repeat_rate if prefix else None),
            "request_repeat_rate": _rounded(request.repeat_rate if request else None),
            "prompt_cache_hit_rate": _rounded(_rate(sums, "prompt_cache_hit_rate")),
            "sampled": bool((prefix and prefix.sampled) or (request and request.sampled)),
        }
    return rows


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _percent(value: object) -> str:
    return "n/a" if not isinstance(value, float | int) else f"{value:.1%}"


def _table(section: dict[str, object]) -> list[str]:
    if not section:
        return []
    lines = [f"{'workload by workflow:':<32} {'requests':>9}  {'prefix reuse':>12}  "
             f"{'request repeats':>15}  {'hit rate':>8}"]
    for name, row in list(section.items())[:10]:
        assert isinstance(row, dict)
        lines.append(f"  {name[:30]:<30} {row['requests']:>9,}  "
                     f"{_percent(row['prefix_reuse_rate']):>12}  "
                     f"{_percent(row['request_repeat_rate']):>15}  "
                     f"{_percent(row['prompt_cache_hit_rate']):>8}")
    if not any(isinstance(row, dict) and row["prefix_reuse_rate"] is not None
               for row in section.values()):
        lines.append("  (the ledger records no prefix_sha256: prefix reuse, and CG404 for "
                     "the prompt cache, cannot be measured)")
    return lines
