"""Fast scanning of large prompt text: cheap anchors first, the full pattern around them.

A pattern with many alternatives and look-arounds is slow to try at every offset of
a megabyte of text. Each such rule names a cheap anchor pattern (something every
match must contain, such as a four-digit year); the full pattern runs only in a
window around the anchors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator


def windowed_matches(pattern: re.Pattern[str], anchor: re.Pattern[str] | list[re.Pattern[str]],
                     text: str, before: int, after: int) -> Iterator[re.Match[str]]:
    """Matches of `pattern` that start at most `before` characters before an anchor
    and end at most `after` characters after its end, in text order, without repeats.
    Several anchor patterns may be given (each cheap alone; an alternation of them
    may not be).
    """
    anchors = anchor if isinstance(anchor, list) else [anchor]
    hits = sorted((hit.start(), hit.end()) for one in anchors for hit in one.finditer(text))
    windows: list[list[int]] = []
    for start, end in hits:
        low, high = max(0, start - before), min(len(text), end + after)
        if windows and low <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], high)
        else:
            windows.append([low, high])
    last_end = -1
    for low, high in windows:
        for match in pattern.finditer(text, low, high):
            if match.start() >= last_end:
                last_end = match.end()
                yield match
