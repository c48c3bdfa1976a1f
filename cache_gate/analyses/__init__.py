"""What the ledger's records add up to: the KPIs and the report's breakdowns.

Analyses are sinks the sources feed (`Sink.add`); they never read a file or a
database themselves, and they know nothing of commands or reporters.
"""
