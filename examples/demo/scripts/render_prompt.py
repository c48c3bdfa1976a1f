"""Print a prompt's stable prefix the way the demo application builds it.

    python scripts/render_prompt.py reviewer

cache-gate runs this under varied clocks, time zones, hash seeds, locales and
working directories (CG112) and compares the output byte for byte. It reads files
relative to the repository (not the working directory) and joins the rule files in
sorted order, so the output is the same every time.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = {
    "reviewer": ["prompts/tools.json", "prompts/reviewer-system.md", "prompts/rules/*.md",
                 "prompts/output-format.md"],
}


def stable_prefix(prompt_id: str) -> bytes:
    parts = []
    for pattern in PROMPTS[prompt_id]:
        for path in sorted(ROOT.glob(pattern)):
            parts.append(path.read_bytes())
    return b"".join(parts)


if __name__ == "__main__":
    sys.stdout.buffer.write(stable_prefix(sys.argv[1]))
