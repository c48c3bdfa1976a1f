"""Keep secrets out of every line doctor prints: URLs are shown redacted, and every
known secret (passwords, keys, tokens) is scrubbed from messages, notes and JSON,
including the text of errors raised by libraries, before anything is reported.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import msgspec

from cache_gate.findings import Result
from cache_gate.redaction import mask_credentials, secrets_in

MASK = "***"
# Query parameters whose values are credentials (?password=..., ?token=...).
_SECRET_PARAM = re.compile(r"pass|token|secret|key|auth|credential", re.IGNORECASE)
_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^@/?#]*)@")


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, secret: Any) -> None:
        """Remember a secret (and its URL-encoded form); one character hides nothing."""
        if isinstance(secret, str) and len(secret) >= 2:
            self._secrets.add(secret)
            self._secrets.add(quote(secret, safe=""))

    def url(self, url: str) -> str:
        """The URL with its password (or a lone user-info token) and credential
        parameters masked; each of them is remembered as a secret."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            self.add(url)
            found = _USERINFO.match(url)
            if found:
                self.add(unquote(found.group(1).partition(":")[2] or found.group(1)))
            return "(malformed URL)"
        netloc = parts.netloc
        if not netloc:
            # No `scheme://` (`:password@host:6379`): nothing parsed as user info, so
            # mask by shape.
            for secret in secrets_in(url):
                self.add(unquote(secret))
                self.add(secret)
            return mask_credentials(url)
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user, colon, password = userinfo.partition(":")
            if colon:
                self.add(unquote(password))
                netloc = f"{user}:{MASK}@{host}"
            else:  # redis://TOKEN@host: a password without a user name
                self.add(unquote(user))
                netloc = f"{MASK}@{host}"
        query = parts.query
        if query:
            pairs = []
            for name, value in parse_qsl(query, keep_blank_values=True):
                if _SECRET_PARAM.search(name):
                    self.add(value)
                    value = MASK
                pairs.append((name, value))
            query = urlencode(pairs, safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))

    def known(self) -> frozenset[str]:
        """The secrets learnt so far (a check run in a child process hands them back)."""
        return frozenset(self._secrets)

    def learn(self, secrets: frozenset[str]) -> None:
        self._secrets.update(secrets)

    def scrub(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def scrub_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {self.scrub_value(k): self.scrub_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_value(v) for v in value]
        return value

    def result(self, result: Result) -> Result:
        """The result with every secret scrubbed from findings, notes and sections."""
        findings = [msgspec.structs.replace(f, message=self.scrub(f.message),
                                            hint=self.scrub(f.hint) if f.hint else f.hint,
                                            key=self.scrub(f.key) if f.key else f.key)
                    for f in result.findings]
        return Result(result.command, findings, self.scrub_value(result.sections),
                      [self.scrub(note) for note in result.notes])
