"""kpi's decoding floor: what reading a ledger costs before anything is counted.

    python bench/floor.py LEDGER            # prints the lines it decoded
    python bench/floor.py LEDGER --tally    # and the barest tally a KPI needs
    python bench/floor.py TRANSCRIPT --transcript   # a Claude Code transcript

It starts as `cache-gate kpi` does (Python, msgspec, the ledger reader's modules),
splits the file across the same readers (one per core, at most 8, forked), and
decodes every line of its range, a chunk at a time, into the struct kpi's hot path
reads (`BacklogKpiLine`), the way that path does (`map` over the chunk's lines). It
counts nothing else. No `kpi` on this machine can be faster than this: the
benchmarks measure it in the same run, so that a target set against `grep` can be
read against what decoding alone leaves of it.

With `--tally` it also runs the least a Python loop over the decoded lines can do
for a KPI: per (workflow, prompt_id), four sums (requests, hits, cached and input
tokens), with no check, no window and no miss cause: what pure Python costs per
record before kpi does any of its real work.

With `--transcript` the struct is the one kpi decodes a Claude Code transcript line
into (`TranscriptLine`), for bench/claude_code.py.
"""

from __future__ import annotations

import functools
import itertools
import sys
from collections.abc import Callable
from pathlib import Path

from cache_gate.ledger.jsonl.processes import collect, fork
from cache_gate.ledger.jsonl.reader import chunks, readers
from cache_gate.ledger.lines import BacklogKpiLine, decoders
from cache_gate.ledger.reading import DECODE_ERRORS, split_lines


def tally(lines: list[BacklogKpiLine], groups: dict[tuple[object, object], list[int]]) -> None:
    """The barest per-record loop: four sums per (workflow, prompt_id)."""
    for line in lines:
        key = (line.workflow, line.prompt_id)
        sums = groups.get(key)
        if sums is None:
            sums = groups[key] = [0, 0, 0, 0]
        sums[0] += 1
        if line.cache_hit:
            sums[1] += 1
        sums[2] += line.cached_input_tokens or 0
        sums[3] += line.input_tokens or 0


def decode_range(path: str, start: int, end: int, *, tallied: bool, transcript: bool) -> int:
    """The lines of [start, end) decoded into kpi's struct (and tallied); how many."""
    structs = decoders(descriptive=False, timed=True)
    decode: Callable[[bytes], object] = (structs.transcript if transcript
                                         else structs.plain).decode
    # A line the narrow struct refuses, kpi decodes in full (`Line`): so does this.
    fallback = structs.general.decode
    groups: dict[tuple[object, object], list[int]] = {}
    decoded = 0
    with Path(path).open("rb") as handle:
        for _, data, kind in chunks(handle, start, end):
            if kind != "lines":
                continue
            lines = split_lines(data)
            try:
                firsts = list(map(decode, lines))
                decoded += len(firsts)
                if tallied:
                    tally(firsts, groups)  # type: ignore[arg-type]
            except DECODE_ERRORS:  # one line will not do: each one by one, as kpi would
                for line in lines:
                    for attempt in (decode, fallback):
                        try:
                            attempt(line)
                        except DECODE_ERRORS:
                            continue
                        decoded += 1
                        break
    return decoded


def main(path: str, flags: list[str]) -> int:
    read = functools.partial(decode_range, path, tallied="--tally" in flags,
                             transcript="--transcript" in flags)
    size = Path(path).stat().st_size
    workers = readers(size, None)
    bounds = [size * part // workers for part in range(workers + 1)]
    children = [fork(functools.partial(read, start, end), path)
                for start, end in itertools.pairwise(bounds[1:])]
    decoded = read(bounds[0], bounds[1])
    decoded += sum(collect(pid, pipe) for pid, pipe in children)
    print(decoded)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2:]))
