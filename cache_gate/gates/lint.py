"""`cache-gate lint`: the static gate over the prompt manifest, its files and its lock.

Flow: load the manifest (exit 2 if it cannot be read at all) -> assemble every
prompt's blocks -> optionally `--fix` the files and assemble again -> render commands
run -> text checks on every stable-prefix file and text block, prompt checks on every
prompt -> render checks -> lock check (or `--update-lock`) -> findings through the
engine -> Result.

The render commands are started before the rules are imported: a hook's start-up is
mostly imports, and these (and those of the gates `check` runs next, `meanwhile`)
overlap the commands' own start-up, rather than waiting for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from cache_gate.config import Settings
from cache_gate.errors import InputError
from cache_gate.findings import Problem, Result
from cache_gate.manifest.assemble import AssembledPrompt, Assembler, Part, display_path
from cache_gate.manifest.loader import Manifest, load_manifest
from cache_gate.manifest.tokens import MARGIN, approx
from cache_gate.models import load_model_minimums
from cache_gate.rules.context import LintContext, TextScope
from cache_gate.rules.engine import LintEngine, RuleSelection

if TYPE_CHECKING:
    from cache_gate.manifest.render import Renderer, RenderReport

Meanwhile = Callable[[], object]

DEFAULT_LOCK_NAME = "prompt-manifest.lock.json"
# Rules whose findings in render output repeat what the files already showed.
_RENDER_TEXT_RULES = ("CG101", "CG104", "CG106", "CG107")


class LintOptions(msgspec.Struct, frozen=True):
    manifest: str = ".backlog-ops/prompt-manifest.json"
    lock: str | None = None  # None: beside the manifest
    root: str | None = None  # None: the directory holding the manifest's .backlog-ops/
    update_lock: bool = False
    render: bool = True
    fix: bool = False
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    selection_source: str = "select/ignore"
    render_timeout: float = 10.0
    model_minimums: Mapping[str, int] = msgspec.field(default_factory=dict)
    model_minimums_source: str = "settings"
    now: dt.datetime | None = None  # fixed clock for tests


def lint_options(settings: Settings, params: Mapping[str, Any]) -> LintOptions:
    """Options from the command line over the settings (CLI > settings > defaults)."""
    select = tuple(params.get("select") or ()) or tuple(settings.select)
    ignore = tuple(params.get("ignore") or ()) or tuple(settings.ignore)
    default_lock = Settings().lock
    lock = params.get("lock") or (settings.lock if settings.lock != default_lock else None)
    return LintOptions(
        manifest=params.get("manifest") or settings.manifest,
        lock=lock,
        root=params.get("root"),
        update_lock=bool(params.get("update_lock")),
        render=not params.get("no_render"),
        fix=bool(params.get("fix")),
        select=select,
        ignore=ignore,
        selection_source="--select/--ignore" if params.get("select") or params.get(
            "ignore") else f"{settings.source}: select/ignore",
        render_timeout=float(settings.render_timeout),
        model_minimums=settings.model_minimums,
        model_minimums_source=settings.source,
    )


def lock_path(options: LintOptions, manifest_path: Path) -> Path:
    """--lock, else beside the manifest: prompt-manifest.json -> prompt-manifest.lock.json."""
    if options.lock:
        return Path(options.lock)
    name = manifest_path.name
    stem = name.removesuffix(".json") if name != ".json" else ""
    return manifest_path.with_name(f"{stem}.lock.json" if stem else DEFAULT_LOCK_NAME)


def _listing(noun: str, names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit]) + (", …" if len(names) > limit else "")
    return f"{noun}{'s' * (len(names) != 1)} {shown}"


def run_lint(options: LintOptions, meanwhile: Meanwhile | None = None) -> Result:
    """The lint result; `meanwhile` (the caller's imports) is called while the render
    commands run, or not at all when there are none."""
    selection = RuleSelection(options.select, options.ignore, options.selection_source)
    manifest_path = Path(options.manifest)
    root = Path(options.root) if options.root else None
    manifest = load_manifest(manifest_path, display_path(manifest_path.absolute())
                             if manifest_path.is_absolute() else manifest_path.as_posix(), root)
    minimums = load_model_minimums(options.model_minimums, options.model_minimums_source)
    context = LintContext.create(manifest, minimums, options.now)
    engine = LintEngine(selection, manifest.display)
    run = _LintRun(options, manifest, context, engine, meanwhile)
    return run.result()


class _LintRun:
    def __init__(self, options: LintOptions, manifest: Manifest, context: LintContext,
                 engine: LintEngine, meanwhile: Meanwhile | None = None) -> None:
        self.options = options
        self.meanwhile = meanwhile
        self.manifest = manifest
        self.context = context
        self.engine = engine
        self.fixed: list[dict[str, Any]] = []

    def result(self) -> Result:
        assembler = Assembler(self.manifest)
        prompts = [assembler.assemble(spec) for spec in self.manifest.prompts]
        if self.options.fix and self._fix(prompts):
            assembler = Assembler(self.manifest)
            prompts = [assembler.assemble(spec) for spec in self.manifest.prompts]
        for prompt_id, problem in self.manifest.problems:
            self.engine.add("CG100", problem, prompt_id=prompt_id)
        for prompt in prompts:
            for problem in prompt.problems:
                self.engine.add("CG100", problem, prompt.spec)
        runs = self._run_renders(prompts) if self.options.render else None
        self._text_checks(prompts)
        self._prompt_checks(prompts)
        rendered = self._render(*runs) if runs else {}
        lock_status = self._lock(prompts)
        return self._finish(prompts, rendered, lock_status)

    # -- checks ----------------------------------------------------------------

    def _text_checks(self, prompts: list[AssembledPrompt]) -> None:
        from cache_gate.rules import lint as lint_rules

        # A file shared by many prompts is checked once (per verbatim-ness); each
        # prompt then takes the problems of the rules it has on.
        checked: dict[tuple[int, bool], list[tuple[str, Problem]]] = {}
        for prompt in prompts:
            enabled = {rule_id for rule_id in lint_rules.TEXT_CHECKS
                       if self.engine.enabled(rule_id, prompt.spec)}
            for block in prompt.stable_blocks:
                scope = TextScope(verbatim=block.spec.verbatim)
                for part in block.parts:
                    if part.decode_error:
                        continue  # CG100 said so; there is no text to check
                    key = (id(part), scope.verbatim)
                    if key not in checked:
                        checked[key] = [(rule_id, problem)
                                        for rule_id, check in lint_rules.TEXT_CHECKS.items()
                                        if self.engine.enabled(rule_id)
                                        for problem in check(part, scope, self.context)]
                    for rule_id, problem in checked[key]:
                        if rule_id in enabled:
                            self.engine.add(rule_id, problem, prompt.spec, part)

    def _prompt_checks(self, prompts: list[AssembledPrompt]) -> None:
        from cache_gate.rules import lint as lint_rules

        parts: dict[str, Part] = {}
        for prompt in prompts:
            for block in prompt.blocks:
                for part in block.parts:
                    if part.is_file:
                        parts[part.display] = part
        for prompt in prompts:
            for rule_id, check in lint_rules.PROMPT_CHECKS.items():
                if not self.engine.enabled(rule_id, prompt.spec):
                    continue
                if rule_id == "CG109" and prompt.problems:
                    continue  # an incomplete prefix (CG100) has no meaningful length
                for problem in check(prompt, self.context):
                    # A problem in a file (CG113) honours that file's ignore comments.
                    located = parts.get(problem.path) if problem.path else None
                    self.engine.add(rule_id, problem, prompt.spec, located)

    def _run_renders(self, prompts: list[AssembledPrompt]) -> tuple[
            list[AssembledPrompt], Renderer, list[RenderReport]] | None:
        """Run the render commands (the prompts, the renderer and their reports), the
        rules' imports and `meanwhile` overlapping them; None: nothing to render."""
        from cache_gate.manifest.render import Renderer

        todo = [p for p in prompts if p.spec.render is not None and not p.problems
                and self.engine.enabled("CG112", p.spec)]
        if not todo:
            return None
        renderer = Renderer(self.manifest.repository.root, self.options.render_timeout)
        specs = [prompt.spec.render for prompt in todo if prompt.spec.render is not None]
        return todo, renderer, renderer.check_all(specs, self._imports)

    def _imports(self) -> None:
        """The imports of the checks that follow the renders, then the caller's."""
        from cache_gate.analyses import breaking_cost  # noqa: F401
        from cache_gate.rules import cg112_nondeterministic_render, lint  # noqa: F401

        if self.meanwhile is not None:
            self.meanwhile()

    def _render(self, todo: list[AssembledPrompt], renderer: Renderer,
                reports: list[RenderReport]) -> dict[str, dict[str, Any]]:
        """CG112 and the text checks of the render output, from the renders' reports."""
        from cache_gate.manifest.render import FAKETIME_DIRS
        from cache_gate.rules.cg112_nondeterministic_render import check_render

        if renderer.libfaketime is None:
            self.context.notes.append(
                "render: libfaketime not found (looked in " + ", ".join(FAKETIME_DIRS)
                + "), so the clock was not varied; install it (e.g. `apt-get install "
                "libfaketime`) to catch output that depends on the date")
        summary: dict[str, dict[str, Any]] = {}
        for prompt, report in zip(todo, reports, strict=True):
            assert prompt.spec.render is not None
            for problem in check_render(prompt.spec, report, self.context):
                self.engine.add("CG112", problem, prompt.spec)
            identical = report.failure is None and report.first_difference is None
            if identical:
                varied = "clock, TZ" if renderer.libfaketime else "TZ"
                self.context.notes.append(
                    f"render {prompt.id}: {len(report.outputs)} runs (varied {varied}, "
                    "PYTHONHASHSEED, locale, working directory) printed identical bytes "
                    f"({len(report.outputs[0].stdout):,})")
            summary[prompt.id] = {
                "runs": len(report.outputs),
                "identical": identical,
                "failed": report.failure.error if report.failure else None,
                "causes": report.causes,
                "clock_varied": renderer.libfaketime is not None,
            }
            if report.failure is None and report.outputs:
                self._lint_render_output(prompt, report.outputs[0].stdout)
        return summary

    def _lint_render_output(self, prompt: AssembledPrompt, output: bytes) -> None:
        from cache_gate.rules import lint as lint_rules

        assert prompt.spec.render is not None
        pointer = (*prompt.spec.render.path, "command")
        part = Part("render", self.manifest.display, output, pointer=pointer,
                    anchor_line=self.manifest.line_of(pointer))
        if part.decode_error:
            self.engine.add("CG112", self.manifest.problem(
                pointer, f"render output {part.decode_error}"), prompt.spec)
            return
        # What the files already showed is not repeated from the output.
        static_keys = set()
        for block in prompt.stable_blocks:
            for static in block.parts:
                if static.decode_error:
                    continue
                for rule_id in _RENDER_TEXT_RULES:
                    for problem in lint_rules.TEXT_CHECKS[rule_id](
                            static, TextScope(verbatim=block.spec.verbatim), self.context):
                        static_keys.add((rule_id, problem.key))
        scope = TextScope(rendered=True)
        for rule_id in _RENDER_TEXT_RULES:
            if not self.engine.enabled(rule_id, prompt.spec):
                continue
            for problem in lint_rules.TEXT_CHECKS[rule_id](part, scope, self.context):
                if (rule_id, problem.key) not in static_keys:
                    self.engine.add(rule_id, problem, prompt.spec, part)

    # -- fix and lock ----------------------------------------------------------

    def _fix(self, prompts: list[AssembledPrompt]) -> bool:
        from cache_gate.rules.fix import fix_part

        done: set[str] = set()
        changed = False
        for prompt in prompts:
            if not self.engine.enabled("CG107", prompt.spec):
                continue
            for block in prompt.stable_blocks:
                for part in block.parts:
                    if not part.is_file or part.source in done:
                        continue
                    done.add(part.source)
                    keep = frozenset(line for line, ids in part.suppressions.items()
                                     if "CG107" in ids)
                    _, real = self.manifest.repository.resolve(part.source)
                    result = fix_part(part, real, keep)
                    if result.error:
                        self.context.notes.append(f"--fix: {part.display}: {result.error}")
                    elif result.changes:
                        changed = True
                        self.context.notes.append(
                            f"--fix: {part.display}: {'; '.join(result.changes)}")
                        self.fixed.append({"path": part.display, "changes": result.changes})
        if changed:
            self.manifest.repository.forget_reads()
            self.context.notes.append("--fix changed stable prefixes: review the changes, "
                                      "then run `cache-gate lint --update-lock`")
        return changed

    def _lock(self, prompts: list[AssembledPrompt]) -> dict[str, Any]:
        from cache_gate.manifest import lock
        from cache_gate.rules import cg111_prefix_drift

        path = lock_path(self.options, self.manifest.path)
        display = path.as_posix()
        status: dict[str, Any] = {"path": display}
        try:
            document = lock.read_lock(path)
        except lock.LockUnreadable as unreadable:
            document = None
            if not self.options.update_lock:
                self.engine.add("CG111", Problem(
                    f"lock {display} {unreadable}", path=display, key="lock unreadable",
                    hint="Run `cache-gate lint --update-lock` to write it again, then commit "
                         "it."))
                status["status"] = "unreadable"
                return status
        old_entries: dict[str, Any] = document["prompts"] if document else {}
        if self.options.update_lock:
            return self._update_lock(prompts, old_entries, path, status)
        if document is None:
            status["status"] = "missing"
            self.context.notes.append(
                f"no lock at {display} yet: run `cache-gate lint --update-lock` and commit "
                "it, so that prefix drift (CG111) is caught")
            return status
        drifted = []
        for prompt in prompts:
            if prompt.problems or not self.engine.enabled("CG111", prompt.spec):
                continue
            entry = old_entries.get(prompt.id)
            for problem in cg111_prefix_drift.check_prompt(prompt, entry, self.context,
                                                           display):
                if problem.key == "drift":
                    drifted.append(prompt.id)
                self.engine.add("CG111", problem, prompt.spec)
        current = {spec.id for spec in self.manifest.prompts}
        for prompt_id in sorted(set(old_entries) - current):
            self.engine.add("CG111", cg111_prefix_drift.check_stale(prompt_id, display))
        status["status"] = "drift" if drifted else "matched"
        status["drifted"] = drifted
        return status

    def _update_lock(self, prompts: list[AssembledPrompt], old_entries: dict[str, Any],
                     path: Path, status: dict[str, Any]) -> dict[str, Any]:
        from cache_gate.errors import InputError
        from cache_gate.manifest import lock

        entries: dict[str, Any] = {}
        kept = []
        for prompt in prompts:
            if prompt.problems:
                if prompt.id in old_entries:
                    entries[prompt.id] = old_entries[prompt.id]
                kept.append(prompt.id)
                continue
            entries[prompt.id] = lock.prompt_entry(prompt)
        try:
            lock.write_lock(path, lock.lock_document(entries))
        except OSError as exc:
            raise InputError(f"cannot write lock {path}: {exc.strerror}") from None
        self.context.notes.append(f"wrote {path.as_posix()} ({len(entries)} prompt"
                                  f"{'s' * (len(entries) != 1)}): commit it with the prompts")
        if kept:
            self.context.notes.append(
                "not updated in the lock (their files cannot be read, CG100): "
                + ", ".join(kept))
        status["status"] = "updated"
        return status

    # -- result ----------------------------------------------------------------

    def _unchecked_minimum_notes(self) -> list[str]:
        notes = []
        missing = self.context.prompts_without_model
        if missing:
            notes.append(f"no model for {_listing('prompt', missing)}: minimum cacheable "
                         'length not checked (CG109); set "model" or "defaults.model"')
        for model, prompt_ids in sorted(self.context.unknown_models.items()):
            notes.append(f"model {model!r} ({_listing('prompt', prompt_ids)}) has no known "
                         "minimum cacheable length: not checked (CG109); add it to the "
                         "model-minimums table of the settings")
        return notes

    def _finish(self, prompts: list[AssembledPrompt], rendered: dict[str, dict[str, Any]],
                lock_status: dict[str, Any]) -> Result:
        manifest = self.manifest
        rows = []
        for prompt in prompts:
            model = prompt.spec.model
            rows.append({
                "id": prompt.id,
                "model": model,
                "minimum_tokens": self.context.minimums.minimum_for(model) if model else None,
                "stable_prefix": {
                    "blocks": len(prompt.stable_blocks),
                    "bytes": len(prompt.stable_prefix),
                    "tokens_estimate": prompt.tokens,
                    "sha256": prompt.sha256,
                },
                "render": rendered.get(prompt.id),
            })
        total = sum(prompt.tokens for prompt in prompts)
        summary = (f"manifest {manifest.display}: {len(prompts)} prompt"
                   f"{'s' * (len(prompts) != 1)}, stable prefixes {approx(total)} tokens "
                   f"(estimated, ±{MARGIN:.0%}); lock {lock_status.get('status')}")
        notes = [summary, *self.context.notes, *self._unchecked_minimum_notes()]
        if self.engine.suppressed:
            notes.append(f"{self.engine.suppressed} finding(s) suppressed by "
                         "`cache-gate: ignore[...]` comments")
        sections = {
            "manifest": {"path": manifest.display,
                         "root": display_path(manifest.repository.root),
                         "prompts": len(manifest.prompts)},
            "prompts": rows,
            "lock": lock_status,
        }
        if self.options.fix:
            sections["fixed"] = self.fixed
        return Result("lint", self.engine.findings(), sections, notes)


def inputs(settings: Settings, params: Mapping[str, Any]) -> list[str]:
    """What `check` looks for before it runs this gate."""
    return [params.get("manifest") or settings.manifest]


def run(settings: Settings, params: Mapping[str, Any], *,
        meanwhile: Meanwhile | None = None) -> Result:
    """`cache-gate lint`: the prompt manifest's stable prefixes and the lock; with a
    ledger, what each cache-breaking error costs a day. `meanwhile`: the caller's
    imports, done while the render commands run (`check`'s of the gates after this)."""
    result = run_lint(lint_options(settings, params), meanwhile)
    from cache_gate.analyses.breaking_cost import breaking_prompts  # after the renders' start

    prompts = breaking_prompts(result)
    ledger = params.get("ledger") or settings.ledger
    if prompts and Path(ledger).is_file():
        price_breaking_changes(result, prompts, ledger, settings)
    return result


def price_breaking_changes(result: Result, prompts: frozenset[str], ledger: str,
                           settings: Settings) -> None:
    """Read the ledger for the prompts' traffic; a ledger that cannot be read leaves
    the findings as they are, saying why (the lint verdict does not depend on it)."""
    from cache_gate.analyses.breaking_cost import PromptUsage, price_findings
    from cache_gate.ledger.jsonl.reader import scan
    from cache_gate.ledger.reading import Selection
    from cache_gate.prices import load_prices

    try:
        usage, _ = scan(ledger, Selection(), lambda: PromptUsage(prompts), descriptive=True,
                        jobs=1)
    except InputError as exc:
        result.notes.append(f"cache-breaking errors not priced: {exc}")
        return
    assert isinstance(usage, PromptUsage)
    price_findings(result, usage, load_prices(settings.prices, settings.source), ledger)
