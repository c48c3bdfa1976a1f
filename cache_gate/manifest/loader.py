"""Read the prompt manifest: JSON, schema, both block forms, the repository root.

A manifest that cannot be read at all (missing, unreadable, not JSON) is an
InputError (exit 2). Everything else is a CG100 problem at a JSON path, and the
prompts that are valid are still linted.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import msgspec

from cache_gate.errors import InputError
from cache_gate.findings import Problem, Severity
from cache_gate.inputs import note_input
from cache_gate.manifest.positions import JsonPath, JsonPositions, format_path
from cache_gate.manifest.repository import MAX_PROMPT_FILE_BYTES, Repository
from cache_gate.manifest.schema import validate_manifest
from cache_gate.manifest.spec import BlockSpec, PromptSpec, RenderSpec

DEFAULT_RENDER_RUNS = 3
SHORT_FORM_BREAKPOINT = "5m"


class Manifest(msgspec.Struct):
    path: Path
    display: str  # the path as reports show it
    text: str
    repository: Repository
    prompts: list[PromptSpec] = msgspec.field(default_factory=list)
    default_model: str | None = None
    # CG100 problems: schema violations, duplicate ids, render order.
    problems: list[tuple[str | None, Problem]] = msgspec.field(default_factory=list)
    _positions: JsonPositions | None = None

    def line_of(self, path: JsonPath) -> int | None:
        if self._positions is None:
            self._positions = JsonPositions(self.text)
        return self._positions.line_of(path)

    def problem(self, path: JsonPath, message: str, *, key: str | None = None,
                severity: Severity | None = None, hint: str | None = None) -> Problem:
        """A problem located at a JSON path of the manifest."""
        where = format_path(path)
        return Problem(f"{where}: {message}", line=self.line_of(path), path=self.display,
                       key=f"{where}: {key or message}", severity=severity, hint=hint)


def default_root(manifest: Path) -> Path:
    """The repository: the directory holding the manifest's `.backlog-ops/`."""
    parent = manifest.absolute().parent
    return parent.parent if parent.name == ".backlog-ops" else parent


def _read_text(path: Path, display: str) -> str:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"manifest {display} does not exist; create it (README: Lint) or "
                         "pass --manifest PATH") from None
    except OSError as exc:
        raise InputError(f"cannot read manifest {display}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"manifest {display} is a directory; pass the JSON file "
                         "(--manifest .backlog-ops/prompt-manifest.json)")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"manifest {display} is not a regular file")
    if info.st_size > MAX_PROMPT_FILE_BYTES:
        raise InputError(f"manifest {display} is {info.st_size:,} bytes, over the "
                         f"{MAX_PROMPT_FILE_BYTES:,}-byte bound")
    try:
        with path.open("rb") as handle:
            note_input(path, info)
            data = handle.read(MAX_PROMPT_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read manifest {display}: {exc.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"manifest {display} is not UTF-8 (byte {exc.start}); save it "
                         "as UTF-8") from None


def _parse(text: str, display: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{display}:{exc.lineno}:{exc.colno}: manifest is not valid JSON: "
                         f"{exc.msg}") from None
    except RecursionError:
        raise InputError(f"{display}: manifest is nested too deeply to read") from None


def load_manifest(path: Path, display: str, root: Path | None = None) -> Manifest:
    """The manifest at `path`; InputError when it cannot be read at all."""
    text = _read_text(path, display)
    document = _parse(text, display)
    root = root if root is not None else default_root(path)
    if not root.is_dir():
        raise InputError(f"repository root {root} is not a directory (--root)")
    manifest = Manifest(path, display, text, Repository(root))
    invalid_prompts: set[int] = set()
    for violation in validate_manifest(document):
        where = violation.path
        prompt_id = None
        if len(where) >= 2 and where[0] == "prompts" and isinstance(where[1], int):
            invalid_prompts.add(where[1])
            prompt_id = _prompt_id(document, where[1])
        manifest.problems.append((prompt_id, manifest.problem(where, violation.message)))
    if not isinstance(document, dict) or not isinstance(document.get("prompts"), list):
        return manifest
    defaults = document.get("defaults")
    if isinstance(defaults, dict) and isinstance(defaults.get("model"), str):
        manifest.default_model = defaults["model"]
    seen: dict[str, int] = {}
    for index, raw in enumerate(document["prompts"]):
        if index in invalid_prompts:
            continue
        prompt = _prompt(raw, ("prompts", index), manifest.default_model)
        if prompt.id in seen:
            manifest.problems.append((prompt.id, manifest.problem(
                (*prompt.path, "id"), f"duplicate prompt id {prompt.id!r} (first at "
                f"prompts[{seen[prompt.id]}]); prompt ids name lock entries and must be "
                "unique")))
            continue
        seen[prompt.id] = index
        manifest.prompts.append(prompt)
    return manifest


def _prompt_id(document: Any, index: int) -> str | None:
    try:
        prompt_id = document["prompts"][index]["id"]
    except (KeyError, IndexError, TypeError):
        return None
    return prompt_id if isinstance(prompt_id, str) else None


def _block(raw: dict[str, Any], path: JsonPath, *, dynamic: bool = False) -> BlockSpec:
    return BlockSpec(
        path=path,
        file=raw.get("file"),
        text=raw.get("text"),
        glob=raw.get("glob"),
        role=raw.get("role"),
        order=raw.get("order"),
        cache_control=raw.get("cache_control"),
        dynamic=dynamic or bool(raw.get("dynamic", False)),
        verbatim=bool(raw.get("verbatim", False)),
    )


def _short_form(raw: Any, path: JsonPath, *, dynamic: bool) -> list[BlockSpec]:
    if isinstance(raw, str):  # older manifests: the path of the prefix file
        return [BlockSpec(path=path, file=raw, dynamic=dynamic)]
    return [_block(item, (*path, i), dynamic=dynamic) for i, item in enumerate(raw)]


def _prompt(raw: dict[str, Any], path: JsonPath, default_model: str | None) -> PromptSpec:
    short_form = "blocks" not in raw
    if not short_form:
        blocks = [_block(item, (*path, "blocks", i)) for i, item in enumerate(raw["blocks"])]
    else:
        blocks = _short_form(raw["stable_prefix"], (*path, "stable_prefix"), dynamic=False)
        if not blocks[-1].cache_control:
            blocks[-1] = msgspec.structs.replace(
                blocks[-1], cache_control=SHORT_FORM_BREAKPOINT, implied_breakpoint=True)
        if "dynamic_suffix" in raw:
            blocks += _short_form(raw["dynamic_suffix"], (*path, "dynamic_suffix"),
                                  dynamic=True)
    render = None
    if "render" in raw:
        spec = raw["render"]
        render = RenderSpec(path=(*path, "render"), command=tuple(spec["command"]),
                            runs=spec.get("runs", DEFAULT_RENDER_RUNS),
                            timeout=spec.get("timeout"))
    return PromptSpec(
        path=path,
        id=raw["id"],
        blocks=tuple(blocks),
        model=raw.get("model", default_model),
        render=render,
        ignore=frozenset(rule.upper() for rule in raw.get("ignore", [])),
        short_form=short_form,
    )
