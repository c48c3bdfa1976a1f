"""CG302 semantic-threshold-aggressive, CG303 semantic-threshold-conservative.

A semantic cache answers a request with the response to an earlier request whose
embedding is close enough: the similarity threshold decides how close. The
runbook's bands (step 4):

- below 0.82: aggressive. More hits, and more wrong answers served from the cache:
  merely similar requests get each other's answers (CG302, warning).
- 0.88: balanced, the recommended starting point.
- 0.92 and above: very conservative. Few false positives, a low hit rate (CG303,
  info: not a failure).

Checked in both files, where that semantic cache is on: `backlog.config.json`
`llmOps.cachePolicy.semanticCache.threshold` (when `enabled`), and the LiteLLM
`cache_params.similarity_threshold` (when `type` is `redis-semantic`,
`valkey-semantic` or `qdrant-semantic`).

Example:

    "semanticCache": {"enabled": true, "backend": "qdrant", "threshold": 0.75}
                                                                          <- CG302
    cache_params:
      type: qdrant-semantic
      similarity_threshold: 0.95                                          <- CG303

Fix: for CG302, raise the threshold towards 0.88, the runbook's balanced starting
point. For CG303, if `semantic_cache_useful_hit_rate` is under its 10% target
(`cache-gate kpi`), lower it towards 0.88 (runbook step 4).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from cache_gate.findings import Finding
from cache_gate.manifest.positions import format_path
from cache_gate.policy.engine import PolicyInputs, flag
from cache_gate.policy.litellm_config import SEMANTIC_TYPES

AGGRESSIVE_BELOW = Decimal("0.82")
BALANCED = Decimal("0.88")
CONSERVATIVE_FROM = Decimal("0.92")


def judge(threshold: float, where: str, *, path: str, line: int | None) -> Iterator[Finding]:
    value = Decimal(str(threshold))
    if value < AGGRESSIVE_BELOW:
        yield flag("CG302", f"semantic cache threshold {where} is {threshold}, below "
                   f"{AGGRESSIVE_BELOW}, the runbook's aggressive end: more hits, but more "
                   "wrong answers served for merely similar requests",
                   path=path, line=line, key=where,
                   hint=f"Raise it towards {BALANCED} (balanced, the runbook's starting point).")
    elif value >= CONSERVATIVE_FROM:
        yield flag("CG303", f"semantic cache threshold {where} is {threshold}, "
                   f"{CONSERVATIVE_FROM} or above, the runbook's very conservative band: few "
                   "false positives, but a low hit rate",
                   path=path, line=line, key=where,
                   hint=f"If the semantic cache useful hit rate is below its 10% target, "
                        f"lower it towards {BALANCED}.")


def check(inputs: PolicyInputs) -> Iterator[Finding]:
    backlog = inputs.backlog
    if backlog is not None:
        enabled, threshold = backlog.semantic_cache_enabled, backlog.semantic_threshold
        if enabled is not None and enabled.value and threshold is not None:
            yield from judge(threshold.value, format_path(threshold.path),
                             path=backlog.document.display, line=backlog.line_of(threshold.path))
    litellm = inputs.litellm
    if litellm is None or litellm.cache_type not in SEMANTIC_TYPES:
        return
    path = litellm.param_path("similarity_threshold")
    value = litellm.number_param("similarity_threshold", inputs.notes,
                                 "its band (CG302/CG303)")
    if value is not None and 0 <= value <= 1:
        yield from judge(value, format_path(path), path=litellm.display,
                         line=litellm.line_of(path))
