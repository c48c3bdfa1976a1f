"""LiteLLM's SpendLogs table in PostgreSQL as a ledger.

Whether `--ledger` names one is asked on every run, so it is answered here, in the
package itself, with nothing imported: the URL's reading (`url`) and psycopg only come
with a URL.
"""

SCHEMES = ("postgresql", "postgres")


def is_postgres_url(ledger: str) -> bool:
    scheme, sep, _ = ledger.partition("://")
    return bool(sep) and scheme.lower() in SCHEMES
