"""What a benchmark measured, kept as data: `bench/results/NAME.json`, one row per
figure with its target and whether it was met. The verdict lines the benchmarks print
and the tables in docs/performance.md (generated from these files when the docs are
built) come from the same rows, so that the docs say what was measured.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Row:
    """One figure: `case` (what ran), `value` in `unit`, against `target` (None: no
    target, a reference), lower is better."""

    case: str
    value: float
    unit: str
    target: float | None = None

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        return "met" if self.value <= self.target else "MISSED"


def verdicts(rows: list[Row]) -> str:
    """The line a benchmark ends with: every target, met or MISSED."""
    return "targets: " + "; ".join(
        f"{row.case} {row.value:.2f} {row.unit} <= {row.target:g} {row.verdict}"
        for row in rows if row.target is not None)


def save(name: str, command: str, rows: list[Row], *, documented: bool = True) -> Path | None:
    """Write the rows to bench/results/NAME.json (replacing an earlier run's); a run
    smaller than the documented one (`documented` False) is only printed."""
    if not documented:
        print(f"(not saved to bench/results/{name}.json: smaller than the documented run)")
        return None
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {
        "command": command,
        "date": datetime.now(UTC).date().isoformat(),
        "cores": os.cpu_count(),
        "rows": [{**asdict(row), "verdict": row.verdict} for row in rows],
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path
