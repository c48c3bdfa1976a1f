"""cache-gate: fail a change when it breaks LLM prompt caching."""

__version__ = "0.1.0"
