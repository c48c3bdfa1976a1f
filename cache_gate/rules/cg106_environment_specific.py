"""CG106 environment-specific: a home or temp path, host name or user name in a stable prefix.

Text that names the machine it was produced on differs between a laptop, a CI
runner and production: each of them sends its own prefix and caches its own copy,
or a generated prefix changes whenever it is produced somewhere else. (A warning:
a path in a fixed example is harmless.)

What it finds: home directories (`/home/alice/…`, `/Users/alice/…`, `/root/…`,
`C:\\Users\\alice\\…`, CI homes such as `/home/runner/work/…`), temporary
directories (`/tmp/tmpa8f3kd9`, `/var/folders/…`, `%TEMP%`, `$TMPDIR`,
`…\\AppData\\Local\\Temp`), shell prompts that carry a user and host
(`alice@build-07:~$`), host names of private networks (`db1.internal`,
`laptop.local`, `ip-10-0-3-12`) and private IPv4 addresses (`10.0.3.12`,
`192.168.1.20`).

Not reported: `localhost`, `127.0.0.1`, `~/…` and placeholder homes (`/home/user`,
`/Users/you`, `/home/<user>`), e-mail addresses, public host names, file names such
as `settings.local.json`, and anything in dynamic blocks. The machine cache-gate
runs on is not consulted: findings do not depend on where the gate runs.

Example:

    Repository checked out at /home/alice/src/shop.   <- CG106

Fix: use repository-relative paths and neutral names; keep machine details out of
the prompt or after the last cache breakpoint.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from cache_gate.findings import Problem
from cache_gate.manifest.assemble import Part
from cache_gate.rules.context import LintContext, TextScope

RULE = "CG106"

_PLACEHOLDER_USERS = frozenset({
    "user", "username", "user_name", "you", "your", "yourname", "your-name", "your_name",
    "me", "name", "example", "someone", "somebody", "foo", "bar", "dev", "...", "…",
})
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"

# Every pattern starts with a literal character (fast on large text); look-behinds
# come after it.
_HOME = re.compile(r"/(?<![\w.~-]/)(?:home|Users)/(?P<user>[A-Za-z0-9._-]+)(?=/|\b)"
                   r"|/(?<![\w.~-]/)root/")
_WINDOWS_HOME = re.compile(r":(?<=[A-Za-z]:)\\(?i:Users)\\(?P<user>[^\\\s\"'<>]+)")
_TEMP = re.compile(r"/(?<![\w.~-]/)(?:tmp|var/tmp|var/folders|private/var/folders)/[\w.-]+"
                   r"|%(?:TEMP|TMP)%|\$\{?TMPDIR\b\}?|\\AppData\\Local\\Temp\b")
_SHELL_PROMPT = re.compile(r"@(?<=[a-z0-9_-]@)[A-Za-z0-9][A-Za-z0-9.-]*:[~/]")
_PRIVATE_DOMAIN = re.compile(
    r"\.(?:local|lan|internal|localdomain|corp|intranet|home\.arpa)\b(?![.-]?\w)")
_EC2_HOST = re.compile(r"ip-(?<![\w-]ip-)" + _OCTET + r"-" + _OCTET + r"-" + _OCTET + r"-"
                       + _OCTET + r"\b")
_PRIVATE_IP = re.compile(
    r"(?:10\.(?<![\w.]10\.)" + _OCTET + r"|192\.(?<![\w.]192\.)168|"
    r"172\.(?<![\w.]172\.)(?:1[6-9]|2\d|3[01]))\." + _OCTET + r"\." + _OCTET
    + r"(?![\w.]*\d)"
)
_HOST_START = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*$")
_USER_START = re.compile(r"[a-z_][a-z0-9_-]*$")


def _placeholder_user(user: str | None) -> bool:
    return user is not None and (user.lower() in _PLACEHOLDER_USERS
                                 or user.startswith(("<", "{", "$")))


def _problems(text: str) -> Iterator[tuple[int, str]]:
    for match in _HOME.finditer(text):
        if not _placeholder_user(match["user"]):
            yield match.start(), f"home directory '{match.group()}'"
    for match in _WINDOWS_HOME.finditer(text):
        if not _placeholder_user(match["user"]):
            start = match.start() - 1
            yield start, f"home directory '{text[start:match.end()]}'"
    for match in _TEMP.finditer(text):
        yield match.start(), f"temporary path '{match.group()}'"
    for match in _SHELL_PROMPT.finditer(text):
        user = _USER_START.search(text, max(0, match.start() - 32), match.start())
        start = user.start() if user else match.start()
        yield start, f"shell prompt '{text[start:match.end()]}' (user and host)"
    for match in _EC2_HOST.finditer(text):
        yield match.start(), f"host name '{match.group()}'"
    for match in _PRIVATE_DOMAIN.finditer(text):
        host = _HOST_START.search(text, max(0, match.start() - 64), match.start())
        if host is None:
            continue  # ".local" alone: a word, not a host
        yield host.start(), f"host name '{text[host.start():match.end()]}'"
    for match in _PRIVATE_IP.finditer(text):
        yield match.start(), f"private network address '{match.group()}'"


def check_text(part: Part, scope: TextScope, context: LintContext) -> Iterator[Problem]:
    text = part.text
    for offset, what in sorted(_problems(text)):
        yield Problem(f"{what} in the stable prefix: it differs between machines, so each "
                      "sends (and caches) its own prefix", line=part.line_at(offset),
                      key=what)
