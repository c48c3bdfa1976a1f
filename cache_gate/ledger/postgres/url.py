"""A PostgreSQL ledger's URL: which database, which table, and how to show it.

`--ledger postgresql://user@host/db` (or `postgres://`) names LiteLLM's database.
libpq reads the URL, and with it PGPASSWORD, ~/.pgpass, PGSSLMODE and the rest of
its environment, as every PostgreSQL client does. cache-gate takes a few query
parameters of its own out of the URL before libpq sees it:

- `table`: the SpendLogs table (default `LiteLLM_SpendLogs`);
- `schema`: its schema, as Prisma spells it in LiteLLM's own DATABASE_URL
  (default: the server's search_path);
- `statement_timeout`: how long the server may work on one query (default 5min);

and ignores Prisma's connection-pool parameters, so that LiteLLM's DATABASE_URL
works as it is. Nothing here imports psycopg.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from cache_gate.errors import InputError
from cache_gate.redaction import mask_credentials, secrets_in

DEFAULT_TABLE = "LiteLLM_SpendLogs"
DEFAULT_STATEMENT_TIMEOUT = "5min"
# Prisma's own parameters in a LiteLLM DATABASE_URL; libpq would reject them.
PRISMA_ONLY = frozenset({"connection_limit", "pool_timeout", "pgbouncer", "socket_timeout",
                         "statement_cache_size", "sslaccept"})
REDACTED = "***"
_PASSWORD_PARAM = re.compile(r"(?i)((?:^|&)password=)[^&]*")


@dataclass(frozen=True)
class SpendLogsSource:
    """Where the SpendLogs rows are, as cache-gate was told."""

    # The URL for libpq: cache-gate's own parameters taken out.
    conninfo: str
    # The URL as it may be printed: the password replaced by ***.
    display: str
    table: str = DEFAULT_TABLE
    schema: str | None = None
    statement_timeout: str = DEFAULT_STATEMENT_TIMEOUT
    # Passwords written in the URL, to be scrubbed from any message shown.
    secrets: tuple[str, ...] = ()

    @property
    def table_display(self) -> str:
        return f'"{self.schema}"."{self.table}"' if self.schema else f'"{self.table}"'


def redact(url: str) -> str:
    """The URL with any password (in the user part or a `password=` parameter) as ***."""
    try:
        parts = urlsplit(url)
    except ValueError:  # malformed (an unclosed `[`): masked by shape instead
        return mask_credentials(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    netloc = parts.netloc
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:{REDACTED}@{hosts}"
    query = _PASSWORD_PARAM.sub(lambda match: match.group(1) + REDACTED, parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _params(query: str) -> list[tuple[str, str]]:
    """A URL's query parameters, split as libpq splits them (no `+` for space), raw."""
    pairs = []
    for pair in query.split("&") if query else []:
        key, _, value = pair.partition("=")
        pairs.append((unquote(key), value))
    return pairs


def _secrets(url: str) -> tuple[str, ...]:
    try:
        parts = urlsplit(url)
    except ValueError:
        return tuple(secrets_in(url))
    userinfo, at, _ = parts.netloc.rpartition("@")
    found = []
    if at and ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    found += [value for key, value in _params(parts.query) if key.lower() == "password"]
    return tuple({form for secret in found if secret
                  for form in (secret, unquote(secret))})


def parse_source(url: str) -> SpendLogsSource:
    """Split a ledger URL into what libpq reads and what cache-gate reads."""
    display = redact(url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InputError(f"ledger {display} is not a valid PostgreSQL URL: {exc}") from None
    ours: dict[str, str] = {}
    kept: list[str] = []
    for key, value in _params(parts.query):
        if key in ("table", "schema", "statement_timeout"):
            ours[key] = unquote(value)
        elif key not in PRISMA_ONLY:
            kept.append(f"{quote(key, safe='')}={value}")
    table = ours.get("table", DEFAULT_TABLE)
    if not table:
        raise InputError(f"ledger {display}: `table=` is empty; name the SpendLogs table, "
                         f"e.g. table={DEFAULT_TABLE}")
    conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path,
                           "&".join(kept), parts.fragment))
    return SpendLogsSource(
        conninfo=conninfo,
        display=display,
        table=table,
        schema=ours.get("schema") or None,
        statement_timeout=ours.get("statement_timeout") or DEFAULT_STATEMENT_TIMEOUT,
        secrets=_secrets(url),
    )


def scrub(message: str, source: SpendLogsSource, extra: tuple[str, ...] = ()) -> str:
    """A server or libpq message with every known password taken out, on one line."""
    for secret in sorted((*source.secrets, *extra), key=len, reverse=True):
        if secret:
            message = message.replace(secret, REDACTED)
    return " ".join(message.split())
