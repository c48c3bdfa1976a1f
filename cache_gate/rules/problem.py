"""What a lint rule yields: a problem, before the engine turns it into a Finding.

Rules say what is wrong and where; the engine stamps the rule ID, name and
severity from the catalogue, applies suppression, and merges repeats.
"""

from __future__ import annotations

from dataclasses import dataclass

from cache_gate.findings import Severity


@dataclass(frozen=True)
class Problem:
    message: str
    line: int | None = None
    # Display path of the file the line is in; None: the source being checked.
    path: str | None = None
    # Identity across runs (for the fingerprint) when the message carries counts or lines.
    key: str | None = None
    # None: the catalogue's severity for the rule.
    severity: Severity | None = None
    # None: the catalogue's fix for the rule.
    hint: str | None = None
    # Problems of one rule in one file that share a group are reported once, at the
    # first line, with a count (e.g. trailing whitespace on 40 lines).
    group: str | None = None
