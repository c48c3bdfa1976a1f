"""Reporters: one module per output format, looked up by name.

A reporter turns a Result into text. The registry feeds `--format`'s choices;
the modules are imported only when their format is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import msgspec

from cache_gate.findings import Result


class RenderContext(msgspec.Struct, frozen=True):
    exit_code: int
    color: bool = False
    verbosity: int = 0


Render = Callable[[Result, RenderContext], str]

# format name -> module under cache_gate.reporters defining `render(result, context)`.
REPORTERS: dict[str, str] = {
    "text": "text",
    "json": "json_report",
    "github": "github",
    "gitlab": "gitlab",
    "sarif": "sarif",
    "junit": "junit",
    "markdown": "markdown",
    "html": "html",
}


def get(name: str) -> Render:
    try:
        module = REPORTERS[name]
    except KeyError:
        raise KeyError(f"unknown format {name!r}; known: {', '.join(REPORTERS)}") from None
    render: Render = importlib.import_module(f"cache_gate.reporters.{module}").render
    return render
