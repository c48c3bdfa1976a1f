"""The shared result model: findings, their severities, and a gate's result.

The records are msgspec structs, which cost a fraction of a dataclass to define (a
hook's start-up defines dozens); a finding changed on its way out is a copy
(`msgspec.structs.replace`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec


class Severity(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


class ExitCode(enum.IntEnum):
    """Exit codes (contract): 0 passed, 1 the gate failed, 2 could not decide."""

    PASSED = 0
    FAILED = 1
    UNDECIDED = 2


class Finding(msgspec.Struct, frozen=True):
    """One problem, located where a user can fix it. Lines are 1-based.

    Findings compare by their `place` alone, whatever their messages say (as the
    dataclass with ordering they were did)."""

    path: str | None
    line: int | None
    rule: str
    name: str
    severity: Severity
    message: str
    prompt_id: str | None = None
    hint: str | None = None
    # What identifies this finding across runs when lines move (defaults to the message).
    key: str | None = None

    @property
    def place(self) -> tuple[str | None, int | None, str, str]:
        return self.path, self.line, self.rule, self.name

    def __eq__(self, other: object) -> bool:
        return self.place == other.place if isinstance(other, Finding) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.place)

    # Ordered as the tuples of their places (None against a value raises, as it did).
    def __lt__(self, other: Finding) -> bool:
        return self.place < other.place

    def __le__(self, other: Finding) -> bool:
        return self.place <= other.place

    def __gt__(self, other: Finding) -> bool:
        return self.place > other.place

    def __ge__(self, other: Finding) -> bool:
        return self.place >= other.place

    @property
    def fingerprint(self) -> str:
        import hashlib  # here: OpenSSL's start-up is not a hook's before its renders run

        parts = (self.rule, self.path or "", self.prompt_id or "", self.key or self.message)
        # surrogateescape: an undecodable file name is still a finding, with its bytes.
        joined = "\x1f".join(parts).encode("utf-8", "surrogateescape")
        return hashlib.sha256(joined).hexdigest()[:32]

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "name": self.name,
            "severity": self.severity.value,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "prompt_id": self.prompt_id,
            "fingerprint": self.fingerprint,
            "hint": self.hint,
        }


class Anchor(msgspec.Struct, frozen=True):
    """A repository file that findings about something with no file of its own (a
    PostgreSQL ledger, a Redis URL) are placed at, and what that file is to the reader."""

    path: str
    role: str

    def note(self, subject: str) -> str:
        return f" ({subject}; shown at {self.path}, {self.role})"

    @classmethod
    def at(cls, path: str, role: str) -> Anchor:
        """An anchor at `path`, relative to the working directory when inside it, as
        every finding's path is (the reporters make it relative to the checkout)."""
        absolute = Path(path).absolute()
        try:
            return cls(absolute.relative_to(Path.cwd()).as_posix(), role)
        except ValueError:
            return cls(str(absolute), role)



def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Stable report order: by file and line, then by rule (undated/unplaced first)."""
    return sorted(findings, key=lambda f: (f.path or "", f.line or 0, f.rule, f.message))


def errors_first(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then the stable report order: what a consumer that shows only
    the first N findings must show."""
    return sorted(sort_findings(findings), key=lambda f: -f.severity.rank)


class Cut(msgspec.Struct, frozen=True):
    """The findings that fit a consumer's limit, and how many of each severity did not."""

    shown: list[Finding]
    left_out: dict[Severity, int]

    @property
    def left_out_total(self) -> int:
        return sum(self.left_out.values())

    def describe_left_out(self) -> str:
        """`3 errors, 120 warnings`: what the cut left out, most severe first."""
        parts = []
        for severity in sorted(self.left_out, key=lambda s: -s.rank):
            count = self.left_out[severity]
            plural = "s" * (count != 1)
            parts.append(f"{count:,} {severity.value}{plural}" if severity is not Severity.INFO
                         else f"{count:,} note{plural}")
        return ", ".join(parts)


def cut(findings: Iterable[Finding], limit: int) -> Cut:
    """The first `limit` findings, errors first (a list cut to fit a consumer's limit
    must never hide an error behind warnings), and the count left out by severity."""
    ordered = errors_first(findings)
    left_out: dict[Severity, int] = {}
    for finding in ordered[limit:]:
        left_out[finding.severity] = left_out.get(finding.severity, 0) + 1
    return Cut(ordered[:limit], left_out)


class Result(msgspec.Struct):
    """What one gate (or `check`, several) decided, ready for any reporter."""

    command: str
    findings: list[Finding] = msgspec.field(default_factory=list)
    # Extra sections of the JSON report (`kpis`, `ledger`, `cache_hit_rate_pct`, ...).
    sections: dict[str, Any] = msgspec.field(default_factory=dict)
    # Human-oriented sections for the text reporter (rendered by the gate itself).
    notes: list[str] = msgspec.field(default_factory=list)
    # Inputs that stopped a part of the run from deciding (`check` goes on past them).
    undecided: list[str] = msgspec.field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.undecided and not any(
            f.severity is Severity.ERROR for f in self.findings)

    def exit_code(self, *, exit_zero: bool = False) -> ExitCode:
        """The one place a gate's exit code is decided: could not decide (2) wins over
        failed (1), which --exit-zero turns into passed (0)."""
        if self.undecided:
            return ExitCode.UNDECIDED
        if self.passed or exit_zero:
            return ExitCode.PASSED
        return ExitCode.FAILED


class Problem(msgspec.Struct, frozen=True):
    """What a check yields before its engine turns it into a Finding: what is wrong and
    where. The engine stamps the rule's ID, name and severity from the catalogue,
    applies suppression, and merges repeats."""

    message: str
    line: int | None = None
    # Display path of the file the line is in; None: the source being checked.
    path: str | None = None
    # Identity across runs (for the fingerprint) when the message carries counts or lines.
    key: str | None = None
    # None: the catalogue's severity for the rule.
    severity: Severity | None = None
    # None: the catalogue's fix for the rule.
    hint: str | None = None
    # Problems of one rule in one file that share a group are reported once, at the
    # first line, with a count (e.g. trailing whitespace on 40 lines).
    group: str | None = None
