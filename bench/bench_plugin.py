"""Benchmark: N data.value resources through the in-process provider and through the same provider
served as a plugin (`driftgate plugin serve data`), in the same run; and plugin start to ready.

    .venv/bin/python bench/bench_plugin.py [--count 10000] [--starts 5]

Whole CLI processes, wall clock: create (apply) and a plan without changes, each stack in its own
home. Targets: create and no-op plan through the plugin <= 1.5x in process; start to ready
(handshake + manifest) < 300 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_apply import DRIFTGATE, timed  # noqa: E402
from driftgate.plugin.client import PluginProcess  # noqa: E402
from driftgate.testing.stacks import data_values, fast_write_module, write_stack  # noqa: E402

PER_MODULE = 1000
TARGETS = "plugin / in process <= 1.5x for create and no-op plan; start to ready < 300 ms"


def build(directory: Path, count: int, provider: dict[str, object]) -> Path:
    write_stack(directory, modules={}, providers={"data": provider})
    values = data_values(count)
    for m in range(0, count, PER_MODULE):
        fast_write_module(directory / "modules" / f"m{m}.yaml", f"m{m}", values[m : m + PER_MODULE])
    return directory


def wrapper(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "data-plugin"
    path.write_text(f"#!/bin/sh\nexec {DRIFTGATE} plugin serve data\n")
    path.chmod(0o755)
    return path


def run_stack(stack: Path, home: Path, work: Path) -> tuple[float, float]:
    env = {**os.environ, "DRIFTGATE_HOME": str(home)}
    create = timed(
        [DRIFTGATE, "apply", "-s", str(stack), "--auto-approve", "--no-commit-back"], cwd=work, env=env
    )
    assert create.code == 0, "the apply must succeed"
    plan = timed([DRIFTGATE, "plan", "-s", str(stack)], cwd=work, env=env)
    assert plan.code == 0, "a plan right after the apply has no changes"
    return create.seconds, plan.seconds


def start_to_ready(starts: int) -> list[float]:
    seconds = []
    for _ in range(starts):
        process = PluginProcess([DRIFTGATE, "plugin", "serve", "data"], source="bench")
        began = time.perf_counter()
        process.start()
        seconds.append(time.perf_counter() - began)
        process.stop()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="driftgate-bench-plugin-"))
    try:
        print(f"N={args.count}: in process…", flush=True)
        inproc = run_stack(build(work / "inproc", args.count, {}), work / "home-inproc", work)
        print(f"N={args.count}: plugin…", flush=True)
        wrapper(work / "plugin")
        plugin = run_stack(
            build(work / "plugin", args.count, {"plugin": "./data-plugin"}), work / "home-plugin", work
        )
        starts = start_to_ready(args.starts)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{args.count} data.value | in process | plugin  | plugin / in process")
    for label, a, b in (("create (apply)", inproc[0], plugin[0]), ("no-op plan", inproc[1], plugin[1])):
        print(f"{label:>16} | {a:9.2f}s | {b:6.2f}s | {b / a:5.2f}x")
    ready = statistics.median(starts) * 1000
    print(f"plugin start to ready (handshake + manifest), median of {args.starts}: {ready:.0f} ms")
    print(f"targets: {TARGETS}")


if __name__ == "__main__":
    main()
