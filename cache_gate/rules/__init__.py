"""The rule catalogue: every rule ID cache-gate can report (IDs are contract)."""

from __future__ import annotations

import msgspec

from cache_gate.findings import Severity


class RuleInfo(msgspec.Struct, frozen=True):
    id: str
    name: str
    severity: Severity
    summary: str
    fix: str


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO

_RULES = [
    RuleInfo("CG100", "manifest-invalid", _E,
             "The prompt manifest fails its schema, names a missing or unreadable file, "
             "or a path escaping the repository.",
             "Fix the manifest entry the message points at."),
    RuleInfo("CG101", "timestamp-literal", _E,
             "A concrete date or time in a stable prefix.",
             "Move the date after the last cache breakpoint, or drop it."),
    RuleInfo("CG102", "clock-expression", _E,
             "A template or code expression that renders the current time or date.",
             "Render the clock into the dynamic suffix, never into the stable prefix."),
    RuleInfo("CG103", "dynamic-placeholder", _E,
             "A template placeholder in a stable block that is not verbatim.",
             "Fill it in the dynamic suffix, or mark the block verbatim "
             "if the braces are literal."),
    RuleInfo("CG104", "unique-identifier", _E,
             "A UUID, ULID, request/session id or nonce literal in a stable prefix.",
             "Move per-request identifiers after the last cache breakpoint."),
    RuleInfo("CG105", "unordered-include", _E,
             "A glob or directory include without a declared deterministic order.",
             'Declare "order": "lexical" on the block.'),
    RuleInfo("CG106", "environment-specific", _W,
             "A home or temp path, hostname or user name in a stable prefix.",
             "Use repository-relative paths and neutral names."),
    RuleInfo("CG107", "whitespace-hazard", _E,
             "CRLF, mixed line endings, BOM, invisible characters (error); trailing space, "
             "tab/space mix, non-NFC text (warning).",
             "Run `cache-gate lint --fix` to normalise the file."),
    RuleInfo("CG108", "dynamic-before-stable", _E,
             "A dynamic block before the last cache breakpoint.",
             "Move dynamic blocks after the last breakpoint."),
    RuleInfo("CG109", "below-cache-minimum", _E,
             "The stable prefix is shorter than the model's minimum cacheable length.",
             "Grow the stable prefix (move stable content before the breakpoint) "
             "or drop the breakpoint."),
    RuleInfo("CG110", "breakpoint-layout", _E,
             "More than 4 cache breakpoints, a 1h breakpoint after a 5m one, or none.",
             "Use at most 4 breakpoints; put 1h breakpoints before 5m ones."),
    RuleInfo("CG111", "prefix-drift", _E,
             "The stable prefix differs from the committed lock.",
             "If the change is intended, run `cache-gate lint --update-lock` and commit the lock."),
    RuleInfo("CG112", "nondeterministic-render", _E,
             "The render command printed different bytes on different runs.",
             "Remove clock, randomness, hash order and environment from the rendered prefix."),
    RuleInfo("CG113", "unstable-json", _W,
             "A JSON block (e.g. tool definitions) is not in canonical key order.",
             "Serialise with sorted keys (json.dumps(..., sort_keys=True))."),
    RuleInfo("CG201", "prompt-cache-hit-rate", _E,
             "Prompt cache hit rate below target.",
             "Fix prefix consistency: run `cache-gate lint` (runbook step 2)."),
    RuleInfo("CG202", "response-cache-useful-hit-rate", _E,
             "Response cache useful hit rate below target.",
             "Increase the response cache TTL (runbook step 3)."),
    RuleInfo("CG203", "semantic-cache-useful-hit-rate", _E,
             "Semantic cache useful hit rate below target.",
             "Lower the semantic cache threshold (runbook step 4)."),
    RuleInfo("CG204", "cached-token-ratio", _E,
             "Cached token ratio below target.",
             "Review which workflows bypass the cache."),
    RuleInfo("CG205", "runtime-prefix-drift", _W,
             "One prompt_id was sent with several prefix hashes in the window.",
             "Find what varies in that prompt's prefix: run `cache-gate lint` on it."),
    RuleInfo("CG206", "ledger-bad-lines", _W,
             "Malformed ledger lines (error with --strict).",
             "Fix the writer that produced them; the ledger itself is never modified."),
    RuleInfo("CG207", "avoidable-misses", _E,
             "Too many prompt-cache misses have a cause a change would remove "
             "(avoidable_miss_rate above target).",
             "Read the miss causes in `cache-gate report`: fix what varies in the prefix, "
             "keep one model per session, add the missing cache breakpoint."),
    RuleInfo("CG208", "ttl-mismatch", _W,
             "The prompt-cache TTL a lineage uses costs over 10% more than the other TTL "
             "would, on the ledger's own request times.",
             'Set the lineage\'s cache_control TTL to the cheaper one the message names '
             '("1h" when requests come back after 5 minutes and within the hour, else "5m").'),
    RuleInfo("CG301", "policy-invalid", _E,
             "A cache policy config file fails its schema.",
             "Fix the key the message points at."),
    RuleInfo("CG302", "semantic-threshold-aggressive", _W,
             "Semantic cache threshold below 0.82.",
             "Raise it towards 0.88 (balanced)."),
    RuleInfo("CG303", "semantic-threshold-conservative", _I,
             "Semantic cache threshold 0.92 or above.",
             "Lower it towards 0.88 if the useful hit rate is low."),
    RuleInfo("CG304", "response-cache-ttl", _I,
             "Response cache TTL below 3600 s.",
             "Use 3600 s, or 7200 s for long sessions."),
    RuleInfo("CG305", "cache-disabled", _W,
             "A cache layer is switched off in config.",
             "Turn it on; where it is off on purpose, add CG305 to `ignore` in the settings."),
    RuleInfo("CG306", "prefix-min-below-model", _E,
             "stablePrefixMinTokens is below a routed model's minimum cacheable length.",
             "Raise stablePrefixMinTokens to the model's minimum."),
    RuleInfo("CG307", "config-contradicts-ledger", _W,
             "The configured response-cache TTL or semantic threshold is far from what "
             "the ledger's curves recommend.",
             "Set the value the message names: the ledger's evidence for runbook steps "
             "3 and 4 (`cache-gate policy --ledger`)."),
    RuleInfo("CG401", "cache-backend-unreachable", _E,
             "The cache backend (Redis or LiteLLM /cache/ping) does not answer.",
             "Check the backend's address, credentials and health."),
    RuleInfo("CG402", "cache-backend-degraded", _W,
             "Evictions, no maxmemory policy, or a slow round trip.",
             "Give the cache more memory or an LRU eviction policy."),
    RuleInfo("CG403", "manifest-coverage-gap", _W,
             "A high-volume prompt or workflow in the ledger has no manifest entry.",
             "Add it to the prompt manifest so its prefix is linted."),
    RuleInfo("CG404", "low-repetition-workload", _I,
             "The workload repeats too little for caching to pay.",
             "Expect lower hit rates here; tune targets per workflow."),
]

RULES: dict[str, RuleInfo] = {rule.id: rule for rule in _RULES}


def get(rule_id: str) -> RuleInfo:
    """The rule with this ID; a clear error for an unknown one."""
    try:
        return RULES[rule_id.upper()]
    except KeyError:
        raise KeyError(f"unknown rule {rule_id!r}; known rules: CG100-CG113, "
                       "CG201-CG208, CG301-CG307, CG401-CG404") from None
