"""The manifest as declared: prompts made of blocks, in the provider's render order."""

from __future__ import annotations

import msgspec

from cache_gate.manifest.positions import JsonPath

# Provider render order: tools, then system, then the messages.
ROLE_RANK = {"tools": 0, "system": 1, "user": 2, "assistant": 2}


class BlockSpec(msgspec.Struct, frozen=True):
    path: JsonPath  # where the block is declared in the manifest
    file: str | None = None
    text: str | None = None
    glob: str | None = None
    role: str | None = None
    order: str | None = None
    cache_control: str | None = None  # "5m" | "1h": a cache breakpoint after this block
    dynamic: bool = False
    verbatim: bool = False
    # The short form's implied breakpoint after the last stable block.
    implied_breakpoint: bool = False

    @property
    def label(self) -> str:
        """How messages name the block's source."""
        if self.file is not None:
            return self.file
        if self.glob is not None:
            return f"glob {self.glob}"
        return "text block"

    @property
    def is_json(self) -> bool:
        """Tool definitions and `.json` files are JSON blocks (CG113)."""
        name = self.file or self.glob or ""
        return self.role == "tools" or name.endswith(".json")


class RenderSpec(msgspec.Struct, frozen=True):
    path: JsonPath
    command: tuple[str, ...]
    runs: int = 3
    timeout: float | None = None  # None: the settings' render timeout


class PromptSpec(msgspec.Struct, frozen=True):
    path: JsonPath
    id: str
    blocks: tuple[BlockSpec, ...]
    model: str | None = None
    render: RenderSpec | None = None
    ignore: frozenset[str] = frozenset()
    short_form: bool = False

    @property
    def breakpoints(self) -> list[int]:
        """Indexes of the blocks followed by a cache breakpoint."""
        return [i for i, block in enumerate(self.blocks) if block.cache_control]

    @property
    def stable_count(self) -> int:
        """How many blocks form the stable prefix: up to and including the last breakpoint."""
        breakpoints = self.breakpoints
        return breakpoints[-1] + 1 if breakpoints else 0

    @property
    def stable_blocks(self) -> tuple[BlockSpec, ...]:
        return self.blocks[: self.stable_count]
