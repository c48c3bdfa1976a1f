"""Lineages: the requests that share one cache entry's life, in the order they came.

A request's lineage is its `prompt_id` where it has one (`prompt:ID`); else its
session and workflow (`session:ID/WORKFLOW`); else its model and workflow
(`model:M/WORKFLOW`). The miss causes compare a request with the previous one of its
lineage, and the TTL advice simulates each lineage's cache entry from its own times.
The key names its kind, as the JSON reports show it (contract).
"""

from __future__ import annotations

from cache_gate.ledger.record import Record

NONE = "(none)"


def lineage_of(record: Record) -> str:
    """The lineage key of a request."""
    if record.prompt_id is not None:
        return f"prompt:{record.prompt_id}"
    workflow = record.workflow if record.workflow is not None else NONE
    if record.session is not None:
        return f"session:{record.session}/{workflow}"
    model = record.model if record.model is not None else NONE
    return f"model:{model}/{workflow}"
