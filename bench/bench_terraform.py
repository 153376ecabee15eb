"""Benchmark: a Terraform root of 1,000 ``terraform_data`` resources through driftgate's terraform
provider against raw ``terraform plan``/``apply`` of the same root, in the same run.

    .venv/bin/python bench/bench_terraform.py [--count 1000] [--binary terraform]

driftgate's plan is `driftgate plan` (init cached, plan -out, show -json, 1,000 child actions);
its apply is `driftgate apply --auto-approve` (a fresh plan, then apply -json read as it
streams, state pull for outputs); raw is `terraform plan -out` and `terraform apply PLANFILE` in a
copy of the root. Then a change applied from a saved plan on both sides: `driftgate apply PLANFILE`
(the state checked fresh, Terraform's own plan file applied: no second plan) against
`terraform apply PLANFILE`. Target: driftgate's overhead at most 10% + 0.5 s of the raw figure.
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

from bench_apply import DRIFTGATE, startup_floor, timed  # noqa: E402
from driftgate.testing.stacks import write_stack  # noqa: E402

TARGET = "driftgate <= raw terraform x 1.10 + 0.5 s"


def root_source(count: int, greeting: str) -> str:
    return "".join(
        f'resource "terraform_data" "r{i}" {{\n  input = "{greeting}-{i}"\n}}\n' for i in range(count)
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--binary", default=shutil.which("terraform") or "terraform")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="driftgate-bench-tf-"))
    clean = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
        "TF_INPUT": "0",
        "TF_CLI_CONFIG_FILE": "",
    }
    env = {**os.environ, "DRIFTGATE_HOME": str(work / "home")}
    try:
        raw = work / "raw"
        raw.mkdir()
        (raw / "main.tf").write_text(root_source(args.count, "one"))
        assert timed([args.binary, "init", "-input=false"], cwd=raw, env=clean).code == 0
        raw_plan = timed([args.binary, "plan", "-input=false", "-out=p.tfplan"], cwd=raw, env=clean)
        raw_apply = timed([args.binary, "apply", "-input=false", "p.tfplan"], cwd=raw, env=clean)
        assert raw_apply.code == 0, "raw terraform apply failed"

        resource = {"type": "terraform.root", "name": "big", "spec": {"dir": "root"}}
        stack = write_stack(
            work / "stack",
            name="tf",
            modules={"net": [resource]},
            providers={"terraform": {"binary": args.binary}},
        )
        (stack / "root").mkdir()
        (stack / "root" / "main.tf").write_text(root_source(args.count, "one"))
        ours_plan = timed([DRIFTGATE, "plan", "-s", str(stack)], cwd=work, env=env)  # init included, once
        ours_plan = timed([DRIFTGATE, "plan", "-s", str(stack)], cwd=work, env=env)
        assert ours_plan.code == 2, "driftgate's plan should show 1,000 creates"
        ours_apply = timed([DRIFTGATE, "apply", "-s", str(stack), "--auto-approve"], cwd=work, env=env)
        assert ours_apply.code == 0, "driftgate's apply failed"
        # a saved plan: `plan --out` then `apply PLANFILE` applies Terraform's own plan file, no new plan
        (raw / "main.tf").write_text(root_source(args.count, "two"))
        assert timed([args.binary, "plan", "-input=false", "-out=p.tfplan"], cwd=raw, env=clean).code == 0
        raw_saved = timed([args.binary, "apply", "-input=false", "p.tfplan"], cwd=raw, env=clean)
        (stack / "root" / "main.tf").write_text(root_source(args.count, "two"))
        planfile = work / "plan.json"
        saved_plan = timed([DRIFTGATE, "plan", "-s", str(stack), "--out", str(planfile)], cwd=work, env=env)
        assert saved_plan.code == 2, "driftgate's plan should show 1,000 updates"
        ours_saved = timed([DRIFTGATE, "apply", str(planfile), "-s", str(stack)], cwd=work, env=env)
        assert ours_saved.code == 0, "driftgate's apply of a saved plan failed"
        startup = startup_floor(work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def verdict(ours: float, theirs: float) -> str:
        limit = theirs * 1.10 + 0.5
        return f"{ours - theirs:+6.2f} s overhead ({'within' if ours <= limit else 'OVER'} {limit:.2f} s)"

    print(f"\nA Terraform root of {args.count} terraform_data resources ({Path(args.binary).name})")
    print(
        f"  plan : raw {raw_plan.seconds:6.2f} s   driftgate {ours_plan.seconds:6.2f} s   "
        + verdict(ours_plan.seconds, raw_plan.seconds)
    )
    print(
        f"  apply: raw {raw_apply.seconds:6.2f} s   driftgate {ours_apply.seconds:6.2f} s   "
        + verdict(ours_apply.seconds, raw_apply.seconds + raw_plan.seconds)
        + "  (driftgate's apply plans too: compared with raw plan + apply)"
    )
    print(
        f"  apply of a saved plan: raw {raw_saved.seconds:6.2f} s   driftgate {ours_saved.seconds:6.2f} s   "
        + verdict(ours_saved.seconds, raw_saved.seconds)
        + "  (terraform apply PLANFILE against driftgate apply PLANFILE: no plan in either)"
    )
    print(
        f"  (this machine's floor under any driftgate call: Python importing its libraries, {startup:.2f} s)"
    )
    print(f"target: {TARGET}")


if __name__ == "__main__":
    main()
