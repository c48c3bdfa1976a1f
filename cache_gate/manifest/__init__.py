"""The prompt manifest: loading and validation, stable prefixes, the lock, render checks,
token estimates (used by `cache-gate lint`)."""
