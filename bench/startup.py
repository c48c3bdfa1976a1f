"""Benchmark cache-gate's start-up: `check` on the bundled example, and `--version`.

    python bench/startup.py                 # best of 20
    python bench/startup.py --repeat 50

Each figure is the best of --repeat runs of the command in a fresh process, as a
hook runs it. `check` runs in fixtures/demo, where it runs every gate: lint (with the
manifest's render command, three runs of `python3 scripts/render_prompt.py`), kpi
on the example ledger and policy on both configs. The render command's `python3` is
this environment's interpreter (its directory first on PATH, as in an activated
virtual environment or a pre-commit hook), so that a shim in front of it (pyenv's
costs about 0.1 s a run) is not counted as cache-gate's. The package's bytecode is
compiled first, as installing a wheel does.

Then `check --no-render` (what the render commands add is the difference), and `check`
once more under `python -X importtime`: the total of the modules it imports (the best
of --repeat runs) and the packages that cost most.
Targets (DESIGN.md, "Performance"): `--version` and `check` under 0.15 s.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from results import Row, save, verdicts  # bench/ holds scripts, not a package

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"
TARGETS = {"check s": 0.15, "--version s": 0.15}
_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| *(\S+)")


def best(command: list[str], repeat: int, env: dict[str, str]) -> float:
    """The shortest wall time of `repeat` runs, each checked to succeed."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=DEMO, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} exited {done.returncode}: "
                             f"{done.stdout.decode()}{done.stderr.decode()}")
    return min(times)


def package(module: str) -> str:
    """cache_gate's own modules by subpackage (cache_gate.rules), others by top package."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "cache_gate" else parts[0]


def import_times(repeat: int, env: dict[str, str]) -> tuple[float, int, Counter[str]]:
    """(total seconds, modules, seconds per package) of `check`'s imports, best run."""
    command = [sys.executable, "-X", "importtime", "-m", "cache_gate", "check"]
    runs = []
    for _ in range(repeat):
        done = subprocess.run(command, cwd=DEMO, env=env, capture_output=True, text=True,
                              check=False)
        own = Counter[str]()
        modules = 0
        for line in done.stderr.splitlines():
            if match := _IMPORT_LINE.match(line):
                own[package(match[3])] += int(match[1]) / 1e6
                modules += 1
        runs.append((sum(own.values()), modules, own))
    return min(runs, key=lambda run: run[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    cache_gate = str(Path(sys.executable).with_name("cache-gate"))
    if not Path(cache_gate).exists():  # the environment running this script, not PATH
        sys.exit(f"cache-gate is not installed beside {sys.executable}")
    compileall.compile_dir(ROOT / "cache_gate", quiet=1)
    interpreter = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{interpreter}{os.pathsep}{os.environ.get('PATH', '')}"}
    if not (interpreter / "python3").exists():
        print(f"note: no python3 in {interpreter}; the render command takes PATH's")

    python = best([sys.executable, "-c", "pass"], args.repeat, env)
    render = best(["python3", "scripts/render_prompt.py", "reviewer"], args.repeat, env)
    version = best([cache_gate, "--version"], args.repeat, env)
    check = best([cache_gate, "check"], args.repeat, env)
    no_render = best([cache_gate, "check", "--no-render"], args.repeat, env)
    total, modules, packages = import_times(max(3, args.repeat // 4), env)

    print(f"{os.cpu_count()} cores; best of {args.repeat}")
    print(f"python -c pass                    {python:6.3f} s  (the interpreter's own start-up)")
    print(f"one render command run            {render:6.3f} s  (check runs it 3 times)")
    print(f"cache-gate --version              {version:6.3f} s")
    print(f"cache-gate check (fixtures/demo)  {check:6.3f} s")
    print(f"  the same with --no-render       {no_render:6.3f} s  (no render commands)")
    print(f"python -X importtime: check imports {modules} modules in {total * 1000:.1f} ms "
          "(timed while importing); the packages that cost most:")
    for name, seconds in packages.most_common(10):
        print(f"  {seconds * 1000:6.1f} ms  {name}")
    rows = [Row("python -c pass", python, "s"), Row("one render command run", render, "s"),
            Row("--version", version, "s", TARGETS["--version s"]),
            Row("check on fixtures/demo", check, "s", TARGETS["check s"]),
            Row("check --no-render on fixtures/demo", no_render, "s"),
            Row("check's imports (-X importtime)", total, "s")]
    print(verdicts(rows))
    save("startup", f"python bench/startup.py --repeat {args.repeat}", rows,
         documented=args.repeat >= 20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
