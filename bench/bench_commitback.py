"""Benchmark: commit-back of 10,000 spec files vs plain `git add -A && git commit && git push`.

    .venv/bin/python bench/bench_commitback.py [--files 10000]

Both push one commit to a local bare remote holding the same starting tree.
driftgate's figure is the commit-back step itself (push seal, clean-base reset,
canonical rendering, writing, add, commit, push), with the stack already loaded.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from driftgate.apply.result import ApplyResult  # noqa: E402
from driftgate.config import Settings  # noqa: E402
from driftgate.plan.model import Plan  # noqa: E402
from driftgate.services.stacks.commitback import Overrides, commit_back, render_stack  # noqa: E402
from driftgate.services.workspace import Workspace  # noqa: E402
from driftgate.testing.gitrepos import git, make_remote  # noqa: E402
from driftgate.testing.stacks import fast_write_module, write_stack  # noqa: E402


def build_stack(directory: Path, files: int) -> None:
    write_stack(directory, name="bench", modules={}, providers={"data": {}})
    for i in range(files):
        resources = [{"type": "data.value", "name": f"v{i}", "spec": {"input": f"value {i}"}}]
        fast_write_module(directory / "modules" / f"m{i:05d}.yaml", f"m{i:05d}", resources)


def plain_git(remote_url: str, tree: dict[str, str], work: Path) -> float:
    git(work.parent, "clone", "-q", remote_url, str(work))
    for rel, text in tree.items():
        path = work / "stacks" / "bench" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    started = time.perf_counter()
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "plain git")
    git(work, "push", "-q", "origin", "HEAD:refs/heads/main")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="driftgate-bench-cb-"))
    try:
        stack_dir = work / "stack"
        build_stack(stack_dir, args.files)
        ws = Workspace.open(Settings(home=work / "home"))
        stack = ws.load_stack(stack_dir)
        tree = render_stack(stack)
        plain_remote = make_remote(work, "plain.git")
        plain = plain_git(plain_remote.url, tree, work / "plain-work")

        remote = make_remote(work, "dg.git")
        plan = Plan(stack="bench", spec_digest="", state_serial=0, refreshed=False, created_at="", actions=())
        result = ApplyResult(actions=(), action_count=0)
        overrides = Overrides(remote=remote.url, branch="main", path="stacks/bench")
        started = time.perf_counter()
        outcome = commit_back(ws, stack, run_id="bench-run", plan=plan, result=result, overrides=overrides)
        driftgate = time.perf_counter() - started
        assert outcome.committed, outcome
        count = subprocess.run(
            ["git", "ls-tree", "-r", "--name-only", "main"],
            cwd=remote.path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.count("\n")
        assert count >= args.files, count
        ws.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.files} spec files, one commit, one push to a local bare remote")
    print(f"  plain git add -A && commit && push : {plain:6.2f} s")
    print(f"  driftgate commit-back              : {driftgate:6.2f} s  ({driftgate / plain:.2f}x plain git)")
    print("  target: within 1.5x of plain git")


if __name__ == "__main__":
    main()
