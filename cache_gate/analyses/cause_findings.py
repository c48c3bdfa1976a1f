"""What the miss causes say to a person: the commonest causes, each with what it cost
and an example request to find in the ledger, and CG207 (avoidable-misses), naming
the lineage with the most avoidable misses."""

from __future__ import annotations

from datetime import UTC, datetime

from cache_gate import rules
from cache_gate.analyses.miss_causes import MissCauses, is_avoidable
from cache_gate.findings import Finding
from cache_gate.ledger.record import Record


def example(record: Record) -> str:
    """One request, as its ledger line can be found again: time, workflow, prompt, model."""
    parts = []
    if record.time is not None:
        moment = datetime.fromtimestamp(record.time, UTC)
        parts.append(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    for label, value in (("workflow", record.workflow), ("prompt", record.prompt_id),
                         ("session", record.session), ("model", record.model)):
        if value is not None:
            parts.append(f"{label} {value}")
    return ", ".join(parts) or f"a {record.format} line with no time"


def top_causes(causes: MissCauses, limit: int = 10) -> list[str]:
    """The commonest causes, with what they cost and an example request each."""
    ordered = sorted(causes.overall.items(), key=lambda item: (-item[1].requests, item[0]))
    lines = []
    for cause, cost in ordered[:limit]:
        kind = "avoidable" if is_avoidable(cause) else "not avoidable"
        money = f"${cost.cost_usd:,.2f}"
        if cost.unpriced_requests:
            money += f" (+{cost.unpriced_requests:,} unpriced)"
        misses = "miss" if cost.requests == 1 else "misses"
        lines.append(f"{cause} ({kind}): {cost.requests:,} {misses}, "
                     f"{cost.input_tokens:,} input tokens paid, {money}; "
                     f"e.g. {example(causes.examples[cause])}")
    return lines


def avoidable_finding(causes: MissCauses, path: str, message: str) -> Finding:
    """CG207: the KPI's verdict, naming the lineage with the most avoidable misses."""
    rule = rules.get("CG207")
    worst = causes.worst_lineage()
    if worst is not None:
        lineage, count, cause = worst
        message += (f"; most in lineage {lineage}: {count:,} avoidable misses, "
                    f"most often {cause}")
    return Finding(path, None, rule.id, rule.name, rule.severity, message, hint=rule.fix,
                   key=worst[0] if worst else None)
