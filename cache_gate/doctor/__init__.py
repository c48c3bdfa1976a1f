"""`cache-gate doctor`: the runbook's escalation checks, run for real.

When the prompt cache hit rate stays below 40% after every runbook step:
1. is the LiteLLM cache backend healthy (CG401 unreachable, CG402 degraded)?
2. does the prompt manifest cover the high-volume paths (CG403)?
3. is the workload inherently low-repetition (CG404)?
"""
