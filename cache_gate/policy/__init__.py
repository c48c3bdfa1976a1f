"""`cache-gate policy`: check the cache configuration the runbook tunes by hand.

Two files are read: the backlog toolkit's `backlog.config.json` (`llmOps.cachePolicy`,
`llmOps.routing`) and a LiteLLM proxy `config.yaml` (`model_list`,
`litellm_settings.cache`, `cache_params`). Rules CG301-CG306.
"""
