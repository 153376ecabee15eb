"""Benchmark: the CLI's start-up and its listing commands, whole processes, with the import budget.

    .venv/bin/python bench/bench_startup.py                  # state list of 10k, runs show of 5k and 10k
    .venv/bin/python bench/bench_startup.py --resources 2000 --repeat 3

Every figure is the median wall clock of whole `driftgate` processes with stdout piped (as a script
reads them), the store prepared first and not timed. Baselines measured in the same run: the bare
interpreter (`python -c pass`, the floor of any Python CLI) and `terraform version` (when terraform
is on PATH). The import budget (`python -X importtime`) shows which libraries each command loads
and what they cost. Results also go to bench/results/startup-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from driftgate.testing.stacks import fast_write_module, write_stack  # noqa: E402

DRIFTGATE = str(Path(sys.executable).parent / "driftgate")
TARGETS = {
    "driftgate version": 0.1,
    "driftgate --version": 0.1,
    "driftgate --help": 0.1,
    "state list": 0.5,
    "runs show": 0.5,
}
BEFORE_ISSUE_9 = {  # the issue's own figures, for the record (measured by its reporter)
    "state list 10000": 3.4,
    "runs show 5000": 2.3,
}


def wall(argv: list[str], *, env: dict[str, str], cwd: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
        if proc.returncode not in (0, 2):
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.decode()[-1000:]}")
    return statistics.median(times)


def applied_stack(directory: Path, count: int, env: dict[str, str]) -> str:
    """A stack of ``count`` data.value resources, applied once; the run's id."""
    write_stack(directory, name=directory.name, modules={}, providers={"data": {}})
    for start in range(0, count, 1000):
        resources = [
            {"type": "data.value", "name": f"v{i}", "spec": {"input": f"x-{i}"}}
            for i in range(start, min(start + 1000, count))
        ]
        fast_write_module(directory / "modules" / f"m{start // 1000}.yaml", f"m{start // 1000}", resources)
    subprocess.run(
        [DRIFTGATE, "apply", "-s", str(directory), "--auto-approve", "--no-commit-back"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    listed = subprocess.run(
        [DRIFTGATE, "runs", "list", "--stack", str(directory), "--limit", "1", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return str(json.loads(listed.stdout)["runs"][0]["id"])


def import_budget(args: list[str], *, env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Milliseconds of import per library (``-X importtime``): a library's cost is the cumulative time
    of each import of it by driftgate (or the entry point), with all it imports in turn; driftgate's
    own is its modules' self time."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "driftgate.cli.entry", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    entries = []  # (depth, package root, self us, cumulative us), children before their parent
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)$", line)
        if m:
            entries.append((len(m.group(3)), m.group(4).split(".")[0], int(m.group(1)), int(m.group(2))))
    budget: dict[str, float] = defaultdict(float)
    for i, (depth, root, own, cumulative) in enumerate(entries):
        parent = next((e[1] for e in entries[i + 1 :] if e[0] < depth), None)
        if root == "driftgate":
            budget[root] += own / 1000
        elif parent in (None, "driftgate"):  # what a library imports counts as that library's
            budget[root] += cumulative / 1000
    return dict(budget)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resources", type=int, default=10000)
    parser.add_argument("--ledger", type=int, default=5000, help="the smaller ledger for runs show")
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="driftgate-bench-startup-"))
    env = {**os.environ, "DRIFTGATE_HOME": str(work / "home"), "NO_COLOR": "1"}
    try:
        print(f"preparing: {opts.resources} and {opts.ledger} applied resources (not timed) ...", flush=True)
        big = applied_stack(work / "big", opts.resources, env)
        small = applied_stack(work / "small", opts.ledger, env)
        rows: list[tuple[str, float, str]] = []

        def measure(name: str, argv: list[str], target: str = "") -> None:
            seconds = wall(argv, env=env, cwd=work, repeat=opts.repeat)
            rows.append((name, seconds, target))
            print(f"  {name:<34} {seconds:7.3f} s  {target}", flush=True)

        measure("python -c pass (interpreter floor)", [sys.executable, "-c", "pass"], "baseline")
        if shutil.which("terraform"):
            measure("terraform version", ["terraform", "version"], "baseline")
        measure("driftgate version", [DRIFTGATE, "version"], "< 0.1 s")
        measure("driftgate --version", [DRIFTGATE, "--version"], "< 0.1 s")
        measure("driftgate --help", [DRIFTGATE, "--help"], "< 0.1 s")
        measure(
            f"state list {opts.resources}", [DRIFTGATE, "state", "list", "-s", str(work / "big")], "< 0.5 s"
        )
        measure(f"runs show {opts.ledger}", [DRIFTGATE, "runs", "show", small], "< 0.5 s")
        measure(f"runs show {opts.resources}", [DRIFTGATE, "runs", "show", big], "< 0.5 s")

        budgets = {
            "version": import_budget(["version"], env=env, cwd=work),
            "--help": import_budget(["--help"], env=env, cwd=work),
            "state list": import_budget(["state", "list", "-s", str(work / "big")], env=env, cwd=work),
        }
        report(rows, budgets)
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (out / f"startup-{stamp}.json").write_text(
            json.dumps({"timings": rows, "import_budget_ms": budgets}, indent=1)
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(rows: list[tuple[str, float, str]], budgets: dict[str, dict[str, float]]) -> None:
    floor = rows[0][1]
    print("\n| command (stdout piped) | seconds | over the interpreter floor | target | before issue 9 |")
    print("|---|---|---|---|---|")
    for name, seconds, target in rows:
        before = next((f"{v} s" for k, v in BEFORE_ISSUE_9.items() if name.startswith(k)), "")
        print(f"| {name} | {seconds:.3f} | +{seconds - floor:.3f} | {target} | {before} |")
    packages = sorted(
        {p for b in budgets.values() for p in b}, key=lambda p: -max(b.get(p, 0) for b in budgets.values())
    )
    shown = [p for p in packages if max(b.get(p, 0) for b in budgets.values()) >= 5][:12]
    print("\nimport budget, ms (python -X importtime, top-level imports; importtime itself adds overhead)")
    print("| package | " + " | ".join(budgets) + " |")
    print("|---|" + "---|" * len(budgets))
    for package in shown:
        print(f"| {package} | " + " | ".join(f"{b.get(package, 0):.0f}" for b in budgets.values()) + " |")
    print("| all imports | " + " | ".join(f"{sum(b.values()):.0f}" for b in budgets.values()) + " |")


if __name__ == "__main__":
    main()
