"""The screenshot of the bundled example's HTML report in docs/images/, taken by headless
Chromium (Debian's package) through Playwright, as the browser tests open the report:

    .venv/bin/python docs/screenshot.py

Run it by hand when the report's look changes; the image is committed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).parents[1]
DEMO = ROOT / "fixtures" / "demo"
IMAGES = ROOT / "docs" / "images"
CHROMIUM = next(p for p in (Path("/usr/bin/chromium"), Path("/usr/bin/google-chrome"))
                if p.exists())
FLAGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
# The top of the page: the verdict, the KPIs, the trend and the miss causes.
CLIP = {"x": 0, "y": 0, "width": 1000, "height": 1900}


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        page_path = Path(scratch) / "report.html"
        subprocess.run([sys.executable, "-m", "cache_gate", "report", "--format", "html",
                        "--output", str(page_path)], cwd=DEMO, check=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS,
                                                 chromium_sandbox=False)
            for scheme in ("light", "dark"):
                context = browser.new_context(offline=True, color_scheme=scheme,
                                              viewport={"width": 1000, "height": 1900})
                page = context.new_page()
                page.goto(page_path.as_uri())
                target = IMAGES / f"report-demo-{scheme}.png"
                page.screenshot(path=str(target), clip=CLIP)
                print(f"{target.relative_to(ROOT)}: {target.stat().st_size:,} bytes")
                context.close()
            browser.close()


if __name__ == "__main__":
    main()
