"""CG100 manifest-invalid: the manifest cannot be linted as written.

The manifest is validated against the JSON Schema shipped in the package
(`cache_gate/schemas/prompt-manifest.schema.json`), and every path in it must name a
readable file inside the repository. Each problem is reported at its JSON path
(`prompts[2].blocks[1].cache_control`) and line; the prompts that are valid are
still linted.

What it finds: schema violations (unknown keys, with a "did you mean"; wrong types;
a block without exactly one of `file`/`text`/`glob`; `cache_control` other than
`"5m"`/`"1h"`; a `render.command` that is not an argument list), duplicate prompt
ids, blocks out of the provider's render order (tools, system, messages), missing
or unreadable files, directories given as files, files that are not UTF-8, files
over the size bound (8 MiB), globs that match nothing, and absolute paths, `..`
paths or symbolic links that lead outside the repository (nothing outside it is
read or printed).

A manifest that cannot be read at all (missing, unreadable, not JSON) is not a
finding: `lint` prints one line on stderr and exits 2.

Example:

    {"file": "prompts/system.md", "cache-control": "1h"}
    -> prompts[0].blocks[0].cache-control: unknown key 'cache-control'
       (did you mean 'cache_control'?)                                  <- CG100

Fix: correct the manifest entry the message points at.
"""

from __future__ import annotations

RULE = "CG100"
