"""CG110 breakpoint-layout: breakpoints the provider will not honour as intended."""

from __future__ import annotations

from pathlib import Path

from tests.lint.repo import CLEAN_PROSE, findings, write_repo


def _blocks(*cache_controls: str | None) -> list[dict[str, object]]:
    blocks: list[dict[str, object]] = []
    for index, ttl in enumerate(cache_controls):
        block: dict[str, object] = {"file": f"p/{index}.md"}
        if ttl:
            block["cache_control"] = ttl
        blocks.append(block)
    return blocks


def _repo(root: Path, *cache_controls: str | None) -> Path:
    files = {f"p/{i}.md": CLEAN_PROSE for i in range(len(cache_controls))}
    return write_repo(root, files, [{"id": "main", "blocks": _blocks(*cache_controls)}])


def test_more_than_four_breakpoints(tmp_path: Path) -> None:
    _repo(tmp_path, "1h", "1h", "5m", "5m", "5m")
    [finding] = findings(tmp_path, rule="CG110")
    assert finding["message"].startswith("prompts[0].blocks[4].cache_control: 5 cache "
                                         "breakpoints; the API accepts at most 4")


def test_one_hour_after_five_minutes(tmp_path: Path) -> None:
    _repo(tmp_path, "5m", "1h")
    [finding] = findings(tmp_path, rule="CG110")
    assert finding["message"] == ("prompts[0].blocks[1].cache_control: a 1h breakpoint after a "
                                  "5m one (at prompts[0].blocks[0]): longer TTLs must come first")


def test_no_breakpoint(tmp_path: Path) -> None:
    _repo(tmp_path, None, None)
    [finding] = findings(tmp_path, rule="CG110")
    assert "no cache breakpoint" in finding["message"]


def test_good_layouts(tmp_path: Path) -> None:
    for layout in (("1h", "1h", "5m", "5m"), ("1h", None, "5m"), (None, "5m")):
        _repo(tmp_path, *layout)
        assert findings(tmp_path, rule="CG110") == [], layout
