"""Credentials out of anything cache-gate prints, whether or not the text parses.

A URL with a password is printed often: in the error for a ledger that is not
there, a Redis URL that does not answer, a typo in a scheme (`postgresq://`). A
URL parser cannot be trusted to find the password in a malformed one (urllib raises
on `postgresql://u:pw@[::1/db`; `:pw@host:6379` has no scheme, so no user info), so
this masks by shape: whatever stands before an `@` that begins a token, and the
values of credential-named parameters.
"""

from __future__ import annotations

import re

MASK = "***"

# `scheme:/` or `scheme://` (optional), then user info up to the first `@`: at the
# start of the text or of a token, so that a path (`/tmp/alice@example.com/x`) is
# left alone.
_USER_INFO = re.compile(
    r"(?P<lead>(?:^|(?<=[\s'\"(<=,;]))(?:[A-Za-z][A-Za-z0-9+.-]*:/{0,3})?)"
    r"(?P<info>[^\s@/'\"<>]+)@(?=[^\s@])")
# `password=...`, `token=...`, `api_key=...` in a query string or a key=value text.
_SECRET_PARAMETER = re.compile(
    r"(?i)(?P<name>(?:pass(?:word|wd)?|pwd|token|secret|api[_-]?key|auth|credentials?)=)"
    r"(?P<value>[^&\s'\"]*)")


def secrets_in(text: str) -> list[str]:
    """The credentials `mask_credentials` would hide, to scrub them elsewhere too."""
    found = []
    for match in _USER_INFO.finditer(text):
        user, colon, password = match.group("info").partition(":")
        found.append(password if colon else user)
    found += [match.group("value") for match in _SECRET_PARAMETER.finditer(text)]
    return [secret for secret in found if secret]


def mask_credentials(text: str) -> str:
    """`text` with every URL-like password, lone user-info token and credential
    parameter replaced by ***."""

    def user_info(match: re.Match[str]) -> str:
        user, colon, _ = match.group("info").partition(":")
        masked = f"{user}:{MASK}" if colon else MASK
        return f"{match.group('lead')}{masked}@"

    text = _USER_INFO.sub(user_info, text)
    return _SECRET_PARAMETER.sub(lambda match: match.group("name") + MASK, text)
