"""``driftgate quickstart``: the main job end to end, on embedded defaults.

It is a straight list of steps sharing one context, so later loops (commit-back,
drift) add steps without reshaping it. Each step says what it did in plain words
through the ``Narrator`` the edge supplies.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from driftgate.demo.scaffold import scaffold_repo
from driftgate.errors import DriftgateError
from driftgate.gitops.gitcmd import add_remote, commit_all, init_repo, push
from driftgate.plan.model import Plan
from driftgate.services.stacks.apply import ApplyRequest, apply_stack
from driftgate.services.stacks.commitback import CommitBackResult
from driftgate.services.stacks.identity import move_stack
from driftgate.services.stacks.session import ApplyReport, plan_stack
from driftgate.services.workspace import Workspace


class Narrator(Protocol):
    def say(self, text: str) -> None: ...
    def plan(self, plan: Plan) -> None: ...
    def result(self, report: ApplyReport) -> None: ...


@dataclass
class QuickstartContext:
    ws: Workspace
    workdir: Path
    narrator: Narrator
    reports: list[ApplyReport] = field(default_factory=list)
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    forge_url: str = ""

    @property
    def repo(self) -> Path:
        return self.workdir / "infra"

    @property
    def remote(self) -> Path:
        return self.workdir / "remote.git"


Step = Callable[[QuickstartContext], None]


def create_repo(ctx: QuickstartContext) -> None:
    init_repo(ctx.remote, bare=True)
    scaffold_repo(ctx.repo, name="quickstart")
    add_remote(ctx.repo, "origin", str(ctx.remote))
    push(ctx.repo, "origin", "main")
    ctx.narrator.say(
        f"1. Created a config repo at {ctx.repo} with one stack (stack.yaml, modules/app.yaml, "
        f"modules/config.yaml) and pushed it to a local bare remote at {ctx.remote}."
    )


def validate(ctx: QuickstartContext) -> None:
    stack = ctx.ws.load_stack(ctx.repo)
    ctx.narrator.say(
        f"2. Validated the specs: {len(stack.modules)} modules, "
        f"{len(stack.resources)} resources, no problems."
    )


def _plan_and_apply(ctx: QuickstartContext, number: int, why: str) -> None:
    def narrate(plan: Plan) -> None:
        counts = plan.counts()
        ctx.narrator.say(
            f"{number}. Planned {why}: {counts['create']} to create, {counts['update']} to update, "
            f"{counts['replace']} to replace, {counts['delete']} to delete, {counts['noop']} unchanged."
        )
        ctx.narrator.plan(plan)

    report, result = _apply(ctx, ctx.repo, on_plan=narrate)
    verdict = "every action succeeded" if report.full_success else "NOT every action succeeded"
    ctx.narrator.say(
        f"{number + 1}. Applied it as run {report.run_id}: {verdict}. "
        "The ledger records one outcome per action:"
    )
    ctx.narrator.result(report)
    if result.reason == "no-changes":
        ctx.narrator.say("   Commit-back: git already matches what was applied (these specs came from git).")
    elif result.state_diverged:
        raise DriftgateError(f"commit-back diverged: {result.reason}")


def _apply(
    ctx: QuickstartContext, directory: Path, on_plan: Callable[[Plan], None] | None = None
) -> tuple[ApplyReport, CommitBackResult]:
    """Apply through the manual lane and commit back, as `driftgate apply --auto-approve` does."""
    outcome = apply_stack(ctx.ws, ApplyRequest(directory, skip_no_changes=False), on_plan=on_plan)
    assert outcome.report is not None and outcome.commit_back is not None
    ctx.reports.append(outcome.report)
    return outcome.report, outcome.commit_back


def first_apply(ctx: QuickstartContext) -> None:
    _plan_and_apply(ctx, 3, "the new stack")
    live = ctx.repo / "live" / "site" / "index.html"
    ctx.narrator.say(f"   The file provider wrote {live}: {live.read_text().strip()!r}")


def change_spec(ctx: QuickstartContext) -> None:
    app = ctx.repo / "modules" / "app.yaml"
    app.write_text(app.read_text().replace("hello from driftgate", "hello again, from git"))
    commit_all(ctx.repo, "Change the greeting")
    push(ctx.repo, "origin", "main")
    ctx.narrator.say("5. Changed the greeting in modules/app.yaml, committed and pushed it.")


def second_apply(ctx: QuickstartContext) -> None:
    _plan_and_apply(ctx, 6, "again: the greeting changes, and so does everything that references it")
    planned = plan_stack(ctx.ws, ctx.repo)
    state = "in sync" if not planned.plan.has_changes else "NOT in sync"
    ctx.narrator.say(
        f"8. Planned once more: live state is {state} with git (exit code {planned.plan.exit_code()})."
    )


def start_forge(ctx: QuickstartContext) -> None:
    from driftgate.localforge import LocalForge

    token = "ghp_" + secrets.token_hex(18)
    secrets_dir = ctx.ws.settings.effective_secrets_dir
    secrets_dir.mkdir(parents=True, exist_ok=True)
    token_file = secrets_dir / "forge-token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    forge = LocalForge(ctx.workdir / "forge", token=token)
    forge.start()
    ctx.cleanups.append(forge.stop)
    files = {
        str(p.relative_to(ctx.repo)): p.read_text()
        for p in ctx.repo.rglob("*")
        if p.is_file() and ".git" not in p.parts and "live" not in p.parts
    }
    ctx.forge_url = forge.create_repo("infra", files)
    ctx.narrator.say(
        f"9. Started a local forge (a GitHub stand-in) at {forge.base} and put the config repo on it as "
        f"{ctx.forge_url}. Its token is in {token_file}; git gets it only through its environment."
    )


def hotfix_from_outside_git(ctx: QuickstartContext) -> None:
    hotfix = ctx.workdir / "hotfix"
    shutil.copytree(ctx.repo, hotfix, ignore=shutil.ignore_patterns(".git", "live"))
    (hotfix / "live").symlink_to(ctx.repo / "live", target_is_directory=True)
    app = hotfix / "modules" / "app.yaml"
    app.write_text(app.read_text().replace("hello again, from git", "hello from a hotfix"))
    stack = hotfix / "stack.yaml"
    stack.write_text(
        stack.read_text()
        + "commit_back:\n  target: pull-request\n"
        + f"  remote: {ctx.forge_url}\n  branch: main\n  path: .\n  auth: secret://file/forge-token\n"
    )
    _, old, new = move_stack(ctx.ws, ctx.ws.load_stack(hotfix))
    ctx.narrator.say(
        f"10. Someone applies a hotfix that is not in git: a copy of the stack at {hotfix} with a new "
        "greeting (`driftgate apply --from`). Commit-back will make git match, as a pull request. The config "
        f"repo now lives on the forge, so the stack's state was moved there on purpose ({old} -> {new}, "
        "`driftgate state move-stack`): the same stack name from any other place is refused."
    )
    report, result = _apply(ctx, hotfix)
    if not result.pr_url:
        raise DriftgateError(f"commit-back did not open a pull request: {result.reason}")
    ctx.narrator.say(
        f"11. Applied it (run {report.run_id}), then committed the authored specs back: pull request "
        f"{result.pr_url} from branch {result.branch} into main. Merging it makes git match the live state; "
        "main was not touched and nothing was force-pushed."
    )


def drift_by_hand(ctx: QuickstartContext) -> None:
    from driftgate.services.drift.scan import scan_drift

    page = ctx.repo / "live" / "site" / "index.html"
    page.write_text("<h1>edited by hand on the server</h1>\n")
    report = scan_drift(ctx.ws, ctx.workdir / "hotfix")
    lines = [f"{i.address}: {i.kind} ({', '.join(c.name for c in i.changes)})" for i in report.items]
    ctx.narrator.say(
        f"12. Someone edited {page} by hand. `driftgate drift` compares live state with what was recorded: "
        f"{len(report.items)} drifted (exit code {report.exit_code()}): " + "; ".join(lines)
    )


def reconcile_to_draft_pr(ctx: QuickstartContext) -> None:
    from driftgate.services.drift.reconcile import reconcile

    _, result = reconcile(ctx.ws, ctx.workdir / "hotfix")
    if not result.draft:
        raise DriftgateError(f"reconcile produced no draft: {result.reason}")
    ctx.narrator.say(
        f"13. `driftgate reconcile` imported the live state into an approximate snapshot and opened a DRAFT "
        f"pull request {result.pr_url} from {result.branch}. Every snapshot file starts with: "
        f"# {result.warning}. Secrets are never imported; nothing was applied over the drift."
    )


def gate_holds_back_stateful(ctx: QuickstartContext) -> None:
    from driftgate.gate.decision import GateRequest

    hotfix = ctx.workdir / "hotfix"
    (hotfix / "modules" / "db.yaml").write_text(STATEFUL_MODULE)
    request = ApplyRequest(hotfix, gate=GateRequest("auto"), commit_back=False, skip_no_changes=False)
    outcome = apply_stack(ctx.ws, request)
    decision, report = outcome.decision, outcome.report
    assert report is not None
    ctx.reports.append(report)
    held = "; ".join(decision.blocked.values())
    ctx.narrator.say(
        f"14. A stateful module 'db' was added. An auto-lane apply (what CI or a schedule runs) applied the "
        f"stateless changes and held the stateful module back: {held}. `driftgate apply --lane auto` exits 4 "
        "here. A person applies it with --module db --allow-stateful --confirm db and --backup-ref naming a "
        "verified backup (`driftgate backup create db`)."
    )


def postgres_roles(ctx: QuickstartContext) -> None:
    """A real PostgreSQL server, when one answers: a role and a database made, read back in sync,
    a change by hand found as drift, then all of it removed. Skipped, saying so, when none answers."""
    import os
    import uuid

    from psycopg import sql

    from driftgate.providers.base import ProviderContext
    from driftgate.providers.postgres import PostgresProvider

    url = os.environ.get("DRIFTGATE_QUICKSTART_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    provider = PostgresProvider()
    provider.configure({"dsn": url}, ProviderContext(stack_dir=ctx.workdir))
    name = f"quickstart_{uuid.uuid4().hex[:8]}"
    kinds = provider.kinds()
    role = kinds["postgres.role"].with_defaults({"name": name, "login": True, "connection_limit": 3})
    database = kinds["postgres.database"].with_defaults({"name": name, "owner": name})
    try:
        provider.read_many([("postgres.role", {"name": name}, {})])
    except DriftgateError:
        provider.close()
        ctx.narrator.say(
            "15. PostgreSQL step: skipped — no server answered (set DRIFTGATE_QUICKSTART_POSTGRES_URL to one "
            "where driftgate may create and drop a role and a database)."
        )
        return
    outputs: dict[str, object] = {}
    try:
        outputs = provider.create("postgres.role", name, role)
        provider.create("postgres.database", name, database)
        live = provider.read("postgres.role", role, outputs)
        in_sync = live is not None and provider.diff("postgres.role", live.attributes, role) == []
        provider.pg.get().execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT 9").format(sql.Identifier(name)))
        live = provider.read("postgres.role", role, outputs)
        drifted = provider.diff("postgres.role", live.attributes, role) if live is not None else []
    finally:
        provider.delete("postgres.database", database, {})
        provider.delete("postgres.role", role, outputs)
        provider.close()
    found = "in sync" if in_sync else "NOT in sync"
    ctx.narrator.say(
        f"15. PostgreSQL: the postgres provider created role and database {name!r} on the server it "
        f"found, read them back {found}, saw a change made by hand ({', '.join(drifted)}), and removed "
        "both. A stack of roles, databases, schemas and grants works the same (README: postgres)."
    )


AWS_STACK = """\
apiVersion: driftgate/v1
kind: Stack
name: aws-quickstart
providers:
  aws:
    plugin: {plugin}
    version: ">=0.1"
    config:
      region: eu-west-1
      endpoint_url: {endpoint}
      access_key_id: secret://file/aws-key-id
      secret_access_key: secret://file/aws-secret
modules: [modules]
"""
AWS_QUEUES = """\
apiVersion: driftgate/v1
kind: Module
name: queues
resources:
  - type: aws.sqs_queue
    name: dead
    spec: {name: orders-dead}
  - type: aws.sqs_queue
    name: orders
    spec:
      name: orders
      visibility_timeout: 60
      redrive_policy:
        dead_letter_target_arn: ${aws.sqs_queue.dead.arn}
        max_receive_count: 5
"""


def aws_on_moto(ctx: QuickstartContext) -> None:
    """The AWS provider plugin, out of process, against moto's server over HTTP, when moto is
    installed: two queues wired by an output reference, applied, then a change by hand found as
    drift. Skipped, saying so, when moto or the plugin is not installed."""
    import importlib.util
    import logging
    import socket
    import sys
    import urllib.request

    plugin = Path(sys.executable).parent / "driftgate-provider-aws"
    if importlib.util.find_spec("moto") is None or not plugin.exists():
        ctx.narrator.say(
            "16. AWS step: skipped — moto is not installed (`./scripts/venv test` installs it with the "
            "AWS plugin, driftgate-provider-aws; then this step runs the plugin against moto's server)."
        )
        return
    import boto3
    from moto.server import ThreadedMotoServer

    from driftgate.services.drift.scan import scan_drift

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    ctx.cleanups.append(server.stop)
    endpoint = f"http://127.0.0.1:{port}"
    reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=10).close()  # moto's state lives in this process: start empty
    key_id, secret = "AKIA" + secrets.token_hex(8).upper(), secrets.token_urlsafe(24)
    secrets_dir = ctx.ws.settings.effective_secrets_dir
    secrets_dir.mkdir(parents=True, exist_ok=True)
    for name, value in (("aws-key-id", key_id), ("aws-secret", secret)):
        (secrets_dir / name).write_text(value + "\n")
        (secrets_dir / name).chmod(0o600)
    stack = ctx.workdir / "aws"
    (stack / "modules").mkdir(parents=True)
    (stack / "stack.yaml").write_text(AWS_STACK.format(plugin=plugin, endpoint=endpoint))
    (stack / "modules" / "queues.yaml").write_text(AWS_QUEUES)
    outcome = apply_stack(ctx.ws, ApplyRequest(stack, commit_back=False, skip_no_changes=False))
    assert outcome.report is not None
    ctx.reports.append(outcome.report)
    verdict = "every action succeeded" if outcome.report.full_success else "NOT every action succeeded"
    sqs = boto3.client(
        "sqs",
        region_name="eu-west-1",
        endpoint_url=endpoint,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )
    url = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "5"})
    report = scan_drift(ctx.ws, stack)
    lines = [f"{i.address}: {i.kind} ({', '.join(c.name for c in i.changes)})" for i in report.items]
    ctx.narrator.say(
        f"16. AWS: the driftgate-provider-aws plugin, in its own process, created two SQS queues on moto's "
        f"server at {endpoint} (the dead-letter queue's ARN wired into the other's redrive policy by an "
        f"output reference): {verdict}. A visibility timeout changed by hand shows as drift: "
        + "; ".join(lines)
        + ". Buckets, parameters, IAM roles and policies, DynamoDB tables work the same (README: AWS)."
    )


TF_STACK = """\
apiVersion: driftgate/v1
kind: Stack
name: terraform-quickstart
providers:
  terraform: {{binary: {binary}}}
modules: [modules]
"""
TF_MODULE = """\
apiVersion: driftgate/v1
kind: Module
name: net
resources:
  - type: terraform.root
    name: network
    spec:
      dir: network
      vars: {greeting: hello from terraform}
"""
TF_ROOT = """\
variable "greeting" { type = string }
resource "terraform_data" "vpc" { input = var.greeting }
resource "terraform_data" "subnet" { input = "${terraform_data.vpc.output}: subnet" }
output "subnet" { value = terraform_data.subnet.output }
"""


def terraform_root(ctx: QuickstartContext) -> None:
    """A Terraform root module through the terraform provider, when ``terraform`` is on PATH: each
    Terraform change an action of the ledger. Skipped, saying so, otherwise."""
    binary = shutil.which("terraform") or shutil.which("tofu")
    if binary is None:
        ctx.narrator.say(
            "17. Terraform step: skipped — neither terraform nor tofu is on PATH (no package registry "
            "ships them; install one to see a root module driven by driftgate)."
        )
        return
    stack = ctx.workdir / "terraform"
    (stack / "modules").mkdir(parents=True)
    (stack / "network").mkdir()
    (stack / "stack.yaml").write_text(TF_STACK.format(binary=binary))
    (stack / "modules" / "net.yaml").write_text(TF_MODULE)
    (stack / "network" / "main.tf").write_text(TF_ROOT)
    outcome = apply_stack(ctx.ws, ApplyRequest(stack, commit_back=False, skip_no_changes=False))
    report = outcome.report
    assert report is not None
    ctx.reports.append(report)
    lines = [f"{o.address} {o.status.value}" for o in report.result.actions]
    again = plan_stack(ctx.ws, stack).plan
    ctx.narrator.say(
        f"17. Terraform: the terraform provider planned the root module at {stack / 'network'} with "
        f"{Path(binary).name} and applied it; every Terraform change is an action of the ledger: "
        + "; ".join(lines)
        + f". Planned again: {'in sync' if not again.has_changes else 'NOT in sync'} (README: Terraform)."
    )


STATEFUL_MODULE = """\
apiVersion: driftgate/v1
kind: Module
name: db
stateful: true
resources:
  - type: data.value
    name: schema
    spec:
      input: {tables: [users, orders]}
"""


def back_home(ctx: QuickstartContext) -> None:
    """The local forge stops with the quickstart: the stack's identity goes back to the local clone,
    so every command printed at the end works there as printed."""
    if not ctx.forge_url:
        return
    _, old, new = move_stack(ctx.ws, ctx.ws.load_stack(ctx.repo))
    ctx.narrator.say(
        "The local forge stops with the quickstart, so the stack was moved back to the local clone on "
        f"purpose ({old} -> {new}); commands run in {ctx.repo} now use it."
    )


STEPS: list[Step] = [
    create_repo,
    validate,
    first_apply,
    change_spec,
    second_apply,
    start_forge,
    hotfix_from_outside_git,
    drift_by_hand,
    reconcile_to_draft_pr,
    gate_holds_back_stateful,
    postgres_roles,
    aws_on_moto,
    terraform_root,
    back_home,
]


def prepare_workdir(workdir: Path) -> None:
    if workdir.exists() and any(workdir.iterdir()):
        raise DriftgateError(f"{workdir}: directory is not empty; choose a new or empty directory")
    workdir.mkdir(parents=True, exist_ok=True)


def run_quickstart(ws: Workspace, workdir: Path, narrator: Narrator, steps: list[Step] | None = None) -> bool:
    """Run every step in a prepared workdir; True when every apply was a full success."""
    ctx = QuickstartContext(ws=ws, workdir=workdir, narrator=narrator)
    try:
        for step in steps or STEPS:
            step(ctx)
    finally:
        for cleanup in reversed(ctx.cleanups):
            cleanup()
    return all(r.full_success for r in ctx.reports)
