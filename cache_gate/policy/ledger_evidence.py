"""CG307 config-contradicts-ledger: a response cache TTL or semantic threshold far from
what the ledger's curves recommend (`policy --ledger`, runbook steps 3 and 4).

The runbook tunes both by hand; the usage ledger already holds the answer. With
`--ledger`, `policy` replays the ledger's requests (`analyses.tuning_curves`, where
the curves and their recommendations are defined) and holds each configured value
against them: `backlog.config.json` `llmOps.cachePolicy.responseCache.ttlSeconds`
(when the response cache is enabled) and the LiteLLM `cache_params.ttl` (when the
proxy's cache is on); `semanticCache.threshold` (when enabled) and the LiteLLM
`cache_params.similarity_threshold` (when its cache type is semantic).

What "far" means (warning):

- **Response cache TTL**: the configured TTL, replayed exactly, gets fewer than 80% of
  the hits of the recommended TTL (the shortest that gets 90% of the most hits any
  TTL from 15 minutes to 24 hours gets): too short. Or it is over 4 times the
  recommended TTL: longer than the ledger needs, keeping answers that go stale.
- **Semantic threshold**: more than 0.02 away from the recommended threshold (the
  lowest from 0.80 to 0.96 whose hits are at most 5% known useless).

The message says what the ledger shows (requests, hits, known-useless shares) and
what to set. No finding, but a note, when the ledger has no evidence for a curve: no
request carries a `request_sha256` (or a `semantic_cache.similarity`), no repeated
request comes back within 24 hours, no similarity reaches 0.80, no scored request
records whether its answer was useful, or every threshold serves over 5% known
useless answers. A value the proxy reads from its environment at start-up is noted
as not checked.

Example: on a ledger whose repeated requests come back after 2 to 3 hours,

    cache_params:
      type: redis
      ttl: 3600            <- CG307: at 3600 s the ledger's 2,000 hashed requests
                              would hit 0 times; at 14400 s, 900 times

Fix: set the value the message names (`ttl: 14400` here), or rerun with a wider
window (`--days`) if the ledger is too short to show the workload.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from cache_gate.analyses.tuning_curves import (
    RESPONSE_TTLS,
    ResponseTtlCurve,
    SemanticThresholdCurve,
)
from cache_gate.findings import Finding
from cache_gate.ledger.record import Record
from cache_gate.manifest.positions import JsonPath, format_path
from cache_gate.policy.engine import PolicyInputs, flag
from cache_gate.policy.litellm_config import SEMANTIC_TYPES

# The configured TTL gets fewer hits than this share of the recommended TTL's: 4/5.
TOO_SHORT_NUMERATOR, TOO_SHORT_DENOMINATOR = 4, 5
# The configured TTL is more than this many times the recommended one.
TOO_LONG_FACTOR = 4
# The configured threshold is more than this far from the recommended one.
THRESHOLD_SLACK = Decimal("0.02")
LEDGER_RULES = "its fit with the ledger (CG307)"


@dataclass(frozen=True)
class Configured:
    """One configured value and where it is set."""

    value: float
    # The key and its value as the message shows them: `x.ttl 1800`, `x.ttl (default 3600)`.
    where: str
    key: str
    path: str
    line: int | None


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else f"{value:g}"


def configured_ttls(inputs: PolicyInputs) -> list[Configured]:
    """The response cache TTLs the configs set, where that cache is on."""
    found = []
    backlog = inputs.backlog
    if backlog is not None:
        enabled, ttl = backlog.response_cache_enabled, backlog.response_cache_ttl
        if enabled is not None and enabled.value and ttl is not None and ttl.value > 0:
            found.append(Configured(float(ttl.value), ttl.described, format_path(ttl.path),
                                    backlog.document.display, backlog.line_of(ttl.path)))
    litellm = inputs.litellm
    if litellm is not None and litellm.cache is True:
        path = litellm.param_path("ttl")
        value = litellm.number_param("ttl", inputs.notes, LEDGER_RULES)
        if value is not None and value > 0 and math.isfinite(value):
            found.append(_at(float(value), path, litellm.display, litellm.line_of(path)))
    return found


def _at(value: float, path: JsonPath, display: str, line: int | None) -> Configured:
    where = format_path(path)
    return Configured(value, f"{where} {_number(value)}", where, display, line)


def configured_thresholds(inputs: PolicyInputs) -> list[Configured]:
    """The semantic cache thresholds the configs set, where that cache is on."""
    found = []
    backlog = inputs.backlog
    if backlog is not None:
        enabled, threshold = backlog.semantic_cache_enabled, backlog.semantic_threshold
        if enabled is not None and enabled.value and threshold is not None:
            found.append(Configured(float(threshold.value), threshold.described,
                                    format_path(threshold.path), backlog.document.display,
                                    backlog.line_of(threshold.path)))
    litellm = inputs.litellm
    if litellm is not None and litellm.cache_type in SEMANTIC_TYPES:
        path = litellm.param_path("similarity_threshold")
        value = litellm.number_param("similarity_threshold", inputs.notes, LEDGER_RULES)
        if value is not None and 0 <= value <= 1:
            found.append(_at(float(value), path, litellm.display, litellm.line_of(path)))
    return found


@dataclass
class CurveEvidence:
    """`policy --ledger`'s sink: both curves, with the configured values replayed exactly."""

    ttls: list[Configured] = field(default_factory=list)
    thresholds: list[Configured] = field(default_factory=list)
    response: ResponseTtlCurve = field(init=False)
    semantic: SemanticThresholdCurve = field(init=False)

    def __post_init__(self) -> None:
        self.response = ResponseTtlCurve(also=[c.value for c in self.ttls])
        self.semantic = SemanticThresholdCurve(also=[c.value for c in self.thresholds])

    def add(self, records: list[Record]) -> None:
        self.response.add(records)
        self.semantic.add(records)
        self.response.bound(may_spill=True)  # one process reads it (`gates.policy`)

    @property
    def estimated(self) -> bool:
        """Whether the response TTL curve is an estimate (`merging.Estimating`)."""
        return self.response.horizon.uncertain

    def keep_every_hash(self) -> None:
        self.response.keep_every_entry()

    def to_json(self) -> dict[str, object]:
        return {"response_ttl_curve": self.response.to_json(),
                "semantic_threshold_curve": self.semantic.to_json()}


def evidence_sink(inputs: PolicyInputs) -> CurveEvidence:
    """An empty sink for the values the configs set (notes go to `inputs.notes`)."""
    return CurveEvidence(configured_ttls(inputs), configured_thresholds(inputs))


def check(inputs: PolicyInputs, evidence: CurveEvidence, ledger: str) -> Iterator[Finding]:
    """CG307 for every configured value far from the ledger's recommendation; notes for
    the curves the ledger holds no evidence for."""
    yield from _check_ttls(inputs, evidence, ledger)
    yield from _check_thresholds(inputs, evidence, ledger)


def _duration(seconds: float) -> str:
    return f"{_number(seconds)} s"


def _check_ttls(inputs: PolicyInputs, evidence: CurveEvidence,
                ledger: str) -> Iterator[Finding]:
    curve = evidence.response
    if not curve.requests:
        inputs.notes.append(f"ledger {ledger}: no request carries a request_sha256, so the "
                            "response cache TTL cannot be held against it")
        return
    recommended = curve.recommended
    if recommended is None:
        inputs.notes.append(
            f"ledger {ledger}: none of its {curve.requests:,} hashed requests comes back "
            f"within {max(RESPONSE_TTLS):,} s: no response cache TTL would serve them")
        return
    best = curve.point(recommended)
    inputs.notes.append(
        f"ledger {ledger}: {curve.requests:,} hashed requests; the response cache would "
        f"serve {best.hits:,} of them at {_duration(recommended)}, the shortest TTL with "
        "90% of the most hits")
    for configured in evidence.ttls:
        mine = curve.point(configured.value)
        too_short = mine.hits * TOO_SHORT_DENOMINATOR < best.hits * TOO_SHORT_NUMERATOR
        too_long = configured.value > TOO_LONG_FACTOR * recommended
        if not too_short and not too_long:
            continue
        shows = (f"the ledger's {curve.requests:,} hashed requests would hit "
                 f"{mine.hits:,} times at {_duration(configured.value)} and "
                 f"{best.hits:,} times at {_duration(recommended)}")
        if too_short:
            why = (f"{shows}, the shortest TTL that gets 90% of the most hits: the "
                   "configured TTL misses repeats the ledger shows")
        else:
            why = (f"{shows}: the configured TTL is over {TOO_LONG_FACTOR}x what the "
                   "ledger needs, and keeps answers that go stale")
        yield flag("CG307", f"response cache TTL {configured.where}: {why}",
                   path=configured.path, line=configured.line,
                   key=f"ttl {configured.key}",
                   hint=f"Set it to {_number(recommended)} s (the ledger's recommendation).")


def _check_thresholds(inputs: PolicyInputs, evidence: CurveEvidence,
                      ledger: str) -> Iterator[Finding]:
    curve = evidence.semantic
    if not curve.requests:
        inputs.notes.append(f"ledger {ledger}: no request carries a semantic cache "
                            "similarity, so the semantic threshold cannot be held against it")
        return
    points = curve.points
    if not points[0].hits:
        inputs.notes.append(f"ledger {ledger}: none of its {curve.requests:,} similarity "
                            "scores reaches 0.80: the threshold curve is empty")
        return
    if not curve.judged:
        inputs.notes.append(f"ledger {ledger}: none of its {curve.requests:,} requests with a "
                            "similarity says whether the answer was useful, so no threshold "
                            "can be recommended (log semantic_cache.useful)")
        return
    recommended = curve.recommended
    if recommended is None:
        top = points[-1]
        inputs.notes.append(
            f"ledger {ledger}: even at {top.threshold:.2f}, {top.known_useless:,} of "
            f"{top.hits:,} semantic hits are known not useful (over 5%): no threshold "
            "from 0.80 to 0.96 is safe on this evidence")
        return
    inputs.notes.append(
        f"ledger {ledger}: {curve.requests:,} requests with a similarity; the lowest "
        f"threshold with at most 5% known-useless hits is {recommended.threshold:.2f} "
        f"({recommended.hits:,} hits, {recommended.known_useless:,} known useless)")
    target = Decimal(str(recommended.threshold))
    for configured in evidence.thresholds:
        if abs(Decimal(str(configured.value)) - target) <= THRESHOLD_SLACK:
            continue
        mine = curve.at(configured.value)
        share = f"{mine.known_useless / mine.hits:.0%}" if mine.hits else "none"
        direction = "below" if Decimal(str(configured.value)) < target else "above"
        yield flag(
            "CG307",
            f"semantic cache threshold {configured.where} is {direction} what the ledger "
            f"recommends: at {_number(configured.value)} its {curve.requests:,} scored requests "
            f"give {mine.hits:,} hits, {mine.known_useless:,} known not useful ({share}); "
            f"at {recommended.threshold:.2f}, {recommended.hits:,} hits, "
            f"{recommended.known_useless:,} known not useful (at most 5%)",
            path=configured.path, line=configured.line,
            key=f"threshold {configured.key}",
            hint=f"Set it to {recommended.threshold:.2f} (the ledger's recommendation).")
