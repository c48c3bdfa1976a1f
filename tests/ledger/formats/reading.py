"""Reading one ledger line as every run does, for the per-format tests."""

from __future__ import annotations

import json
from typing import Any

from cache_gate.ledger.formats import read_line
from cache_gate.ledger.lines import Decoders, decoders
from cache_gate.ledger.reading import DECODE_ERRORS
from cache_gate.ledger.record import Record

FULL = decoders(descriptive=True, timed=True)
# kpi (only what the KPIs need), kpi with a window, report (every field).
EVERY_RUN = (decoders(descriptive=False, timed=False), decoders(descriptive=False, timed=True),
             FULL)


def read(line: dict[str, Any] | str) -> Record | None:
    raw = line if isinstance(line, str) else json.dumps(line)
    return read_line(raw.encode(), FULL)


def verdict(line: dict[str, Any], run: Decoders) -> str:
    """What a run makes of a line: bad, not a request, or a record of some format."""
    try:
        record = read_line(json.dumps(line).encode(), run)
    except DECODE_ERRORS:
        return "bad"
    return "not a request" if record is None else record.format


def verdicts(line: dict[str, Any]) -> set[str]:
    return {verdict(line, run) for run in EVERY_RUN}
