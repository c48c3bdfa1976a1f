"""What shipping a cache-breaking change costs a day, from the ledger's own evidence.

A lint error on a prompt (CG101-CG112) means its stable prefix will change between
calls, or can never be cached: every request then pays for its cacheable tokens at the
full input price instead of the cached one. The cost a day is the prompt's requests a
day in the ledger × its cacheable tokens (the mean cache read + cache write of its
eligible requests that read or wrote the cache; a write unreported counts as none)
× (1 - the read multiplier) × the model's base input price
(its commonest model in the ledger). The days are the span of the ledger's requests,
first to last, and at least one. A prompt with no priced model, no requests or no
reported cache tokens has no figure: unknown is not zero.

Only the prompts with such findings are followed, so memory does not grow with the
ledger's number of prompts.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import msgspec

from cache_gate.analyses.lineage import Span
from cache_gate.findings import Finding, Result, Severity

if TYPE_CHECKING:  # lint imports this module on every run; these only when it prices
    from cache_gate.ledger.record import Record
    from cache_gate.prices import PriceTable

# The lint rules whose errors change or void a prompt's cached prefix.
BREAKING_RULES = frozenset(f"CG{number}" for number in range(101, 113))


class _Prompt(msgspec.Struct):
    requests: int = 0
    token_requests: int = 0
    cacheable: int = 0
    models: Counter[str] = msgspec.field(default_factory=Counter)


class PromptUsage(msgspec.Struct):
    """A sink: the requests and cacheable tokens of some prompts, and the ledger's span."""

    prompts: frozenset[str]
    usage: dict[str, _Prompt] = msgspec.field(default_factory=dict)
    span: Span = msgspec.field(default_factory=Span)

    def add(self, records: list[Record]) -> None:
        for record in records:
            if record.aggregate:
                continue
            if record.time is not None:
                self.span.see(record.time)
            if record.prompt_id not in self.prompts:
                continue
            usage = self.usage.get(record.prompt_id)
            if usage is None:
                usage = self.usage[record.prompt_id] = _Prompt()
            usage.requests += 1
            if record.model is not None:
                usage.models[record.model] += 1
            cached = (record.cache_read or 0) + (record.cache_write or 0)
            if record.eligible and cached:
                usage.token_requests += 1
                usage.cacheable += cached

    def daily(self, prompt_id: str, prices: PriceTable) -> dict[str, float] | None:
        """{requests_per_day, cacheable_tokens, usd_per_day}; None when unknown."""
        usage = self.usage.get(prompt_id)
        if usage is None or not usage.token_requests or not usage.models:
            return None
        model = min(usage.models.items(), key=lambda item: (-item[1], item[0]))[0]
        price = prices.price(model)
        if price is None:
            return None
        per_day = usage.requests / self.span.days
        cacheable = usage.cacheable / usage.token_requests
        lost = 1 - prices.multipliers.cache_read
        return {"requests_per_day": round(per_day, 2), "cacheable_tokens": round(cacheable),
                "usd_per_day": round(per_day * cacheable * price / 1e6 * lost, 4)}


def breaking_prompts(result: Result) -> frozenset[str]:
    """The prompts with an error finding that breaks their cached prefix."""
    return frozenset(f.prompt_id for f in result.findings
                     if f.prompt_id is not None and f.rule in BREAKING_RULES
                     and f.severity is Severity.ERROR)


def price_findings(result: Result, usage: PromptUsage, prices: PriceTable,
                   ledger: str) -> None:
    """Say on each breaking finding what shipping it costs a day, and the total."""
    costs = {prompt: usage.daily(prompt, prices) for prompt in usage.prompts}
    known = {prompt: cost for prompt, cost in costs.items() if cost is not None}
    priced: list[Finding] = []
    for finding in result.findings:
        cost = known.get(finding.prompt_id or "")
        if cost is None or finding.rule not in BREAKING_RULES \
                or finding.severity is not Severity.ERROR:
            priced.append(finding)
            continue
        note = (f" (shipping this costs ≈ ${cost['usd_per_day']:,.2f}/day: "
                f"{cost['requests_per_day']:,} requests/day × {cost['cacheable_tokens']:,} "
                "cacheable tokens at full instead of cached price)")
        # The fingerprint stays that of the finding, not of today's ledger.
        priced.append(msgspec.structs.replace(finding, message=finding.message + note,
                                              key=finding.key or finding.message))
    result.findings = priced
    result.sections["breaking_cost"] = {
        "ledger": ledger,
        "usd_per_day": round(sum(cost["usd_per_day"] for cost in known.values()), 4),
        "by_prompt": dict(sorted(known.items())),
        "unpriced_prompts": sorted(prompt for prompt, cost in costs.items() if cost is None),
    }
