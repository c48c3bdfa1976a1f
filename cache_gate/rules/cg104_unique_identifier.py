"""CG104 unique-identifier: a UUID, ULID, request/session id or nonce in a stable prefix.

Identifiers made per request or per session are, by design, never the same twice.
One in the stable prefix (a trace id stamped into the system prompt, a session id in
the tool definitions) makes every prefix unique: every call writes the cache, none
reads it.

What it finds: UUIDs (any version; the all-zero and all-F UUIDs are ignored), ULIDs,
provider ids (`req_…`, `msg_…`, `toolu_…`, `chatcmpl-…`, `resp_…`, `sess_…`, `run_…`,
`thread_…`), W3C `traceparent` values, and values given to keys named like request,
session, trace, span, correlation, conversation, run, message, idempotency or nonce
ids (`session_id: 7f3a9c21e4`, `X-Request-Id: abc123def456`) when the value looks
generated (letters and digits, 8 characters or more).

Not reported: placeholders (`session_id: {session_id}`), words (`request_id: example`),
version numbers, commit hashes outside such keys, identifiers in dynamic blocks.

Example:

    Trace: 3f1c2a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f   <- CG104

Fix: send per-request identifiers after the last cache breakpoint, or in request
metadata rather than in the prompt.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from cache_gate.findings import Problem
from cache_gate.manifest.assemble import Part
from cache_gate.rules.context import LintContext, TextScope
from cache_gate.rules.scanning import windowed_matches

RULE = "CG104"

_HEX = "[0-9a-fA-F]"
_UUID = re.compile(_HEX + r"{8}-" + _HEX + r"{4}-" + _HEX + r"{4}-" + _HEX + r"{4}-"
                   + _HEX + r"{12}")
_ULID = re.compile(r"[0-7](?<![\w-][0-7])[0-9A-HJKMNP-TV-Z]{25}(?![\w-])")
_PROVIDER = re.compile(r"(?:req|msg|toolu|srvtoolu|msgbatch|resp|sess|run|thread|asst|call|"
                       r"conv|trace)_[A-Za-z0-9]{16,}|chatcmpl-[A-Za-z0-9]{16,}")
_TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3](?![\w-])")
# A key naming a per-request value, right before its ':' or '='.
_KEY_BEFORE = re.compile(
    r"(?i:(?:x-)?(?:request|req|session|sess|trace|span|correlation|conversation|conv|run|"
    r"message|msg|transaction|txn|idempotency)[_ -]?(?:id|key)|nonce)[\"']?\s*$"
)
_VALUE_AFTER = re.compile(r"[:=]\s*[\"'`]?(?P<value>[A-Za-z0-9][A-Za-z0-9_\-:.]{7,})")
# Cheap patterns that every match of the slower ones above contains.
_UUID_ANCHOR = re.compile("-" + _HEX + "{4}-")
_PROVIDER_ANCHORS = [re.compile(r"_[A-Za-z0-9]{16}"), re.compile(r"chatcmpl-")]


_NIL = {"0" * 32, "f" * 32}


def _generated(value: str) -> bool:
    """A value that looks generated: letters and digits mixed, not a version number."""
    value = value.rstrip(".:-")
    if len(value) < 8 or re.fullmatch(r"v?\d+(?:\.\d+)*", value):
        return False
    return bool(re.search(r"\d", value) and re.search(r"[A-Za-z]", value))


def _standalone(text: str, match: re.Match[str]) -> bool:
    """Not part of a longer word or dashed name."""
    start, end = match.span()
    return ((start == 0 or not (text[start - 1].isalnum() or text[start - 1] in "_-"))
            and (end == len(text) or not (text[end].isalnum() or text[end] in "_-")))


def _identifiers(text: str) -> Iterator[tuple[int, str, str]]:
    """(offset, kind, value) of every generated-looking identifier in `text`."""
    for match in windowed_matches(_UUID, _UUID_ANCHOR, text, before=14, after=28):
        value = match.group()
        if _standalone(text, match) and value.replace("-", "").lower() not in _NIL:
            yield match.start(), "UUID", value
    for match in _ULID.finditer(text):
        value = match.group()
        if sum(c.isalpha() for c in value) >= 4 and sum(c.isdigit() for c in value) >= 4:
            yield match.start(), "ULID", value
    for match in windowed_matches(_PROVIDER, _PROVIDER_ANCHORS, text, before=10, after=80):
        if _standalone(text, match) and _generated(match.group()):
            yield match.start(), "request id", match.group()
    for match in _TRACEPARENT.finditer(text):
        if _standalone(text, match):
            yield match.start(), "trace context", match.group()
    for match in _VALUE_AFTER.finditer(text):
        value = match["value"]
        if not _generated(value):
            continue
        key = _KEY_BEFORE.search(text, max(0, match.start() - 40), match.start())
        if key:
            label = key.group().rstrip("\"' \t\n")
            yield key.start(), f"{label} value", value.rstrip(".:-")


def check_text(part: Part, scope: TextScope, context: LintContext) -> Iterator[Problem]:
    text = part.text
    # One problem per identifier: "Trace: <uuid>" is a UUID, not also a keyed value.
    found: dict[str, tuple[int, str]] = {}
    for offset, kind, value in _identifiers(text):
        if value not in found or found[value][1].endswith(" value"):
            found[value] = (offset, kind)
    for value, (offset, kind) in sorted(found.items(), key=lambda item: item[1]):
        yield Problem(f"{kind} '{value}' in the stable prefix: an identifier made per "
                      "request or session makes every prefix unique",
                      line=part.line_at(offset), key=value)
