"""Validate a manifest against the JSON Schema shipped in `cache_gate/schemas/` (CG100).

`schema_errors` turns each violation into a message at a JSON path.
"""

from __future__ import annotations

from typing import Any

from cache_gate.schema_errors import SchemaViolation, load_schema, violations

SCHEMA_FILE = "prompt-manifest.schema.json"

__all__ = ["SchemaViolation", "manifest_schema", "validate_manifest"]


def manifest_schema() -> dict[str, Any]:
    return load_schema(SCHEMA_FILE)


def validate_manifest(document: Any) -> list[SchemaViolation]:
    """Every schema violation, in document order; an empty list when valid."""
    return violations(SCHEMA_FILE, document)
