"""Reading one ledger line as every run does, for the per-format tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cache_gate.ledger.formats import read_line
from cache_gate.ledger.lines import Decoders, decoders
from cache_gate.ledger.reading import DECODE_ERRORS
from cache_gate.ledger.record import Record

REAL = Path(__file__).resolve().parents[3] / "fixtures" / "real"
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


def real_lines(name: str) -> list[dict[str, Any]]:
    """The lines of a ledger in fixtures/real/, written by the real client libraries."""
    return [json.loads(line) for line in (REAL / name).read_text(encoding="utf-8").splitlines()]


def records_in_every_run(line: dict[str, Any] | str) -> list[Record | None]:
    """The line read by `kpi`, `kpi` with a window and `report`."""
    raw = (line if isinstance(line, str) else json.dumps(line)).encode()
    return [read_line(raw, run) for run in EVERY_RUN]


# Values a ledger may hold where a provider's cause name belongs, none of which may
# reach a Record (and so a terminal or a report) as they are: escape sequences, a
# line break that would forge a line of output, 10 KB, look-alikes, capitals.
HOSTILE_CAUSES = [
    "\x1b[31mmodel_changed\x1b[0m",
    "\x1b]8;;https://example.invalid\x07model_changed\x1b]8;;\x07",
    "model_changed\n",
    "model_changed\r\n::error::forged",
    "\u202emodel_changed",
    "model_ch\u0430nged",
    "Model_Changed",
    "model changed",
    "model-changed",
    "_model_changed",
    "",
    "m" * 65,
    "x" * 10_240,
]
# The longest cause name kept: 64 characters.
LONGEST_CAUSE = "m" + "x" * 63
