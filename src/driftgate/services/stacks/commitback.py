"""Commit-back: after a fully successful apply, make git match what was applied.

A straight line of small steps that can exit early: check full success →
resolve the target → lock the cached clone → push seal → clean-base reset →
write the canonical authored specs → commit (never empty) → push → record.
Git trouble after a successful apply is ``state_diverged``: the world changed
but git does not say so yet; re-running is idempotent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftgate.apply.result import ApplyResult, is_full_success
from driftgate.errors import DriftgateError, TerminalError
from driftgate.forge import git_username, known_kind
from driftgate.gitops.branches import continue_or_start, forget_remote_branch
from driftgate.gitops.clones import cached_checkout, has_remote_branch, reset_to_remote
from driftgate.gitops.gitcmd import (
    RUN_TRAILER,
    Credential,
    current_branch,
    toplevel,
)
from driftgate.gitops.objects import read_files, resolve
from driftgate.gitops.publish import Published, commit_and_push
from driftgate.gitops.seal import (
    Checkout,
    drop_unpushed,
    prepare_for_write,
    unpulled_paths,
    unpushed_paths,
)
from driftgate.plan.model import Plan
from driftgate.services.forges import forge_kind
from driftgate.services.stacks.identity import stack_place
from driftgate.services.stacks.session import ApplyReport
from driftgate.services.workspace import Workspace
from driftgate.spec.model import STACK_FILE, Stack
from driftgate.spec.serialize import dump_module, dump_stack, load_module, load_stack_spec
from driftgate.spec.yamlsafe import YamlError
from driftgate.store import runs as runs_db

if TYPE_CHECKING:
    from driftgate.forge.base import ForgeClient

PARTIAL_APPLY = "partial-apply"
NO_CHANGES = "no-changes"
NOT_CONFIGURED = "not-configured"
DISABLED = "disabled"
PARTIAL_SCOPE = "partial-scope"  # the gate held modules back or the scope left changes unapplied
ALREADY_IN_REMOTE = "already-in-remote"  # the remote already holds exactly these specs


@dataclass(frozen=True)
class CommitBackResult:
    committed: bool
    reason: str | None = None
    state_diverged: bool = False
    commit: str | None = None
    branch: str | None = None
    target: str | None = None
    pushed_pending: int = 0
    pr_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Target:
    url: str
    branch: str
    path: str
    kind: str
    trailer: str
    credential: Credential | None
    forge: str = "github"  # the forge's kind, for its API (pull requests)


@dataclass(frozen=True)
class Overrides:
    """Per-run overrides of the stack's commit-back policy."""

    target: str | None = None
    remote: str | None = None
    branch: str | None = None
    path: str | None = None


def resolve_target(ws: Workspace, stack: Stack, overrides: Overrides = Overrides()) -> Target | None:
    """Where commit-back goes; None when nothing names a remote (the stack is not in git)."""
    policy = stack.spec.commit_back
    place = stack_place(stack, remote=overrides.remote, path=overrides.path)  # as the stack's identity
    url, path, top = place.url, place.path, place.top
    if url is None:
        return None
    branch = overrides.branch or policy.branch or (current_branch(top) if top else None) or "main"
    kind = overrides.target or policy.target
    if kind not in ("branch-push", "pull-request"):
        raise TerminalError(f"unknown commit-back target {kind!r} (expected branch-push or pull-request)")
    token = ws.secrets().resolve(policy.auth) if policy.auth else None
    forge = (
        forge_kind(ws, url, token, policy.forge) if kind == "pull-request" else _push_kind(url, policy.forge)
    )
    credential = Credential(url=url, token=token, username=git_username(forge)) if token else None
    return Target(url, branch, path, kind, policy.trailer, credential, forge)


def _push_kind(url: str, given: str | None) -> str:
    """A branch-push target uses no forge API, only git: the kind given or a well-known host's
    (it picks the user name beside the token), else GitHub's way for any git server."""
    if given is not None:
        return given
    try:
        return known_kind(url) or "github"
    except DriftgateError:  # a file path, or a forge without an API client: git alone is fine
        return "github"


def no_remote_hint(stack: Stack) -> str:
    """What to do when nothing names a remote, said for where the stack really is."""
    top = toplevel(stack.directory) if stack.directory.is_dir() else None
    if top is not None:
        return (
            f"the repository at {top} has no remote 'origin': add one (git -C {top} remote add origin URL) "
            "or set commit_back.remote in stack.yaml (or pass --repo)"
        )
    return (
        f"{stack.directory} is not in a git repository: set commit_back.remote in stack.yaml "
        "(or pass --repo), or keep the stack in its config repo's clone"
    )


def render_stack(stack: Stack) -> dict[str, str]:
    """The authored specs in canonical form, by path relative to the stack directory."""
    files = {STACK_FILE: dump_stack(stack.spec)}
    for module in stack.modules:
        files[module.source] = dump_module(module.spec)
    return files


def _equivalent(rel: str, current: str, new: str) -> bool:
    """Same specs in substance (comments and layout are a person's to keep)."""
    try:
        if rel == STACK_FILE:
            return load_stack_spec(current) == load_stack_spec(new)
        return load_module(current) == load_module(new)
    except (YamlError, ValueError):
        return False


def _message(stack: Stack, run_id: str, plan: Plan, trailer: str) -> str:
    c = plan.counts()
    lines = [
        f"driftgate: commit back stack {stack.name} (run {run_id[:8]})",
        "",
        f"Applied {len(plan.changes)} change(s) in run {run_id}: {c['create']} create, {c['update']} update, "
        f"{c['replace']} replace, {c['delete']} delete.",
        "",
        f"{RUN_TRAILER}: {run_id}",
        f"Driftgate-Stack: {stack.name}",
    ]
    if trailer:
        lines.append(trailer)
    return "\n".join(lines) + "\n"


def _in_repo(target: Target, rel: str) -> str:
    return rel if target.path in ("", ".") else f"{target.path.rstrip('/')}/{rel}"


def spec_changes(current: dict[str, bytes], files: dict[str, str]) -> dict[str, bytes | None]:
    """Files to write (and stale module files to delete), relative to the stack directory.

    A file equivalent in substance to what would be written is left as it is,
    so people's comments and layout survive a commit-back that changes nothing.
    """
    changes: dict[str, bytes | None] = {}
    for rel, text in files.items():
        new = text.encode()
        old = current.get(rel)
        if old is not None and (old == new or _equivalent(rel, old.decode(errors="replace"), text)):
            continue
        changes[rel] = new
    module_dirs = {str(Path(src).parent) for src in files if src != STACK_FILE}
    for rel in current:
        if str(Path(rel).parent) in module_dirs and rel.endswith((".yaml", ".yml")) and rel not in files:
            changes[rel] = None
    return changes


def _specs_published(co: Checkout, stack: Stack, target: Target, message: str) -> Published:
    """Commit the canonical specs where they differ from the branch's, then push (``commit_and_push``)."""

    def changes(parent: str | None) -> dict[str, bytes | None]:
        differing = spec_changes(read_files(co.path, parent, target.path), render_stack(stack))
        return {_in_repo(target, rel): content for rel, content in differing.items()}

    return commit_and_push(co, changes, message)


def commit_back(
    ws: Workspace,
    stack: Stack,
    *,
    run_id: str,
    plan: Plan,
    result: ApplyResult,
    overrides: Overrides = Overrides(),
    whole_stack: bool = True,
    rebuild: bool = False,
) -> CommitBackResult:
    """``rebuild``: when unpushed commits of an earlier commit-back conflict with the remote, give
    them up and build the commit afresh from these (applied) specs on the remote's tip."""
    if not stack.spec.commit_back.enabled:
        return CommitBackResult(False, DISABLED)
    if not is_full_success(result):
        return CommitBackResult(False, PARTIAL_APPLY)
    if not whole_stack:
        return CommitBackResult(False, PARTIAL_SCOPE)
    try:
        target = resolve_target(ws, stack, overrides)
    except DriftgateError as exc:  # e.g. its credential cannot be read: applied, but git is not updated
        return CommitBackResult(False, str(exc), state_diverged=True)
    if target is None:
        return CommitBackResult(False, NOT_CONFIGURED)
    message = _message(stack, run_id, plan, target.trailer)
    if target.kind == "pull-request":
        return _pull_request(ws, stack, target, message, run_id=run_id)
    return _branch_push(ws, stack, target, message, rebuild=rebuild)


def _diverged(target: Target, reason: str, commit: str | None = None) -> CommitBackResult:
    return CommitBackResult(
        False, reason, state_diverged=True, commit=commit, branch=target.branch, target=target.kind
    )


def _branch_push(
    ws: Workspace, stack: Stack, target: Target, message: str, *, rebuild: bool = False
) -> CommitBackResult:
    clones = ws.settings.home / "clones"
    try:
        with cached_checkout(
            clones, target.url, target.branch, credential=target.credential, timeout=ws.settings.git_timeout
        ) as co:
            seal = prepare_for_write(co)
            if not seal.can_write and seal.conflict:
                settled = _settle_conflict(co, stack, target, seal.reason, rebuild=rebuild)
                if settled is not None:
                    return settled
            elif not seal.can_write:
                return _diverged(target, seal.reason)
            reset_to_remote(co)
            published = _specs_published(co, stack, target, message)
            if not published.committed:
                return CommitBackResult(
                    False,
                    NO_CHANGES,
                    branch=target.branch,
                    target=target.kind,
                    pushed_pending=seal.pushed_pending,
                )
            if not published.ok:
                return _diverged(target, f"push failed: {published.detail}", commit=published.commit)
            return CommitBackResult(
                True,
                commit=published.commit,
                branch=target.branch,
                target=target.kind,
                pushed_pending=seal.pushed_pending,
            )
    except DriftgateError as exc:
        return _diverged(target, str(exc))


def _settle_conflict(
    co: Checkout, stack: Stack, target: Target, reason: str, *, rebuild: bool
) -> CommitBackResult | None:
    """Unpushed commits from an earlier commit-back conflict with commits someone pushed since.

    The applied specs supersede every earlier commit-back of this stack. If, in each
    file the others changed, the specs now say what the remote says (the user adopted
    their value), nothing of theirs is lost: the stale commits are dropped and the
    caller commits afresh on the remote's tip (None) - or, when the remote already
    holds exactly these specs, ``already-in-remote``. If the specs still differ in a
    file the others changed, that is a real conflict: stay diverged and name the
    command that resolves it (``--rebuild``: the applied specs win, on top of the
    remote). Commits touching files outside this stack are never given up.
    """
    outside = sorted(p for p in unpushed_paths(co) if not _under(target.path, p))
    if outside:
        return _diverged(target, f"{reason}; the unpushed commits also change {', '.join(outside[:3])}")
    tip = resolve(co.path, co.tracking)
    differing = {
        _in_repo(target, rel)
        for rel in spec_changes(read_files(co.path, tip, target.path), render_stack(stack))
    }
    if not differing:
        drop_unpushed(co)
        return CommitBackResult(False, ALREADY_IN_REMOTE, branch=target.branch, target=target.kind)
    contested = sorted(differing & unpulled_paths(co))
    if contested and not rebuild:
        return _diverged(
            target,
            f"{reason} ({', '.join(contested[:3])}). Make the specs say what you want, apply them, then run "
            "`driftgate commit-back --rebuild` (it commits the applied specs on the remote's tip)",
        )
    drop_unpushed(co)
    return None


def _under(prefix: str, path: str) -> bool:
    return prefix in ("", ".") or path == prefix or path.startswith(prefix.rstrip("/") + "/")


def pr_branch(stack: Stack) -> str:
    return f"driftgate/commit-back/{stack.name}"


def _pr_body(stack: Stack, run_id: str, message: str) -> str:
    summary = message.split("\n\n")[1] if "\n\n" in message else ""
    return (
        f"driftgate applied stack `{stack.name}` in run `{run_id}`, with every action successful.\n\n"
        f"{summary}\n\n"
        "This pull request carries the authored specs that were applied, in canonical form, so that git "
        "matches the live state. Secret values are never included: `secret://` references stay references.\n"
    )


def _start_pr_branch(co: Checkout, target: Target, forge: ForgeClient) -> None:
    """Continue the open pull request's branch, or start a new one at the base's tip."""
    if has_remote_branch(co) and forge.find_open_pull_request(co.branch) is None:
        forge.delete_branch(co.branch)  # driftgate's own branch of a closed or merged PR: start afresh
        forget_remote_branch(co)
    continue_or_start(co, target.branch)


def _pull_request(
    ws: Workspace, stack: Stack, target: Target, message: str, *, run_id: str
) -> CommitBackResult:
    from driftgate.forge import forge_for  # httpx is imported only when a forge is used

    head = pr_branch(stack)
    if target.credential is None:
        return _diverged(target, "the pull-request target needs commit_back.auth (a token for the forge API)")
    clones = ws.settings.home / "clones"
    try:
        with (
            forge_for(target.url, target.credential.token, target.forge) as forge,
            cached_checkout(
                clones, target.url, head, credential=target.credential, timeout=ws.settings.git_timeout
            ) as co,
        ):
            seal = prepare_for_write(co)
            if not seal.can_write:
                return _diverged(target, seal.reason)
            _start_pr_branch(co, target, forge)
            published = _specs_published(co, stack, target, message)
            if not published.ok:
                return _diverged(target, f"push failed: {published.detail}", commit=published.commit)
            sha = published.commit
            pr = forge.find_open_pull_request(head)
            branch_pushed = sha is not None or has_remote_branch(co)  # now, or by an earlier run
            if pr is None and branch_pushed:
                title = f"driftgate: commit back stack {stack.name}"
                pr = forge.open_pull_request(
                    head=head, base=target.branch, title=title, body=_pr_body(stack, run_id, message)
                )
            elif pr is not None and sha is not None:
                forge.comment(pr.number, f"driftgate run `{run_id}` added {sha[:12]} to this pull request.")
            return CommitBackResult(
                sha is not None,
                None if sha else NO_CHANGES,
                commit=sha,
                branch=head,
                target=target.kind,
                pushed_pending=seal.pushed_pending,
                pr_url=pr.url if pr else None,
            )
    except DriftgateError as exc:
        return _diverged(target, str(exc))


def record_commit_back(ws: Workspace, run_id: str, outcome: CommitBackResult) -> None:
    with ws.transaction() as conn:
        runs_db.record_commit_back(conn, run_id, outcome.to_dict(), diverged=outcome.state_diverged)


def commit_back_report(
    ws: Workspace, stack: Stack, report: ApplyReport, overrides: Overrides | None = None
) -> CommitBackResult:
    """Commit-back for one apply, recorded on its run (what every edge does after an apply)."""
    result = commit_back(
        ws,
        stack,
        run_id=report.run_id,
        plan=report.plan,
        result=report.result,
        overrides=overrides or Overrides(),
        whole_stack=report.whole_stack,
    )
    record_commit_back(ws, report.run_id, result)
    return result
