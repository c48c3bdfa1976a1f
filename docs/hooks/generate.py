"""The reference pages that are written once, in the code, and generated at build time.

MkDocs runs this file as a hook (`hooks:` in mkdocs.yml):

- `on_config` lists the generated pages in the navigation, after the hand-written
  page that introduces them (`rules/index.md`, `ledger/index.md`).
- `on_files` adds one page per rule, `rules/cgNNN.md`: the rule catalogue's entry
  (`cache_gate.rules`) and the docstring of every module that says it documents the
  rule; and one page per ledger format, `ledger/formats/NAME.md`: the docstring of
  the format's module (`cache_gate.ledger.formats.REGISTRY`).
- `on_page_markdown` fills the markers of hand-written pages, `<!-- cache-gate: WHAT
  [ARGUMENT] -->` (see MARKERS): the rule and format tables, each command's options
  (from the click commands, as `--help` prints them), the shipped model minimums,
  the pre-commit hooks, README.md's Quick start, and `example DIRECTORY ARGS...`:
  what `cache-gate ARGS...` prints in a fixture, run while the docs are built, so
  the examples cannot go stale; `bench NAME`: the figures `bench/NAME.py` measured
  last (`bench/results/NAME.json`). An unknown marker, or an example that crashes,
  fails the build.

A module documents a rule when the first paragraph of its docstring names the rule
by ID and name (`CG302 semantic-threshold-aggressive, CG303 ...`). Modules are found
by walking the `cache_gate` package and reading each file's docstring without
importing it, so the pages follow the modules wherever they move. Of the package the
hook imports only what is meant to stay where it is: the rule catalogue
(`cache_gate.rules`), the format registry (`cache_gate.ledger.formats`) and the
command line (`cache_gate.cli`).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import logging
import os
import pkgutil
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import click
import yaml
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

import cache_gate
from cache_gate import rules
from cache_gate.cli import cli
from cache_gate.ledger import formats

log = logging.getLogger("mkdocs.hooks.generate")

RULES_INDEX = "rules/index.md"
FORMATS_INDEX = "ledger/index.md"

# The rule families: their heading in the rules index, the command that reports them,
# and the page that describes that command.
FAMILIES = {
    "CG1": ("Lint rules", "lint", "commands/lint.md"),
    "CG2": ("Ledger rules", "kpi", "commands/kpi.md"),
    "CG3": ("Policy rules", "policy", "commands/policy.md"),
    "CG4": ("Doctor rules", "doctor", "commands/doctor.md"),
}

# Paragraphs of a docstring that start with one of these labels get it in bold.
LABELS = ("Example", "Examples", "Fix", "What it finds", "Not reported", "Severity",
          "Source", "Sources")

# The platforms of cache_gate/data/model_minimums.json, as people call them.
PLATFORMS = {"anthropic": "Anthropic API", "bedrock": "Bedrock", "vertex": "Vertex AI"}

MARKER = re.compile(r"<!-- cache-gate: (?P<what>[a-z-]+)(?: (?P<argument>.*?))? -->")
ROOT = Path(__file__).resolve().parents[2]
RULE_NAMES = re.compile(r"^(?:CG\d{3} [a-z0-9-]+(?:, )?)+")


@dataclass(frozen=True)
class ModuleDoc:
    """The docstring of one module of the package, and where the module lives."""

    module: str
    path: str
    doc: str

    @property
    def lead(self) -> str:
        return self.doc.split("\n\n", 1)[0]

    @property
    def body(self) -> str:
        parts = self.doc.split("\n\n", 1)
        return parts[1] if len(parts) == 2 else ""


# --- what the code says ------------------------------------------------------------


@cache
def package_docstrings() -> tuple[ModuleDoc, ...]:
    """Every module of `cache_gate` that has a docstring, read without importing it."""
    root = Path(cache_gate.__file__).resolve().parent
    found = []
    for info in pkgutil.walk_packages(cache_gate.__path__, "cache_gate."):
        spec = importlib.util.find_spec(info.name)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            continue
        source = Path(spec.origin).read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(source))
        if doc:
            relative = Path(spec.origin).resolve().relative_to(root.parent).as_posix()
            found.append(ModuleDoc(info.name, relative, doc))
    return tuple(sorted(found, key=lambda module: module.module))


def documenting(rule: rules.RuleInfo) -> list[ModuleDoc]:
    """The modules whose docstring's first paragraph names `rule` by ID and name: those
    that start with it first, the fullest description of them first."""
    named = f"{rule.id} {rule.name}"
    modules = [module for module in package_docstrings()
               if named in " ".join(module.lead.split())]
    return sorted(modules, key=lambda module: (not module.lead.startswith(named),
                                               -len(module.doc), module.module))


def undocumented_rules() -> list[str]:
    """Rules that no module's docstring documents: their pages hold the catalogue only."""
    return [rule_id for rule_id, rule in sorted(rules.RULES.items()) if not documenting(rule)]


def family(rule_id: str) -> tuple[str, str, str]:
    try:
        return FAMILIES[rule_id[:3]]
    except KeyError:
        raise PluginError(f"rule {rule_id}: no family in docs/hooks/generate.py FAMILIES "
                          "says which command reports it") from None


def rule_page(rule_id: str) -> str:
    return f"rules/{rule_id.lower()}.md"


def format_page(name: str) -> str:
    return f"ledger/formats/{name}.md"


# --- Markdown ----------------------------------------------------------------------


def markdown_of(doc: str) -> str:
    """A docstring as Markdown: it is written as Markdown already; labels in bold."""
    labels = "|".join(re.escape(label) for label in LABELS)
    return re.sub(rf"(?m)(^|\n\n)({labels}):", r"\1**\2:**", doc.strip())


def sentence(text: str) -> str:
    """A docstring's summary as a sentence: one line, a capital, a full stop."""
    text = " ".join(text.split()).strip(" ,:.")
    if not text:
        return ""
    return text[0].upper() + text[1:] + "."


def cell(text: str) -> str:
    """Text for a table cell: one line, pipes escaped outside code spans (inside them,
    the table extension leaves pipes alone, and a backslash would show)."""
    pieces = " ".join(text.split()).split("`")
    return "`".join(piece if inside % 2 else piece.replace("|", "\\|")
                    for inside, piece in enumerate(pieces))


def rule_markdown(rule: rules.RuleInfo) -> str:
    title, command, command_page = family(rule.id)
    modules = documenting(rule)
    lines = [
        f"# {rule.id} {rule.name}",
        "",
        rule.summary,
        "",
        f"- Severity: **{rule.severity.value}**",
        f"- Reported by: [`cache-gate {command}`](../{command_page})",
        f"- Family: [{title.lower()}](index.md#{anchor(title)})",
        "",
    ]
    for module in modules:
        lead = sentence(RULE_NAMES.sub("", " ".join(module.lead.split())))
        if len(modules) > 1 and lead:
            lines += [f"## {lead.rstrip('.')}", ""]
        elif lead and lead.rstrip(".") != rule.summary.rstrip("."):
            lines += [lead, ""]
        lines += [markdown_of(module.body), "",
                  f"*From the docstring of `{module.path}`.*", ""]
    if not any(re.search(r"(?m)^Fix:", module.doc) for module in modules):
        lines += [f"**Fix:** {rule.fix}", ""]
    if not modules:
        lines += [f"How the gate computes what this rule judges: "
                  f"[`cache-gate {command}`](../{command_page}).", ""]
    return "\n".join(lines)


def format_markdown(name: str) -> str:
    module = formats.REGISTRY[name]
    doc = ast.get_docstring(ast.parse(Path(module.__file__ or "").read_text("utf-8"))) or ""
    lead, _, body = doc.partition("\n\n")
    lead = sentence(" ".join(lead.split()).removeprefix(f"`{name}`:"))
    path = Path(module.__file__ or "").resolve()
    relative = path.relative_to(Path(cache_gate.__file__).resolve().parent.parent).as_posix()
    return "\n".join([
        f"# {name}", "", lead, "", markdown_of(body), "",
        f"*From the docstring of `{relative}`. How every format is read, and what a "
        f"bad line is: [the usage ledger](../index.md).*", "",
    ])


def anchor(heading: str) -> str:
    """The id MkDocs gives a heading (its `toc` extension's default slug)."""
    return re.sub(r"[\s-]+", "-", re.sub(r"[^\w\s-]", "", heading).strip().lower())


# --- markers in hand-written pages --------------------------------------------------


def rules_table(argument: str | None, page_dir: str) -> str:
    del argument
    sections = []
    for prefix, (title, command, command_page) in FAMILIES.items():
        rows = [f"| [{rule.id} {rule.name}]({relative(rule_page(rule.id), page_dir)}) "
                f"| {rule.severity.value} | {cell(rule.summary)} |"
                for rule in rules.RULES.values() if rule.id.startswith(prefix)]
        sections += [f"### {title}", "",
                     f"Reported by [`cache-gate {command}`]"
                     f"({relative(command_page, page_dir)}).", "",
                     "| rule | severity | what it finds |", "|---|---|---|", *rows, ""]
    return "\n".join(sections)


def formats_table(argument: str | None, page_dir: str) -> str:
    del argument
    rows = []
    for name in formats.FORMATS:
        doc = formats.REGISTRY[name].__doc__ or ""
        lead = sentence(" ".join(doc.split("\n\n", 1)[0].split()).removeprefix(f"`{name}`:"))
        rows.append(f"| [`{name}`]({relative(format_page(name), page_dir)}) | {cell(lead)} |")
    return "\n".join(["| format | what it is |", "|---|---|", *rows])


def options_table(argument: str | None, page_dir: str) -> str:
    """The options of `cache-gate COMMAND`, as its `--help` prints them."""
    del page_dir
    command = cli.commands.get(argument or "")
    if command is None:
        raise PluginError(f"options: no command {argument!r}; the commands are "
                          f"{', '.join(sorted(cli.commands))}")
    parent = click.Context(cli, info_name="cache-gate", **cli.context_settings)
    context = click.Context(command, info_name=argument, parent=parent)
    rows = []
    for parameter in command.get_params(context):
        record = parameter.get_help_record(context)
        if record is not None:
            spelling, meaning = record
            rows.append(f"| {cell(f'`{spelling}`')} | {cell(meaning)} |")
    return "\n".join(["| option | meaning |", "|---|---|", *rows])


def model_minimums_table(argument: str | None, page_dir: str) -> str:
    """The shipped minimum cacheable lengths, per model and platform."""
    del argument, page_dir
    table = json.loads(resources.files("cache_gate").joinpath("data/model_minimums.json")
                       .read_text(encoding="utf-8"))
    platforms = [platform for platform in table["platforms"]
                 if any(platform in figures for figures in table["models"].values())]
    rows = []
    for model, figures in table["models"].items():
        shown = []
        for platform in platforms:
            figure = figures.get(platform)
            if figure is None:
                # A platform with no figure of its own uses the Anthropic API's.
                shown.append("" if platform == "anthropic" else "as the Anthropic API")
                continue
            mark = " (not confirmed)" if figure.get("confirmed") is False else ""
            shown.append(f"[{figure['tokens']:,}]({figure['source']}){mark}")
        rows.append(f"| `{model}` | " + " | ".join(shown) + " |")
    header = "| model | " + " | ".join(PLATFORMS.get(p, p) for p in platforms) + " |"
    return "\n".join([header, "|---" * (len(platforms) + 1) + "|", *rows])


def pre_commit_hooks(argument: str | None, page_dir: str) -> str:
    """The hooks `.pre-commit-hooks.yaml` offers other repositories."""
    del argument, page_dir
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    rows = [f"| `{hook['id']}` | `{hook['entry']}` | {cell(hook.get('description', ''))} "
            f"| {cell('`' + hook['files'] + '`') if 'files' in hook else 'always'} |"
            for hook in hooks]
    return "\n".join(["| hook | runs | what it does | runs when a changed file matches |",
                      "|---|---|---|---|", *rows])


def quick_start(argument: str | None, page_dir: str) -> str:
    """README.md's Quick start, the commands `.ci/run` runs as written."""
    del argument, page_dir
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"(?ms)^## Quick start\n(.*?)(?=^## |\Z)", readme)
    if found is None:
        raise PluginError("README.md has no '## Quick start' section")
    return found.group(1).strip()


def bench_results(argument: str | None, page_dir: str) -> str:
    """`NAME`: the rows `bench/NAME.py` measured last (bench/results/NAME.json), each
    with its target and verdict: the docs say what was measured, and when."""
    del page_dir
    path = ROOT / "bench" / "results" / f"{argument}.json"
    if not argument or not path.is_file():
        raise PluginError(f"bench results {argument!r}: no {path}")
    measured = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for row in measured["rows"]:
        value, unit = row["value"], row["unit"]
        suffix = "x" if unit == "x" else f" {unit}"
        shown = f"{value:.1f}x" if unit == "x" else f"{value:,.3g} {unit}"
        target = "" if row["target"] is None else f"≤ {row['target']:g}{suffix}"
        rows.append(f"| {row['case']} | {shown} | {target} | {row['verdict']} |")
    return "\n".join([
        f"Measured by `{measured['command']}` on {measured['date']}, {measured['cores']} cores:",
        "", "| | measured | target | |", "|---|---|---|---|", *rows])


def example(argument: str | None, page_dir: str) -> str:
    """`DIRECTORY ARGUMENT...`: what `cache-gate ARGUMENT...` prints, run in DIRECTORY
    of the repository (a fixture) by the cache-gate building the docs."""
    del page_dir
    words = shlex.split(argument or "")
    if len(words) < 2:
        raise PluginError(f"example: expected a directory and a command, got {argument!r}")
    directory, arguments = words[0], words[1:]
    where = (ROOT / directory).resolve()
    if not where.is_dir() or not where.is_relative_to(ROOT):
        raise PluginError(f"example: {directory} is no directory of the repository")
    # A clean environment, so that the page says what any machine prints: no GitHub
    # Actions format, no Redis or proxy from the builder's shell.
    environment = {"PATH": os.environ.get("PATH", os.defpath),
                   "HOME": os.environ.get("HOME", str(where)),
                   "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "cache_gate", *arguments], cwd=where,
                          env=environment, capture_output=True, text=True, timeout=300,
                          check=False)
    printed = done.stdout + done.stderr
    if done.returncode not in (0, 1, 2) or "Traceback" in printed or "internal error" in printed:
        raise PluginError(f"example: cache-gate {shlex.join(arguments)} in {directory} "
                          f"exited {done.returncode}:\n{printed}")
    return "\n".join([
        "```text",
        f"$ cd {directory} && cache-gate {shlex.join(arguments)}",
        printed.rstrip("\n"),
        "```",
    ])


MARKERS: dict[str, Callable[[str | None, str], str]] = {
    "example": example,
    "bench": bench_results,
    "rules": rules_table,
    "formats": formats_table,
    "options": options_table,
    "model-minimums": model_minimums_table,
    "quick-start": quick_start,
    "pre-commit-hooks": pre_commit_hooks,
}


def relative(target: str, page_dir: str) -> str:
    """A link from a page in `page_dir` (relative to docs/) to `target`."""
    depth = len([part for part in page_dir.split("/") if part not in ("", ".")])
    return "../" * depth + target


# --- the hooks -------------------------------------------------------------------


def generated_pages() -> Iterator[tuple[str, str, Callable[[], str]]]:
    """(index page, page path, how to write it) for every generated page."""
    for rule_id, rule in rules.RULES.items():
        yield RULES_INDEX, rule_page(rule_id), lambda rule=rule: rule_markdown(rule)
    for name in formats.FORMATS:
        yield FORMATS_INDEX, format_page(name), lambda name=name: format_markdown(name)


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    nav = config.nav
    if nav is None:
        raise PluginError("mkdocs.yml: the hook needs an explicit `nav`")
    titles = {rule_page(rule.id): f"{rule.id} {rule.name}" for rule in rules.RULES.values()}
    titles |= {format_page(name): name for name in formats.FORMATS}
    for index, page, _ in generated_pages():
        section = _section_of(nav, index)
        if section is None:
            raise PluginError(f"mkdocs.yml: nav has no section holding {index}")
        if not any(page in _pages(item) for item in section):
            section.append({titles[page]: page})
    return config


def _section_of(nav: list[Any], page: str) -> list[Any] | None:
    """The nav list that holds `page` itself (as an item, or an item's value)."""
    for item in nav:
        if item == page or (isinstance(item, dict) and page in item.values()):
            return nav
    for item in nav:
        children = item if isinstance(item, list) else (
            next(iter(item.values())) if isinstance(item, dict) and len(item) == 1 else None)
        if isinstance(children, list):
            found = _section_of(children, page)
            if found is not None:
                return found
    return None


def _pages(item: Any) -> list[str]:
    if isinstance(item, str):
        return [item]
    if isinstance(item, dict):
        return [value for value in item.values() if isinstance(value, str)]
    return []


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for _, page, write in generated_pages():
        if files.get_file_from_path(page) is not None:
            raise PluginError(f"docs/{page} is written by hand, but the hook generates it: "
                              "delete the hand-written copy")
        files.append(File.generated(config, page, content=write()))
    missing = undocumented_rules()
    if missing:
        log.info("rules that no module's docstring documents (their pages hold the "
                 "catalogue entry only): %s", ", ".join(missing))
    return files


def on_page_markdown(markdown: str, page: Any, config: MkDocsConfig, files: Files) -> str:
    del config, files
    page_dir = Path(page.file.src_uri).parent.as_posix()

    def fill(found: re.Match[str]) -> str:
        what = found.group("what")
        if what not in MARKERS:
            raise PluginError(f"{page.file.src_uri}: unknown marker {found.group(0)}; "
                              f"known: {', '.join(sorted(MARKERS))}")
        return MARKERS[what](found.group("argument"), page_dir)

    return MARKER.sub(fill, markdown)
