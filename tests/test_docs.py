"""The reference in docs/ builds, documents everything the code defines, and writes each
rule down once.

The lists are taken from the code, as pre-commit-hooks' README test takes them from
its hooks file: a new rule, hook, ledger format, setting or KPI that the built docs do
not show fails here. The rule and format pages are generated from the code by
docs/hooks/generate.py, so a hand-written copy of a rule's text is a second source
that would drift: that fails here too.
"""

from __future__ import annotations

import html
import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
import yaml

from cache_gate import config, rules
from cache_gate.ledger import formats

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
HOOK = DOCS / "hooks" / "generate.py"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None,
    reason="mkdocs is not installed in this environment (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference, built as CI builds it: `mkdocs build --strict` turns every
    warning (a broken link, a page missing from the nav) into a failure."""
    site_dir = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    return site_dir


@pytest.fixture(scope="module")
def generator() -> Iterator[ModuleType]:
    """docs/hooks/generate.py, the hook that writes the generated pages."""
    spec = importlib.util.spec_from_file_location("docs_hooks_generate", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def page(site: Path, source: str) -> str:
    """The text of the built page for `source` (a path under docs/), tags removed."""
    built = site / ("index.html" if source == "index.md" else
                    source.removesuffix("index.md").removesuffix(".md") + "/index.html")
    assert built.is_file(), f"docs/{source} was not built ({built.relative_to(site)})"
    return html.unescape(re.sub(r"<[^>]+>", " ", built.read_text(encoding="utf-8")))


def every_page(site: Path) -> str:
    return "\n".join(html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))
                     for path in sorted(site.rglob("index.html")))


def hand_written_pages() -> list[Path]:
    return sorted(path for path in DOCS.rglob("*.md"))


# --- it builds ------------------------------------------------------------------


def test_the_reference_builds_strictly(site: Path) -> None:
    assert (site / "index.html").is_file()


# --- everything the code defines is documented -------------------------------------


@pytest.mark.parametrize("rule_id", sorted(rules.RULES))
def test_every_rule_has_its_page(site: Path, rule_id: str) -> None:
    rule = rules.get(rule_id)
    text = page(site, f"rules/{rule_id.lower()}.md")
    assert f"{rule.id} {rule.name}" in text
    assert rule.severity.value in text
    assert f"{rule.id} {rule.name}" in page(site, "rules/index.md"), "missing from the index"


@pytest.mark.parametrize("rule_id", sorted(rules.RULES))
def test_every_rule_outside_the_ledger_family_is_documented_by_its_module(
        site: Path, rule_id: str) -> None:
    """The page carries the docstring of the module that checks the rule. The ledger
    rules (CG2xx) are checked in `analyses` and `gates`, whose docstrings do not name
    them yet: their pages hold the catalogue's summary and fix only."""
    text = page(site, f"rules/{rule_id.lower()}.md")
    if rule_id.startswith("CG2") and "From the docstring of" not in text:
        pytest.skip(f"{rule_id}: no module's docstring documents it yet")
    assert "From the docstring of" in text, (
        f"{rule_id}: no module's docstring starts with '{rule_id} {rules.get(rule_id).name}'")
    assert "Fix:" in text


def hook_ids() -> list[str]:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    return [hook["id"] for hook in hooks]


@pytest.mark.parametrize("hook_id", hook_ids())
def test_every_pre_commit_hook_is_documented(site: Path, hook_id: str) -> None:
    assert hook_id in page(site, "integrations.md")


@pytest.mark.parametrize("name", formats.FORMATS)
def test_every_ledger_format_has_its_page(site: Path, name: str) -> None:
    text = page(site, f"ledger/formats/{name}.md")
    assert "From the docstring of" in text
    assert re.search(r"Sources?:", text), f"{name}: the page does not cite its source"
    assert name in page(site, "ledger/index.md"), "missing from the formats table"


def settings() -> list[str]:
    # Every field of Settings is a key of [tool.cache-gate], spelled with dashes, but
    # `source`, which records where the settings came from.
    return sorted(name.replace("_", "-") for name in config.Settings.__struct_fields__
                  if name != "source")


@pytest.mark.parametrize("key", settings())
def test_every_setting_is_documented(site: Path, key: str) -> None:
    assert re.search(rf"\b{re.escape(key)}\b", page(site, "configuration.md")), (
        f"setting {key!r} is not in docs/configuration.md")


@pytest.mark.parametrize("kpi", config.KPI_NAMES)
def test_every_kpi_is_documented(site: Path, kpi: str) -> None:
    assert kpi in page(site, "commands/kpi.md")


@pytest.mark.parametrize("command", ["lint", "kpi", "report", "policy", "doctor", "check"])
def test_every_command_has_its_page_with_every_option(site: Path, command: str) -> None:
    from cache_gate.cli import cli

    text = page(site, f"commands/{command}.md")
    for parameter in cli.commands[command].params:
        for spelling in getattr(parameter, "opts", []):
            assert spelling in text, f"cache-gate {command} {spelling} is not documented"


def test_the_examples_are_what_the_demo_prints(site: Path) -> None:
    """The outputs on the command pages are run while the docs are built."""
    text = page(site, "commands/kpi.md")
    assert "$ cd fixtures/demo && cache-gate kpi" in text
    assert "cache-gate kpi: passed" in text
    assert "cache-gate lint: passed" in page(site, "commands/lint.md")


def test_the_quick_start_is_the_readme_s(site: Path) -> None:
    quick_start = README.read_text(encoding="utf-8").split("## Quick start", 1)[1]
    commands = re.findall(r"^```sh\n(.*?)\n```", quick_start.split("\n## ", 1)[0],
                          flags=re.MULTILINE | re.DOTALL)
    assert len(commands) == 2
    for command in commands:
        assert command in page(site, "index.md")


# --- the README points into docs/ -----------------------------------------------


def readme_links() -> list[str]:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return sorted({target for target in targets if not re.match(r"[a-z]+:", target)})


def test_the_readme_links_into_docs() -> None:
    assert any(link.startswith("docs/") for link in readme_links())


@pytest.mark.parametrize("link", readme_links())
def test_every_page_the_readme_links_to_exists(site: Path, link: str) -> None:
    path, _, anchor = link.partition("#")
    target = ROOT / path
    assert target.exists(), f"README.md links to {path}, which does not exist"
    if path.startswith("docs/"):
        assert target.suffix == ".md" and target.is_file(), f"{path}: not a page of docs/"
    if anchor:
        source = target.relative_to(DOCS).as_posix()
        built = site / ("index.html" if source == "index.md" else
                        source.removesuffix("index.md").removesuffix(".md") + "/index.html")
        assert f'id="{anchor}"' in built.read_text(encoding="utf-8"), (
            f"README.md links to {link}, but that page has no heading #{anchor}")


# --- rules are written once -------------------------------------------------------


@pytest.mark.parametrize("path", hand_written_pages(), ids=lambda path: path.name)
def test_no_hand_written_page_has_a_rule_section(path: Path) -> None:
    """Rule pages come from the generator only: a `### CG101 ...` heading by hand is a
    second copy of the rule's text."""
    headings = re.findall(r"^#+ +`?CG\d{3}\b.*$", path.read_text(encoding="utf-8"),
                          flags=re.MULTILINE)
    assert headings == [], f"{path.relative_to(ROOT)} documents rules by hand: {headings}"


def test_no_hand_written_page_copies_a_rule_s_docstring(generator: ModuleType) -> None:
    """No paragraph of a rule's documentation (the docstring of its module) is pasted
    into a hand-written page."""
    pages = {path: " ".join(path.read_text(encoding="utf-8").split())
             for path in [*hand_written_pages(), README]}
    copied = []
    for rule in rules.RULES.values():
        for module in generator.documenting(rule):
            for paragraph in module.body.split("\n\n"):
                words = " ".join(paragraph.split())
                if len(words) < 120 or words.startswith(("Example", "Source")):
                    continue
                copied += [(rule.id, path.relative_to(ROOT).as_posix(), words[:60])
                           for path, text in pages.items() if words in text]
    assert copied == []


def test_no_hand_written_page_shadows_a_generated_one(generator: ModuleType) -> None:
    generated = {page for _, page, _ in generator.generated_pages()}
    written = {path.relative_to(DOCS).as_posix() for path in hand_written_pages()}
    assert generated & written == set()


def test_a_misspelt_marker_fails_the_build(generator: ModuleType) -> None:
    from mkdocs.exceptions import PluginError

    page_of = SimpleNamespace(file=SimpleNamespace(src_uri="commands/lint.md"))
    with pytest.raises(PluginError, match="unknown marker"):
        generator.on_page_markdown("<!-- cache-gate: option lint -->", page_of, None, None)
    with pytest.raises(PluginError, match="no command 'lnt'"):
        generator.on_page_markdown("<!-- cache-gate: options lnt -->", page_of, None, None)


def test_a_module_documents_the_rules_its_first_paragraph_names(
        generator: ModuleType) -> None:
    """How the generator finds a rule's documentation, wherever its module lives."""
    documented = {module.module for module in generator.documenting(rules.get("CG302"))}
    assert documented == {"cache_gate.policy.semantic_threshold"}
    documented = {module.module for module in generator.documenting(rules.get("CG401"))}
    assert documented == {"cache_gate.doctor.redis_backend", "cache_gate.doctor.proxy"}


def test_the_readme_s_figures_are_the_benchmark_s() -> None:
    """README.md quotes `kpi`'s time and memory on the million records as bench/ledger.py
    last measured them (bench/results/ledger.json, which docs/performance.md shows)."""
    import json

    measured = json.loads((ROOT / "bench" / "results" / "ledger.json").read_text())
    rows = {row["case"]: row["value"] for row in measured["rows"]}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quoted = re.search(r"miss\s+causes included, in about ([\d.]+) s and (\d+) MB", readme)
    assert quoted is not None, "README.md no longer quotes kpi's figures"
    assert float(quoted[1]) == round(rows["kpi"], 1)
    assert int(quoted[2]) == round(rows["peak memory"])
