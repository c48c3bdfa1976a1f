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
judged; without `prefix_sha256` in the ledger, prefix reuse is not measured. Of each
kind, the 20 workflows flagged with the most requests get a finding each, and one more
finding counts the rest; the JSON's workload table lists the 100 workflows with the
most requests (`workload_left_out` counts the others).

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

import heapq
from collections.abc import Iterator

from cache_gate.analyses import kpis
from cache_gate.doctor.ledger_profile import PREFIX, REQUEST, LedgerProfile
from cache_gate.doctor.repetition import Counted, repeat_rate
from cache_gate.findings import Finding
from cache_gate.policy.engine import flag

LOW_PREFIX_REUSE = 0.25
# Workflows in the JSON section (those with the most requests); and CG404 findings of
# each kind listed one by one (the workflows with the most requests), the rest in one
# more finding: the report stays readable, and bounded, whatever the ledger.
WORKFLOWS_SHOWN = 100
FINDINGS_SHOWN = 20


def _rate(sums: list[int], name: str) -> float | None:
    numerator, denominator, _ = kpis.KPI_SLOTS[name]
    return sums[numerator] / sums[denominator] if sums[denominator] else None


# A judged workflow: (name, requests in its sample, repeat rate, KPI sums).
Judged = tuple[str, int, float, list[int]]


def _judged(profile: LedgerProfile, kind: int, min_requests: int) -> Iterator[Judged]:
    """The named workflows with at least `min_requests` requests in the sample, by name."""
    for workflow, counted, sums in profile.repetitions(kind):
        rate = repeat_rate(counted)
        if counted[0] >= min_requests and rate is not None:
            yield workflow, counted[0], rate, sums


def _flagged(found: Iterator[Judged]) -> tuple[list[Judged], int]:
    """The FINDINGS_SHOWN with the most requests (by name on a tie), in name order, and
    how many there are."""
    found_count = 0

    def counted() -> Iterator[Judged]:
        nonlocal found_count
        for judged in found:
            found_count += 1
            yield judged

    shown = heapq.nlargest(FINDINGS_SHOWN, counted(), key=lambda judged: judged[1])
    return sorted(shown, key=lambda judged: judged[0]), found_count


def check_workload(profile: LedgerProfile, ledger: str, *, min_requests: int,
                   response_target: float,
                   ) -> tuple[list[Finding], list[str], dict[str, object], int]:
    """Findings, a table for people, the JSON section, and how many workflows it
    leaves out."""
    best: tuple[str, float] | None = None
    for workflow, _, rate, _ in _judged(profile, PREFIX, min_requests):
        if best is None or rate > best[1]:
            best = (workflow, rate)
    low, low_count = _flagged(judged for judged in _judged(profile, PREFIX, min_requests)
                              if judged[2] < LOW_PREFIX_REUSE)
    findings: list[Finding] = []
    for workflow, requests, reuse, sums in low:
        compare = ""
        if best is not None and best[0] != workflow and best[1] > reuse:
            compare = f" ({best[0]}: {best[1]:.0%})"
        hit = _rate(sums, "prompt_cache_hit_rate")
        seen = f"; its prompt cache hit rate is {hit:.0%}" if hit is not None else ""
        findings.append(flag(
            "CG404", f"workflow {workflow}: only {reuse:.0%} of {requests:,} requests reuse "
            f"an earlier stable prefix{compare}{seen}: it is inherently low-repetition, and "
            "prompt caching barely pays below 25% reuse",
            path=ledger, key=f"prefix:{workflow}",
            hint=f"Judge it on its own target ([tool.cache-gate.workflow-targets.{workflow}] "
                 "prompt_cache_hit_rate) instead of the global 60%; share more of its "
                 "prefix across requests if you can."))
    if low_count > len(low):
        findings.append(flag(
            "CG404", f"{low_count - len(low):,} more workflows reuse less than 25% of their "
            f"stable prefixes (the {len(low)} with the most requests listed)",
            path=ledger, key="prefix:more",
            hint="Judge each on its own target ([tool.cache-gate.workflow-targets.NAME])."))
    rare, rare_count = _flagged(
        judged for judged in _judged(profile, REQUEST, min_requests)
        if judged[3][kpis.RESPONSE_LOOKUPS] and judged[2] < response_target)
    for workflow, requests, repeat, _ in rare:
        findings.append(flag(
            "CG404", f"workflow {workflow}: only {repeat:.0%} of {requests:,} requests "
            "repeat an earlier request exactly, so its response cache can never answer more "
            f"than that (target {response_target:.0%})", path=ledger,
            key=f"request:{workflow}",
            hint="A longer TTL will not help here; leave this workflow out of the response "
                 "cache, or give it its own response_cache_useful_hit_rate target."))
    if rare_count > len(rare):
        findings.append(flag(
            "CG404", f"{rare_count - len(rare):,} more workflows repeat too few requests for "
            f"their response cache to reach {response_target:.0%} (the {len(rare)} with the "
            "most requests listed)", path=ledger, key="request:more",
            hint="Leave them out of the response cache, or give them their own targets."))
    section, left_out = _section(profile)
    return findings, _table(section), section, left_out


def _section(profile: LedgerProfile) -> tuple[dict[str, object], int]:
    """The WORKFLOWS_SHOWN workflows with the most requests, and how many are left out."""
    rows: dict[str, object] = {}
    top, count = profile.top_workflows(WORKFLOWS_SHOWN)
    for workflow, sums in top:
        prefix = profile.repetition_of(PREFIX, workflow)
        request = profile.repetition_of(REQUEST, workflow)
        rows[workflow if workflow is not None else "(none)"] = {
            "requests": sums[kpis.REQUESTS],
            "prefix_reuse_rate": _rounded(repeat_rate(prefix) if prefix else None),
            "request_repeat_rate": _rounded(repeat_rate(request) if request else None),
            "prompt_cache_hit_rate": _rounded(_rate(sums, "prompt_cache_hit_rate")),
            "sampled": _sampled(prefix) or _sampled(request),
        }
    return rows, count - len(top)


def _sampled(counted: Counted | None) -> bool:
    return counted is not None and counted[2] > 0


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
