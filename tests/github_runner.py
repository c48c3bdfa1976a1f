"""The GitHub Actions runner's reading of a step's output, restated: which workflow
commands it would execute. Tests run cache-gate's output through it, so "no input data
starts a workflow command" is checked against the runner's rules, not against ours.

Restated from actions/runner at commit 258d6c857db3519913f7deb6004b60172f8043ae:

- `src/Runner.Sdk/ProcessInvoker.cs` (`StartReadStream`): output is read with
  `StreamReader.ReadLine`, so a line ends at LF, CR or CRLF (and at nothing else:
  not at U+2028, U+0085 or a form feed).
- `src/Runner.Worker/Handlers/OutputManager.cs` (`OnDataReceived`): every non-empty
  line containing `##[` or `::` is offered to `ActionCommandManager.TryProcessCommand`.
- `src/Runner.Worker/ActionCommandManager.cs` (`TryProcessCommand`): `TryParseV2`
  first, then the old `TryParse`; both accept only a registered command name, compared
  case-insensitively. Registered: `stop-commands` and the extensions listed in
  `src/Runner.Common/ExtensionManager.cs` (`internal-set-repo-path` only for runner
  plugins, never for a step's script). `notice` needs the server's
  `DistributedTask.EnhancedAnnotations` (on at github.com). `::stop-commands::TOKEN`
  makes every command but one named TOKEN (which resumes) do nothing; a token that is
  empty, `pause-logging` or a command's name is refused (an exception in the runner).
- `src/Runner.Common/ActionCommand.cs`:
  - `TryParseV2`: the line with leading white space trimmed (`string.TrimStart`: .NET
    `char.IsWhiteSpace`) must start with `::`; the command info runs to the next `::`,
    its name to the first space; properties are `k=v` split at `,`, values unescaped
    (`%0D %0A %3A %2C %25`); the data after the separator is unescaped
    (`%0D %0A %25`).
  - `TryParse` (v1): `##[` ANYWHERE in the (untrimmed) line, first occurrence only;
    the command info runs to the next `]`; properties split at `;`, values and data
    unescaped with `%3B %0D %0A %5D %25`. It accepts the same registered commands as
    v2: `prefix ##[error]text` is an error annotation.

One liberty, on the strict side: `StartsWith("::")` and `IndexOf("::")` /
`IndexOf("##[")` without a `StringComparison` compare with the current culture,
which .NET 5 and later implement with ICU, where "ignorable" code points (NUL and
other controls, soft hyphen, zero-width and bidi marks, variation selectors, ...) do
not count. The runner then slices the line at fixed offsets, which makes most such
lines fail to parse; this restatement instead skips every ignorable code point
wherever it matches (`::`, `##[`, `]`, a command's name) and slices the line where
the matches are. It finds every command the runner finds, and perhaps a few more:
the safe side for tests that count commands nobody meant to send.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# ExtensionManager.cs, IActionCommandExtension, minus the plugin-only command.
EXTENSIONS = frozenset({
    "set-env", "set-output", "save-state", "add-path", "add-mask", "add-matcher",
    "remove-matcher", "warning", "error", "notice", "debug", "group", "endgroup", "echo"})
STOP_COMMANDS = "stop-commands"

# .NET char.IsWhiteSpace: what string.TrimStart() removes.
DOTNET_WHITESPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
    + "".join(chr(c) for c in range(0x2000, 0x200B)))

# Default-ignorable code points that are not controls or format characters.
_OTHER_IGNORABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0"
    "\U000e0100-\U000e01ef]")

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def ignorable(character: str) -> bool:
    """May ICU's comparison skip this code point? (Over-approximated: every control,
    format and surrogate code point, and the other default-ignorables.)"""
    return (unicodedata.category(character) in ("Cc", "Cf", "Cs")
            or _OTHER_IGNORABLE.fullmatch(character) is not None)


@dataclass(frozen=True)
class Command:
    """One workflow command the runner executes; `line` is 1-based in the output."""

    name: str
    data: str
    line: int
    properties: dict[str, str] = field(default_factory=dict)


def _unescape(value: str, mappings: tuple[tuple[str, str], ...]) -> str:
    # In the runner's order: `%25` last, so `%250A` stays `%0A`.
    for escaped, character in mappings:
        value = value.replace(escaped, character)
    return value


_V2_DATA = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))
_V2_PROPERTY = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))
_V1 = (("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"), ("%25", "%"))


def _properties(text: str, separator: str,
                mappings: tuple[tuple[str, str], ...]) -> dict[str, str]:
    properties = {}
    for item in (part for part in text.split(separator) if part):
        key, sep, value = item.partition("=")
        if key and sep and value:
            properties[key] = _unescape(value, mappings)
    return properties


class _Matched:
    """A line as ICU matches it: the positions of its code points that count."""

    def __init__(self, line: str) -> None:
        self.line = line
        self.positions = [i for i, c in enumerate(line) if not ignorable(c)]
        self.visible = "".join(line[i] for i in self.positions)

    def at(self, index: int) -> int:
        """Where the `index`-th counting code point is in the line."""
        return self.positions[index] if index < len(self.positions) else len(self.line)


def _parse_v2(line: str, registered: set[str]) -> tuple[str, dict[str, str], str] | None:
    matched = _Matched(line.lstrip("".join(DOTNET_WHITESPACE)))
    if not matched.visible.startswith("::"):
        return None
    end = matched.visible.find("::", 2)
    if end < 0:
        return None
    info = matched.line[matched.at(2):matched.at(end)]
    name, space, properties = info.partition(" ")
    name = "".join(c for c in name if not ignorable(c)).lower()
    if name not in registered:
        return None
    return (name, _properties(properties.strip(), ",", _V2_PROPERTY) if space else {},
            _unescape(matched.line[matched.at(end + 1) + 1:], _V2_DATA))


def _parse_v1(line: str, registered: set[str]) -> tuple[str, dict[str, str], str] | None:
    matched = _Matched(line)
    start = matched.visible.find("##[")
    if start < 0:
        return None
    end = matched.visible.find("]", start)
    if end < 0:
        return None
    info = matched.line[matched.at(start + 2) + 1:matched.at(end)]
    name, space, properties = info.partition(" ")
    name = "".join(c for c in name if not ignorable(c)).lower()
    if name not in registered:
        return None
    return (name, _properties(properties, ";", _V1) if space else {},
            _unescape(matched.line[matched.at(end) + 1:], _V1))


def commands(output: str, *, enhanced_annotations: bool = True) -> list[Command]:
    """The workflow commands the runner executes when a step prints `output`."""
    registered = {*EXTENSIONS, STOP_COMMANDS}
    stop_token: str | None = None
    executed: list[Command] = []
    for number, line in enumerate(_LINE_BREAK.split(output), start=1):
        parsed = _parse_v2(line, registered) or _parse_v1(line, registered)
        if parsed is None:
            continue
        name, properties, data = parsed
        if name == "notice" and not enhanced_annotations:
            continue
        if stop_token is not None:
            if name == stop_token:
                registered.discard(stop_token)
                stop_token = None
                executed.append(Command(name, data, number, properties))
            continue
        executed.append(Command(name, data, number, properties))
        refused = not data or data.lower() in registered or data.lower() == "pause-logging"
        if name == STOP_COMMANDS and not refused:
            stop_token = data.lower()
            registered.add(stop_token)
    return executed

