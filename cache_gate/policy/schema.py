"""Validate a config against a JSON Schema shipped in `cache_gate/schemas/` (CG301).

`schema_errors` turns each violation into a message at a JSON path; a config may
be YAML, so an object is called a mapping.
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
