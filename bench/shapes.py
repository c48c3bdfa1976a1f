"""Benchmark `kpi` and `report` on ledgers of other realistic shapes than bench/ledger.py's
plain backlog lines, each against `grep -c` on the same file:

- `anthropic`: backlog lines with the Anthropic token fields (`input_tokens` the
  uncached part, `cache_read_input_tokens`, `cache_creation_input_tokens`): the form
  DESIGN.md recommends, and what the miss causes read;
- `distinct`: every record its own workflow and prompt: what memory must not follow;
- `hashes`: the records 0.1 s apart, each with its own `request_sha256`: what duplicate
  spend and the response cache curve keep per hash within their TTLs (a day for the
  curve's longest) must not hold in memory either.

`doctor` is measured on each shape too (its workload profile keeps sums per workflow
and prompt, and a sample of repeated prefixes: bounded in memory as well).

    python bench/shapes.py                        # 1,000,000 records of each shape
    python bench/shapes.py --records 200000 --shape distinct
    python bench/shapes.py --records 200000 --repeat 1 --shape hashes

The ledgers are derived (seeded) from bench/ledger.py's and kept in bench/.data/.
Every figure is the best of --repeat runs in this same run; peak memory is the sum of
the proportional set sizes of cache-gate's processes (bench/ledger.py's `measure`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from ledger import DATA, START, best, floors, generate, installed, prepared  # bench/: scripts
from results import Row, save, verdicts

SHAPES = ("anthropic", "distinct", "hashes")
TARGETS = {"kpi / grep": 4.0, "report / kpi": 1.5, "peak memory MB": 64.0}


def derive(plain: Path, shape: str, target: Path) -> None:
    """`plain`'s records rewritten into `shape`."""
    temporary = target.with_suffix(".tmp")
    with plain.open(encoding="utf-8") as source, temporary.open("w", encoding="utf-8") as out:
        for index, text in enumerate(source):
            line = json.loads(text)
            if shape == "anthropic":
                total, cached = line.pop("input_tokens"), line.pop("cached_input_tokens")
                line["input_tokens"] = total - cached
                line["cache_read_input_tokens"] = cached
                line["cache_creation_input_tokens"] = 0 if cached else total * 4 // 5
            elif shape == "distinct":
                line["workflow"] = line["prompt_id"] = f"w{index}"
            else:
                moment = START + timedelta(seconds=index / 10)
                line["timestamp"] = moment.isoformat().replace("+00:00", "Z")
                line["request_sha256"] = hashlib.sha256(b"%d" % index).hexdigest()
            out.write(json.dumps(line, separators=(",", ":")) + "\n")
    temporary.replace(target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shape", choices=SHAPES, action="append")
    args = parser.parse_args()
    cache_gate = installed()
    plain = prepared(DATA / f"backlog-{args.records}.jsonl",
                     lambda path: generate(path, args.records))
    print(f"{args.records:,} records a shape; {os.cpu_count()} cores; best of {args.repeat}")
    rows: list[Row] = []
    for shape in args.shape or SHAPES:
        ledger = prepared(DATA / f"{shape}-{args.records}.jsonl",
                          lambda path, shape=shape: derive(plain, shape, path))
        grep, _ = best(["grep", "-c", '"cache_hit":true', str(ledger)], args.repeat)
        floor, barest = floors(ledger, args.repeat)
        kpi, kpi_peak = best([cache_gate, "kpi", "--no-cache", "--ledger", str(ledger),
                              "--format", "json"], args.repeat)
        report, report_peak = best([cache_gate, "report", "--ledger", str(ledger),
                                    "--format", "json"], args.repeat)
        doctor, doctor_peak = best([cache_gate, "doctor", "--ledger", str(ledger),
                                    "--format", "json"], args.repeat)
        print(f"{shape:10} {ledger.stat().st_size / 1e6:5.0f} MB  grep {grep:5.2f} s  "
              f"floor {floor:5.2f} s ({floor / grep:4.1f}x grep; {barest / grep:4.1f}x with "
              f"the barest tally)  "
              f"kpi {kpi:6.2f} s ({kpi / grep:5.1f}x grep, peak {kpi_peak:6.1f} MB)  "
              f"report {report:6.2f} s ({report / kpi:4.1f}x kpi, peak {report_peak:6.1f} MB)  "
              f"doctor {doctor:6.2f} s (peak {doctor_peak:6.1f} MB)")
        rows += [Row(f"{shape}: grep -c", grep, "s"), Row(f"{shape}: kpi", kpi, "s"),
                 Row(f"{shape}: kpi / grep", kpi / grep, "x", TARGETS["kpi / grep"]),
                 Row(f"{shape}: decoding floor / grep", floor / grep, "x"),
                 Row(f"{shape}: floor and the barest tally / grep", barest / grep, "x"),
                 Row(f"{shape}: kpi / decoding floor", kpi / floor, "x"),
                 Row(f"{shape}: report", report, "s"),
                 Row(f"{shape}: report / kpi", report / kpi, "x", TARGETS["report / kpi"]),
                 Row(f"{shape}: kpi peak memory", kpi_peak, "MB", TARGETS["peak memory MB"]),
                 Row(f"{shape}: report peak memory", report_peak, "MB",
                     TARGETS["peak memory MB"]),
                 Row(f"{shape}: doctor", doctor, "s"),
                 Row(f"{shape}: doctor / kpi", doctor / kpi, "x"),
                 Row(f"{shape}: doctor peak memory", doctor_peak, "MB",
                     TARGETS["peak memory MB"])]
    print(verdicts(rows))
    save("shapes", f"python bench/shapes.py --records {args.records} --repeat {args.repeat}",
         rows,
         documented=args.records == 1_000_000)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
