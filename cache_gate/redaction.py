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


# Environment variables whose values are credentials (REDIS_PASSWORD, GITHUB_TOKEN,
# LITELLM_MASTER_KEY, DATABASE_URL's password is masked by shape instead).
_CREDENTIAL_VARIABLE = re.compile(r"(?i)(pass(word|wd)?|secret|token|api_?key|master_?key|"
                                  r"credentials?|private_?key)$")
# Shorter values are too likely to be ordinary words to scrub from a report.
_SECRET_MIN_LENGTH = 8


def environment_secrets(environ: dict[str, str] | None = None) -> list[str]:
    """Values of credential-named environment variables, longest first."""
    import os

    variables = os.environ if environ is None else environ
    found = {value for name, value in variables.items()
             if _CREDENTIAL_VARIABLE.search(name) and len(value) >= _SECRET_MIN_LENGTH}
    return sorted(found, key=len, reverse=True)


def scrub_secrets(text: str, secrets: list[str]) -> str:
    """`text` with every known secret and every URL-like credential masked: the one
    pass all of cache-gate's output goes through."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return mask_url_credentials(text)


# Only `scheme://user:password@`: in finished reports the shape must be unmistakable
# (a CG106 message may quote a `user@host:~$` prompt, which is no credential).
_URL_PASSWORD = re.compile(r"(?P<lead>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@'\"<>]*:)"
                           r"[^\s@/'\"<>]+@")


def mask_url_credentials(text: str) -> str:
    return _URL_PASSWORD.sub(lambda match: f"{match.group('lead')}{MASK}@", text)
