"""Reconcile: drift → import → approximate snapshot → draft branch or draft PR (or heal, by policy).

Per module, its ``drift`` policy decides: ``pr`` (default) puts the drift into
the draft, ``heal`` re-applies the desired state through the auto lane
(stateless modules only), ``ignore`` leaves it. One drift, one draft: the
draft branch ``driftgate/drift/<stack>`` is continued (new commits, never
forced) and its pull request updated; when the drift is gone, the pull
request says so.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftgate.drift.detect import UNMANAGED, DriftItem, DriftReport
from driftgate.drift.snapshot import render_children, render_module, render_unmanaged
from driftgate.errors import DriftgateError, NotFoundError
from driftgate.gate.decision import GateRequest
from driftgate.gitops.branches import continue_or_start
from driftgate.gitops.clones import cached_checkout
from driftgate.gitops.objects import read_files, resolve
from driftgate.gitops.publish import commit_and_push
from driftgate.gitops.seal import prepare_for_write
from driftgate.services.drift.scan import known_secret_values, scan_drift
from driftgate.services.stacks.commitback import Overrides, Target, no_remote_hint, resolve_target
from driftgate.services.stacks.identity import stack_row
from driftgate.services.workspace import Workspace
from driftgate.spec.model import Stack
from driftgate.store import runs as runs_db
from driftgate.store import stacks as stacks_db
from driftgate.store import states as states_db

WARNING = (
    "imported from live state; approximate; does NOT reconstruct your secret:// refs — review before merge"
)


@dataclass
class ReconcileResult:
    draft: bool
    drifted: int = 0
    warning: str | None = None
    branch: str | None = None
    pr_url: str | None = None
    state_diverged: bool = False
    reason: str | None = None
    commit: str | None = None
    healed: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    resolved_comment: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], False) or k == "draft"}


def drift_branch(stack: Stack) -> str:
    return f"driftgate/drift/{stack.name}"


def reconcile(
    ws: Workspace, directory: Path, *, overrides: Overrides | None = None
) -> tuple[str, ReconcileResult]:
    """Scan, heal or ignore by policy, and publish the rest as a draft. Recorded as a run."""
    run_id = str(uuid.uuid4())
    stack = ws.load_stack(directory)
    report = scan_drift(ws, directory, record=False)  # the reconcile run records the check
    if report.errors:
        result = ReconcileResult(False, reason="drift scan failed: " + "; ".join(report.errors))
        _record(ws, stack, run_id, result, report)
        return run_id, result
    policy = {m.name: m.spec.drift for m in stack.modules}
    to_draft = [i for i in report.items if i.kind == UNMANAGED or policy.get(i.module, "pr") == "pr"]
    ignored = [i.address for i in report.items if policy.get(i.module) == "ignore"]
    heal_modules = sorted({i.module for i in report.items if policy.get(i.module) == "heal"})
    healed = _heal(ws, directory, heal_modules, report) if heal_modules else []
    result = _publish(ws, stack, to_draft, run_id, overrides or Overrides())
    result.healed, result.ignored = healed, ignored
    _record(ws, stack, run_id, result, report)
    return run_id, result


def _heal(ws: Workspace, directory: Path, modules: list[str], report: DriftReport) -> list[str]:
    """Re-apply the desired state of ``heal`` modules through the auto lane (never a stateful one)."""
    from driftgate.services.stacks.apply import ApplyRequest, apply_stack

    request = ApplyRequest(
        directory, gate=GateRequest("auto", tuple(modules)), commit_back=False, skip_no_changes=False
    )
    applied = apply_stack(ws, request).report
    assert applied is not None
    healed = {o.address for o in applied.result.actions if o.status.value == "SUCCESS" and o.action != "noop"}
    return sorted(i.address for i in report.items if i.address in healed)


def _files(stack: Stack, items: list[DriftItem], ws: Workspace, run_id: str) -> dict[str, str]:
    when = datetime.now(UTC).isoformat(timespec="seconds")
    registry = ws.registry_for(stack.directory)  # plugin kinds too
    schemas = {t: s for t in {i.type for i in items} if (s := registry.kind(t)) is not None}
    by_module: dict[str, list[DriftItem]] = defaultdict(list)
    for item in items:
        by_module[item.module].append(item)
    files: dict[str, str] = {}
    with ws.transaction() as conn:
        row = stacks_db.find_stack(conn, stack.name)
        known = known_secret_values(ws, stack, states_db.load_state(conn, row.id) if row else {})
    sources = {m.name: m for m in stack.modules}
    children = [i for i in items if "[" in i.address and i.module in sources]  # inside expanding resources
    providers = ws.providers_for(stack) if children else {}
    for parent in sorted({i.address.split("[", 1)[0] for i in children}):
        resource = stack.resources.get(parent)
        if resource is None:
            continue
        provider = providers.get(resource.type.split(".", 1)[0])
        accept = provider.accept_drift_hint(resource.type, resource.spec) if provider is not None else ""
        mine = [i for i in children if i.address.startswith(parent + "[")]
        folder = Path(sources[resource.module].source).parent
        files[str(folder / f"{resource.module}.{resource.name}.drift.md")] = render_children(
            parent,
            mine,
            accept=accept or "(no command known)",
            stack=stack.name,
            run_id=run_id,
            when=when,
            secrets=known,
        )
    by_module = {m: [i for i in group if i not in children] for m, group in by_module.items()}
    for name, module_items in sorted(by_module.items()):
        if not module_items:
            continue
        if name == "":
            first = stack.modules[0].source if stack.modules else "modules/x.yaml"
            path = str(Path(first).parent / "unmanaged.yaml")
            files[path] = render_unmanaged(
                module_items, schemas=schemas, stack=stack.name, run_id=run_id, when=when, secrets=known
            )
        elif name in sources:
            module = sources[name]
            files[module.source] = render_module(
                module.spec,
                module_items,
                schemas=schemas,
                stack=stack.name,
                run_id=run_id,
                when=when,
                secrets=known,
            )
    return files


def _publish(
    ws: Workspace, stack: Stack, items: list[DriftItem], run_id: str, overrides: Overrides
) -> ReconcileResult:
    target = resolve_target(ws, stack, overrides)
    branch = drift_branch(stack)
    if target is None:
        reason = f"no git remote for drafts: {no_remote_hint(stack)}"
        return ReconcileResult(
            False, len(items), state_diverged=bool(items), reason=reason if items else None
        )
    try:
        if not items:
            return _no_drift(target, branch)
        message = (
            f"driftgate: drift snapshot of stack {stack.name} (run {run_id[:8]})\n\n{WARNING}\n"
            f"{len(items)} drifted resource(s).\n\nDriftgate-Run: {run_id}\n"
        )
        pushed, detail = _push_draft(ws, target, branch, _files(stack, items, ws, run_id), message)
        if not pushed:
            return ReconcileResult(False, len(items), state_diverged=True, reason=detail)
        pr_url = _draft_pr(target, branch, stack, run_id, items) if target.kind == "pull-request" else None
        return ReconcileResult(True, len(items), WARNING, branch, pr_url, commit=detail or None)
    except DriftgateError as exc:
        return ReconcileResult(False, len(items), state_diverged=True, reason=str(exc))


def _push_draft(
    ws: Workspace, target: Target, branch: str, files: dict[str, str], message: str
) -> tuple[bool, str]:
    """``files`` (relative to the stack) committed on the draft branch ``branch`` — continued, or
    started at the base — and pushed, never forced: (True, the branch's tip) or (False, why not)."""
    clones, timeout = ws.settings.home / "clones", ws.settings.git_timeout
    with cached_checkout(clones, target.url, branch, credential=target.credential, timeout=timeout) as co:
        seal = prepare_for_write(co)
        if not seal.can_write:
            return False, seal.reason or "the checkout cannot be written"
        continue_or_start(co, target.branch)  # the draft branch goes on, or starts at the base
        prefix = target.path

        def changes(parent: str | None) -> dict[str, bytes | None]:
            current = read_files(co.path, parent, prefix)
            return {
                (rel if prefix in ("", ".") else f"{prefix.rstrip('/')}/{rel}"): text.encode()
                for rel, text in files.items()
                if current.get(rel) != text.encode()
            }

        published = commit_and_push(co, changes, message)
        if not published.ok:
            return False, f"push failed: {published.detail}"
        return True, published.commit or resolve(co.path, co.local) or ""  # unchanged: the branch's tip


def _draft_pr(target: Target, branch: str, stack: Stack, run_id: str, items: list[DriftItem]) -> str:
    from driftgate.forge import forge_for

    if target.credential is None:
        raise DriftgateError("a draft pull request needs commit_back.auth (a token for the forge API)")
    listing = "\n".join(f"- `{i.address}`: {i.kind}" for i in items[:100])
    body = (
        f"**{WARNING}**\n\nDrift found by driftgate run `{run_id}` in stack `{stack.name}`:\n\n{listing}\n\n"
        "This is a draft: review it, fix what the import could not know, and merge only what should "
        "become the authored specs.\n"
    )
    with forge_for(target.url, target.credential.token, target.forge) as forge:
        pr = forge.find_open_pull_request(branch)
        if pr is None:
            pr = forge.open_pull_request(
                head=branch,
                base=target.branch,
                title=f"driftgate: drift in {stack.name}",
                body=body,
                draft=True,
            )
        else:
            forge.update_pull_request(pr.number, body=body)
            forge.comment(pr.number, f"driftgate run `{run_id}` updated this draft: {len(items)} drifted.")
        return pr.url


def _no_drift(target: Target, branch: str) -> ReconcileResult:
    from driftgate.forge import forge_for

    """No drift: no branch, no PR; an open draft from earlier drift is told it is resolved."""
    if target.kind != "pull-request" or target.credential is None:
        return ReconcileResult(False, 0)
    with forge_for(target.url, target.credential.token, target.forge) as forge:
        pr = forge.find_open_pull_request(branch)
        if pr is None:
            return ReconcileResult(False, 0)
        forge.comment(
            pr.number,
            "driftgate: the drift this draft describes is gone: live state matches the "
            "recorded state again. Close this draft unless you still want its changes.",
        )
        return ReconcileResult(False, 0, pr_url=pr.url, resolved_comment=True)


def _record(ws: Workspace, stack: Stack, run_id: str, result: ReconcileResult, report: DriftReport) -> None:
    with ws.transaction() as conn:
        row = stack_row(conn, stack, bind=False)
        runs_db.record_run(
            conn,
            run_id=run_id,
            stack_id=row.id,
            kind="reconcile",
            actor=ws.settings.actor,
            pid=os.getpid(),
            host=ws.settings.hostname,
            # a scan that could not read everything is a failed check, never a green one
            status="failed" if report.errors else ("diverged" if result.state_diverged else "succeeded"),
            summary={"reconcile": result.to_dict(), "drift": report.to_dict(), "at": time.time()},
            errors=list(report.errors)
            or ([result.reason] if result.state_diverged and result.reason else []),
        )


def import_into_draft(
    ws: Workspace,
    directory: Path,
    resource: str,
    key: str,
    resource_id: str,
    *,
    overrides: Overrides | None = None,
) -> ReconcileResult:
    """Code that adopts a live object into an expanding resource (``driftgate import network
    aws_s3_bucket.legacy <id>``: a Terraform ``import`` block and its generated configuration),
    on a draft branch ``driftgate/import/<stack>/<resource>`` (and a draft pull request where the
    stack's target is one). Nothing is applied: the next apply after review adopts it."""
    stack = ws.load_stack(directory)
    found = [r for a, r in stack.resources.items() if a == resource or r.name == resource]
    if len(found) != 1:
        raise NotFoundError(f"stack {stack.name!r} has no single resource named {resource!r}")
    res = found[0]
    provider = ws.providers_for(stack).get(res.type.split(".", 1)[0])
    if provider is None:
        raise DriftgateError(f"{res.address}: its provider is not configured")
    files = provider.generate_import(res.type, ws.secrets().resolve_all(res.spec), key, resource_id)
    target = resolve_target(ws, stack, overrides or Overrides())
    if target is None:
        return ReconcileResult(False, reason=f"no git remote for drafts: {no_remote_hint(stack)}")
    branch = f"driftgate/import/{stack.name}/{res.name}"
    run_id = str(uuid.uuid4())
    message = (
        f"driftgate: import {key} into {res.address} (run {run_id[:8]})\n\n{WARNING}\n\n"
        f"Driftgate-Run: {run_id}\n"
    )
    pushed, detail = _push_draft(ws, target, branch, files, message)
    if not pushed:
        return ReconcileResult(False, state_diverged=True, reason=detail)
    pr_url = None
    if target.kind == "pull-request" and target.credential is not None:
        from driftgate.forge import forge_for

        body = (
            f"**{WARNING}**\n\n`driftgate import` of `{key}` into `{res.address}`: Terraform adopts it "
            "on the next apply after this is merged. Review the generated configuration first.\n"
        )
        with forge_for(target.url, target.credential.token, target.forge) as forge:
            pr = forge.find_open_pull_request(branch) or forge.open_pull_request(
                head=branch, base=target.branch, title=f"driftgate: import {key}", body=body, draft=True
            )
            pr_url = pr.url
    return ReconcileResult(True, 1, WARNING, branch, pr_url, commit=detail or None)
