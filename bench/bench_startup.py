"""Benchmark: the CLI's start-up and its listing commands, whole processes, with the import budget.

    .venv/bin/python bench/bench_startup.py                  # state list of 10k, runs show of 5k and 10k
    .venv/bin/python bench/bench_startup.py --before f7a7250 # and the same for the code before issue 9
    .venv/bin/python bench/bench_startup.py --resources 2000 --repeat 3

Every figure is the median wall clock of whole `driftgate` processes with stdout piped (as a script
reads them), the store prepared first and not timed. Baselines measured in the same run: with
``--before REV``, the same commands run by that revision (from a git worktree, its own store); the
bare interpreter (`python -c pass`, the floor of any Python CLI); `terraform version` (when
terraform is on PATH). The import budget (`python -X importtime`) shows which libraries each command loads
and what they cost. Results also go to bench/results/startup-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import math
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


def wall(argv: list[str], *, env: dict[str, str], cwd: Path, repeat: int, strict: bool = True) -> float:
    """Median seconds; a command that fails is an error, or NaN when not ``strict`` (an older
    revision may not have it)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
        if proc.returncode not in (0, 2):
            if not strict:
                return math.nan
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.decode()[-1000:]}")
    return statistics.median(times)


class Cli:
    """One driftgate to measure: this checkout's executable, or an older revision run from a git
    worktree (``python -m driftgate.cli.app`` with that worktree's sources first on the path)."""

    def __init__(self, work: Path, src: Path | None = None) -> None:
        self.home = work / "home"
        self.env = {**os.environ, "DRIFTGATE_HOME": str(self.home), "NO_COLOR": "1"}
        if src is None:
            self.argv = [DRIFTGATE]
        else:
            self.env["PYTHONPATH"] = str(src)
            self.argv = [sys.executable, "-m", "driftgate.cli.app"]

    def __call__(self, *args: str) -> list[str]:
        return [*self.argv, *args]


def applied_stack(directory: Path, count: int, cli: Cli) -> str:
    """A stack of ``count`` data.value resources, applied once by ``cli``; the run's id."""
    write_stack(directory, name=directory.name, modules={}, providers={"data": {}})
    for start in range(0, count, 1000):
        resources = [
            {"type": "data.value", "name": f"v{i}", "spec": {"input": f"x-{i}"}}
            for i in range(start, min(start + 1000, count))
        ]
        fast_write_module(directory / "modules" / f"m{start // 1000}.yaml", f"m{start // 1000}", resources)
    apply = cli("apply", "-s", str(directory), "--auto-approve", "--no-commit-back")
    subprocess.run(apply, env=cli.env, check=True, stdout=subprocess.DEVNULL)
    listed = subprocess.run(
        cli("runs", "list", "--json"), env=cli.env, check=True, capture_output=True, text=True
    )
    runs = json.loads(listed.stdout)
    runs = runs["runs"] if isinstance(runs, dict) else runs  # before issue 9, a bare list
    return str(next(r["id"] for r in runs if r["stack"] == directory.name))


def worktree(rev: str, into: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(into), rev], check=True)
    return into / "src"


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
    parser.add_argument(
        "--before", metavar="REV", help="also measure this git revision (e.g. f7a7250, before issue 9)"
    )
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="driftgate-bench-startup-"))
    clis = {"now": Cli(work / "now")}
    try:
        if opts.before:
            clis[opts.before] = Cli(work / "before", worktree(opts.before, work / "before-src"))
        measured: dict[str, dict[str, float]] = {}
        for label, cli in clis.items():
            print(
                f"{label}: preparing {opts.resources} and {opts.ledger} applied resources (not timed)",
                flush=True,
            )
            root = cli.home.parent
            big = applied_stack(root / "big", opts.resources, cli)
            small = applied_stack(root / "small", opts.ledger, cli)
            commands = {
                "driftgate version": cli("version"),
                "driftgate --version": cli("--version"),
                "driftgate --help": cli("--help"),
                f"state list {opts.resources}": cli("state", "list", "-s", str(root / "big")),
                f"runs show {opts.ledger}": cli("runs", "show", small),
                f"runs show {opts.resources}": cli("runs", "show", big),
            }
            measured[label] = {}
            for name, argv in commands.items():
                seconds = wall(argv, env=cli.env, cwd=root, repeat=opts.repeat, strict=label == "now")
                measured[label][name] = seconds
                print(f"  {name:<24} {measured[label][name]:7.3f} s", flush=True)
        floors = {
            "python -c pass": wall(
                [sys.executable, "-c", "pass"], env=dict(os.environ), cwd=work, repeat=opts.repeat
            )
        }
        if shutil.which("terraform"):
            floors["terraform version"] = wall(
                ["terraform", "version"], env=dict(os.environ), cwd=work, repeat=opts.repeat
            )
        now = clis["now"]
        budgets = {
            "version": import_budget(["version"], env=now.env, cwd=work),
            "--help": import_budget(["--help"], env=now.env, cwd=work),
            "state list": import_budget(
                ["state", "list", "-s", str(work / "now" / "big")], env=now.env, cwd=work
            ),
        }
        report(measured, floors, budgets)
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (out / f"startup-{stamp}.json").write_text(
            json.dumps({"seconds": measured, "baselines": floors, "import_budget_ms": budgets}, indent=1)
        )
    finally:
        if opts.before:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(work / "before-src")],
                check=False,
            )
        shutil.rmtree(work, ignore_errors=True)


def report(
    measured: dict[str, dict[str, float]], floors: dict[str, float], budgets: dict[str, dict[str, float]]
) -> None:
    labels = list(measured)
    print("\n| command (stdout piped), median s | " + " | ".join(labels) + " | target |")
    print("|---|" + "---|" * len(labels) + "---|")
    for name in measured["now"]:
        target = next((f"< {t} s" for k, t in TARGETS.items() if name.startswith(k)), "")
        cells = [
            f"{measured[label][name]:.3f}" if measured[label][name] == measured[label][name] else "—"
            for label in labels
        ]
        if len(labels) > 1 and cells[1] != "—":
            cells[0] += f" ({measured[labels[1]][name] / measured['now'][name]:.1f}x faster)"
        print(f"| {name} | " + " | ".join(cells) + f" | {target} |")
    print("\nbaselines, same run: " + ", ".join(f"{k} {v:.3f} s" for k, v in floors.items()))
    packages = sorted(
        {p for b in budgets.values() for p in b}, key=lambda p: -max(b.get(p, 0) for b in budgets.values())
    )
    shown = [p for p in packages if max(b.get(p, 0) for b in budgets.values()) >= 5][:12]
    print(
        "\nimport budget, ms (python -X importtime; a library counts with what it imports; "
        "importtime adds overhead)"
    )
    print("| package | " + " | ".join(budgets) + " |")
    print("|---|" + "---|" * len(budgets))
    for package in shown:
        print(f"| {package} | " + " | ".join(f"{b.get(package, 0):.0f}" for b in budgets.values()) + " |")
    print("| all imports | " + " | ".join(f"{sum(b.values()):.0f}" for b in budgets.values()) + " |")


if __name__ == "__main__":
    main()
