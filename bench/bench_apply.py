"""Benchmark: driftgate (data.value) against Terraform (terraform_data), same counts, same run.

    .venv/bin/python bench/bench_apply.py            # N = 1k, 10k, 50k; Terraform at 1k
    .venv/bin/python bench/bench_apply.py --sizes 1000 10000 --terraform-max 5000

Every figure is a whole CLI process, wall clock, as a user would run it (store or
`terraform init` prepared first and not timed). Peak memory is the child's max RSS.
Results also go to bench/results/apply-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from driftgate.testing.stacks import fast_write_module, write_stack  # noqa: E402

DRIFTGATE = str(Path(sys.executable).parent / "driftgate")
PER_MODULE = 1000
TARGETS = {
    "create 1k vs terraform": "driftgate >= 20x faster",
    "create 10k": "< 10 s",
    "no-change plan 10k": "< 2 s, peak RSS < 500 MB",
    "1% change 10k": "plan + apply < 3 s",
    "growth": "linear in N",
}


@dataclass
class Timing:
    seconds: float
    max_rss_mb: float
    code: int


def timed(argv: list[str], *, cwd: Path, env: dict[str, str]) -> Timing:
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code not in (0, 2):
        raise SystemExit(f"{' '.join(argv)} failed ({code}): {stderr[-2000:]}")
    return Timing(elapsed, usage.ru_maxrss / 1024, code)


# What every driftgate process pays before it does anything: importing its libraries (the
# postgres provider adds psycopg).
STARTUP = ("sqlalchemy", "typer", "pydantic", "yaml")


def startup_floor(cwd: Path, env: dict[str, str], *extra: str) -> float:
    """This machine's Python importing driftgate's libraries, alone: the floor under any CLI call."""
    return timed([sys.executable, "-c", "import " + ", ".join((*STARTUP, *extra))], cwd=cwd, env=env).seconds


def driftgate_stack(directory: Path, count: int, *, value: str = "x", changed: int = 0) -> None:
    write_stack(directory, modules={}, providers={"data": {}})
    for m in range((count + PER_MODULE - 1) // PER_MODULE):
        resources = []
        for i in range(m * PER_MODULE, min(count, (m + 1) * PER_MODULE)):
            text = f"{value}-{i}" if i >= changed else f"changed-{i}"
            resources.append({"type": "data.value", "name": f"r{i}", "spec": {"input": text}})
        fast_write_module(directory / "modules" / f"m{m}.yaml", f"m{m}", resources)


def bench_driftgate(count: int, work: Path) -> dict[str, float]:
    stack = work / f"dg-{count}"
    env = {**os.environ, "DRIFTGATE_HOME": str(work / f"dg-home-{count}")}
    driftgate_stack(stack, count)
    timed([DRIFTGATE, "runs", "list"], cwd=work, env=env)  # create the store (like terraform init)
    create = timed([DRIFTGATE, "apply", "-s", str(stack), "--auto-approve"], cwd=work, env=env)
    plan = timed([DRIFTGATE, "plan", "-s", str(stack)], cwd=work, env=env)
    assert plan.code == 0, "a no-change plan must exit 0"
    driftgate_stack(stack, count, changed=count // 100)
    change_plan = timed([DRIFTGATE, "plan", "-s", str(stack)], cwd=work, env=env)
    change_apply = timed([DRIFTGATE, "apply", "-s", str(stack), "--auto-approve"], cwd=work, env=env)
    return {
        "create_s": create.seconds,
        "engine_create_s": engine_create(count, work),
        "noop_plan_s": plan.seconds,
        "noop_plan_rss_mb": plan.max_rss_mb,
        "change1pct_plan_s": change_plan.seconds,
        "change1pct_apply_s": change_apply.seconds,
    }


def engine_create(count: int, work: Path) -> float:
    """Plan + apply of a fresh create inside one process, after imports: the engine without startup."""
    from driftgate.config import Settings
    from driftgate.services.stacks.session import apply_session
    from driftgate.services.workspace import Workspace

    stack = work / f"engine-{count}"
    driftgate_stack(stack, count)
    ws = Workspace.open(Settings(home=work / f"engine-home-{count}"))
    try:
        started = time.perf_counter()
        with apply_session(ws, stack) as session:
            report = session.execute()
        elapsed = time.perf_counter() - started
        assert report.full_success
        return elapsed
    finally:
        ws.close()


def terraform_project(count: int, work: Path) -> tuple[str, Path, dict[str, str]] | None:
    """An initialised Terraform project with ``count`` terraform_data resources (None: no terraform)."""
    terraform = shutil.which("terraform")
    if terraform is None:
        return None
    directory = work / f"tf-{count}"
    directory.mkdir()
    (directory / "main.tf").write_text(
        f'resource "terraform_data" "r" {{\n  count = {count}\n  input = "x-${{count.index}}"\n}}\n'
    )
    env = {
        **os.environ,
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
        "TF_CLI_CONFIG_FILE": os.devnull,
    }
    timed([terraform, "init", "-no-color"], cwd=directory, env=env)
    return terraform, directory, env


def bench_terraform(count: int, work: Path) -> dict[str, float] | None:
    project = terraform_project(count, work)
    if project is None:
        return None
    terraform, directory, env = project
    create = timed([terraform, "apply", "-auto-approve", "-no-color"], cwd=directory, env=env)
    plan = timed([terraform, "plan", "-detailed-exitcode", "-no-color"], cwd=directory, env=env)
    return {"create_s": create.seconds, "noop_plan_s": plan.seconds, "noop_plan_rss_mb": plan.max_rss_mb}


def terraform_version() -> str:
    terraform = shutil.which("terraform")
    if terraform is None:
        return "not on PATH"
    out = subprocess.run([terraform, "version"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0] if out else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--terraform-max", type=int, default=1000, help="largest N to run Terraform at")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="driftgate-bench-"))
    results: dict[str, dict[str, object]] = {}
    try:
        for count in args.sizes:
            print(f"N={count}: driftgate…", flush=True)
            row: dict[str, object] = {"driftgate": bench_driftgate(count, work)}
            if count <= args.terraform_max:
                print(f"N={count}: terraform…", flush=True)
                row["terraform"] = bench_terraform(count, work)
            results[str(count)] = row
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (out_dir / f"apply-{stamp}.json").write_text(
        json.dumps({"terraform": terraform_version(), "results": results}, indent=2)
    )


def report(results: dict[str, dict[str, object]]) -> None:
    print(f"\nterraform: {terraform_version()}")
    header = (
        f"{'N':>7} | {'tool':<9} | {'create':>8} | {'no-op plan':>10} | {'plan RSS':>9} | "
        f"{'1% plan':>8} | {'1% apply':>8}"
    )
    print(header)
    print("-" * len(header))
    for n, row in results.items():
        for tool in ("driftgate", "terraform"):
            data = row.get(tool)
            if not isinstance(data, dict):
                continue
            cells = [
                f"{data.get(k, float('nan')):8.2f}s" if k in data else f"{'-':>9}"
                for k in ("create_s", "noop_plan_s")
            ]
            rss = f"{data['noop_plan_rss_mb']:7.0f}MB"
            extra = [
                f"{data[k]:7.2f}s" if k in data else f"{'-':>8}"
                for k in ("change1pct_plan_s", "change1pct_apply_s")
            ]
            print(
                f"{n:>7} | {tool:<9} | {cells[0]} | {cells[1]:>10} | {rss:>9} | {extra[0]:>8} | {extra[1]:>8}"
            )
    for n, row in results.items():
        dg, tf = row.get("driftgate"), row.get("terraform")
        if isinstance(dg, dict):
            print(f"N={n}: driftgate engine create (in-process, after imports): {dg['engine_create_s']:.2f}s")
        if isinstance(dg, dict) and isinstance(tf, dict):
            print(
                f"N={n}: create {tf['create_s'] / dg['create_s']:.1f}x faster than terraform (processes), "
                f"{tf['create_s'] / dg['engine_create_s']:.1f}x on engine time; "
                f"no-op plan {tf['noop_plan_s'] / dg['noop_plan_s']:.1f}x faster"
            )
    sizes = sorted(int(n) for n in results)
    if len(sizes) > 1:
        first, last = sizes[0], sizes[-1]
        a = results[str(first)]["driftgate"]
        b = results[str(last)]["driftgate"]
        assert isinstance(a, dict) and isinstance(b, dict)
        print(
            f"growth {first}->{last} (x{last // first}): create x{b['create_s'] / a['create_s']:.1f}, "
            f"no-op plan x{b['noop_plan_s'] / a['noop_plan_s']:.1f}"
        )
    print("targets: " + "; ".join(f"{k}: {v}" for k, v in TARGETS.items()))


if __name__ == "__main__":
    main()
