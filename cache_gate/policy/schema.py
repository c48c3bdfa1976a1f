"""CG301 policy-invalid: a cache policy config that fails its schema.

Both files are validated against JSON Schemas shipped in `cache_gate/schemas/`. The
backlog one covers `llmOps.cachePolicy` and `llmOps.routing`, where an unknown key is
an error (as it is for the toolkit itself); the LiteLLM one covers the keys `policy`
reads (`model_list`, `litellm_settings.cache`, `cache_params`), and other keys pass.
Each violation is a finding at its JSON path and line, and the rest of the file is
still checked wherever its values are usable.

What it finds besides unknown keys (with a "did you mean") and wrong types: a
semantic cache `type` without `similarity_threshold`, a `ttl` of 0, a `port` that is
not a number, a model alias without a `model`. A YAML key set twice is a warning:
the later value silently wins.

A file that cannot be read at all (missing, not UTF-8, not valid JSON or YAML, or
beyond the bounds of `policy.loading`) is not a finding: `policy` exits 2, naming
its line and column.

Example:

    "cachePolicy": {"stablePrefixMinToken": 4096, "responseCache": {"backend": "redsi"}}

    llmOps.cachePolicy.stablePrefixMinToken: unknown key 'stablePrefixMinToken'
        (did you mean 'stablePrefixMinTokens'?); expected one of: ...      <- CG301
    llmOps.cachePolicy.responseCache.backend: must be one of "redis", "s3", "local",
        got "redsi" (did you mean 'redis'?)                                 <- CG301

Fix: correct the key the message points at.

In the code, `schema_errors` turns each violation into a message at a JSON path; a
config may be YAML, so an object is called a mapping.
"""

from __future__ import annotations

from typing import Any

from cache_gate.schema_errors import SchemaViolation, load_schema, violations

BACKLOG_SCHEMA = "backlog-cache-policy.schema.json"
LITELLM_SCHEMA = "litellm-proxy-config.schema.json"

__all__ = ["BACKLOG_SCHEMA", "LITELLM_SCHEMA", "SchemaViolation", "load_schema", "validate"]


def validate(document: Any, schema_name: str) -> list[SchemaViolation]:
    """Every violation in document order; an empty list when the document is valid."""
    return violations(schema_name, document, object_word="a mapping")
