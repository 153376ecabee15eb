"""Benchmark: drift scan of N file.file resources vs `terraform plan -refresh-only` (terraform_data).

    .venv/bin/python bench/bench_drift.py [--sizes 1000 10000] [--terraform-max 1000]

Whole CLI processes, wall clock, with the store (or `terraform init` + apply) prepared first.
One file in 100 is edited by hand before the scan, so the scan finds drift (exit code 2).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_apply import DRIFTGATE, terraform_project, terraform_version, timed  # noqa: E402
from driftgate.testing.stacks import fast_write_module, write_stack  # noqa: E402

PER_MODULE = 1000
TARGET = "drift scan of 10,000 file.file < 2 s"


def build(directory: Path, count: int) -> None:
    write_stack(directory, modules={}, providers={"file": {"root": "live"}})
    for m in range((count + PER_MODULE - 1) // PER_MODULE):
        resources = [
            {
                "type": "file.file",
                "name": f"f{i}",
                "spec": {"path": f"d{m}/f{i}.txt", "content": f"value {i}\n"},
            }
            for i in range(m * PER_MODULE, min(count, (m + 1) * PER_MODULE))
        ]
        fast_write_module(directory / "modules" / f"m{m}.yaml", f"m{m}", resources)


def bench_driftgate(count: int, work: Path) -> float:
    stack = work / f"dg-{count}"
    build(stack, count)
    env = {**os.environ, "DRIFTGATE_HOME": str(work / f"home-{count}")}
    timed([DRIFTGATE, "apply", "-s", str(stack), "--auto-approve", "--no-commit-back"], cwd=work, env=env)
    for i in range(0, count, 100):
        (stack / "live" / f"d{i // PER_MODULE}" / f"f{i}.txt").write_text("edited by hand\n")
    scan = timed([DRIFTGATE, "drift", "-s", str(stack)], cwd=work, env=env)
    assert scan.code == 2, "the scan must find the hand edits"
    return scan.seconds


def bench_terraform(count: int, work: Path) -> float | None:
    project = terraform_project(count, work)
    if project is None:
        return None
    terraform, directory, env = project
    timed([terraform, "apply", "-auto-approve", "-no-color"], cwd=directory, env=env)
    return timed([terraform, "plan", "-refresh-only", "-no-color"], cwd=directory, env=env).seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--terraform-max", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="driftgate-bench-drift-"))
    rows = []
    try:
        for count in args.sizes:
            print(f"N={count}…", flush=True)
            tf = bench_terraform(count, work) if count <= args.terraform_max else None
            rows.append((count, bench_driftgate(count, work), tf))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nterraform: {terraform_version()}")
    print(f"{'N':>7} | {'driftgate drift':>15} | {'terraform plan -refresh-only':>29}")
    for count, dg, tf in rows:
        tf_text = f"{tf:8.2f}s" if tf is not None else "not run"
        print(f"{count:>7} | {dg:14.2f}s | {tf_text:>29}")
    print(f"target: {TARGET}")


if __name__ == "__main__":
    main()
