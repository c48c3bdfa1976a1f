"""Tuning from evidence (runbook steps 3 and 4): what the ledger says the prompt cache
TTL, the response cache TTL and the semantic cache threshold should be.

`Tuning` is one sink for the three analyses, fed in ledger order; stretches of the
ledger read apart merge in ledger order (`merge`: exactly, or `merging.InexactMerge`
where the response cache curve cannot); `to_json` gives the report's contract keys
`ttl_advice`, `response_ttl_curve` and `semantic_threshold_curve` (and
`ttl_advice_left_out`), and `ttl_findings` CG208. The definitions are in the modules
that compute them: `tuning_ttl` (the prompt cache TTL per lineage, CG208) and
`tuning_curves` (the response cache TTL and semantic threshold curves).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cache_gate.analyses.tuning_curves import ResponseTtlCurve, SemanticThresholdCurve
from cache_gate.analyses.tuning_ttl import TtlAdvice, ttl_findings
from cache_gate.findings import Finding
from cache_gate.ledger.record import Record
from cache_gate.prices import PriceTable


@dataclass
class Tuning:
    """A sink: the three tuning analyses over one pass of the ledger, in ledger order."""

    prices: PriceTable
    advice: TtlAdvice = field(init=False)
    response: ResponseTtlCurve = field(default_factory=ResponseTtlCurve)
    semantic: SemanticThresholdCurve = field(default_factory=SemanticThresholdCurve)

    def __post_init__(self) -> None:
        self.advice = TtlAdvice(self.prices)

    def add(self, records: list[Record]) -> None:
        self.advice.add(records)
        self.response.add(records)
        self.semantic.add(records)

    def bound(self, may_spill: bool) -> None:
        """The response cache curve's tables kept per hash bounded in memory."""
        self.response.bound(may_spill)

    def check(self, later: Tuning) -> None:
        """Raise `merging.InexactMerge` where `later` would not merge exactly."""
        self.response.check(later.response)

    def merge(self, later: Tuning) -> None:
        """Take in the stretch of the ledger right after this one."""
        self.response.merge(later.response)
        self.advice.merge(later.advice)
        self.semantic.merge(later.semantic)

    def to_json(self) -> dict[str, object]:
        """`ttl_advice`, `ttl_advice_left_out`, `response_ttl_curve`,
        `semantic_threshold_curve` (DESIGN.md "Tuning from evidence")."""
        return {**self.advice.to_json(),
                "response_ttl_curve": self.response.to_json(),
                "semantic_threshold_curve": self.semantic.to_json()}

    def findings(self, path: str, declared: Mapping[str, str] | None = None, *,
                 min_requests: int = 1) -> list[Finding]:
        """CG208 (see `tuning_ttl.ttl_findings`)."""
        return ttl_findings(self.advice, path, declared, min_requests=min_requests)
