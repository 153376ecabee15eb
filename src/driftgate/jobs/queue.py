"""Queue wiring: huey with SQLite storage under the data directory by default, Redis to scale out.

Actors are thin: they open the workspace, call one service, and turn transient
failures into a delayed retry (bounded). They are enqueued only after the
transaction that recorded their work has committed.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import Task
from huey.exceptions import RetryTask

from driftgate.config import Settings, load_settings
from driftgate.services.workspace import Workspace

MAX_ATTEMPTS = 6
BASE_DELAY = 5.0


def make_huey(settings: Settings) -> Huey:
    if settings.queue_url:
        return RedisHuey("driftgate", url=settings.queue_url, results=False)
    settings.home.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("driftgate", filename=str(settings.home / "queue.db"), results=False)


@cache
def _workspace() -> Workspace:
    return Workspace.open(load_settings())


class Jobs:
    """The tasks registered on one huey instance."""

    def __init__(
        self,
        huey: Huey,
        workspace: Any = None,
        base_delay: float = BASE_DELAY,
        settings: Settings | None = None,
    ) -> None:
        self.huey = huey
        ws_of = workspace or _workspace

        @huey.task(retries=MAX_ATTEMPTS - 1, retry_delay=base_delay, context=True, name="open_pr")
        def open_pr_task(proposal_id: int, task: Task | None = None) -> str:
            """The open-PR use case decides; this maps its verdict onto huey's retries."""
            from driftgate.services.proposals.open_pr import run_open_pr_job

            retries = task.retries if task else 0
            verdict = run_open_pr_job(
                ws_of(),
                proposal_id,
                attempt=MAX_ATTEMPTS - retries,
                attempts_left=retries,
                base_delay=base_delay,
            )
            if verdict.status == "retry" and verdict.spends_attempt:
                raise RetryTask(delay=verdict.retry_in)
            if verdict.status == "retry":
                self.open_pr.schedule((proposal_id,), delay=verdict.retry_in)
            return verdict.detail

        @huey.periodic_task(_every_minute(), name="sweep_stale_jobs")
        def sweep() -> int:
            return sweep_stale(ws_of(), self)

        @huey.periodic_task(_every_minutes(10), name="poll_pr_states")
        def poll() -> int:
            from driftgate.services.proposals.pr_state import poll_pr_states

            return poll_pr_states(ws_of())

        self.open_pr = open_pr_task
        self.sweep = sweep
        self.poll = poll
        self.reconcile: Any = None
        every = settings.reconcile_every_minutes if settings is not None else 0
        if every:

            @huey.periodic_task(_every_minutes(every), name="reconcile_stacks")
            def reconcile_stacks() -> list[str]:
                return reconcile_all(ws_of())

            self.reconcile = reconcile_stacks

    def enqueue_open_pr(self, proposal_id: int, job_id: str | None = None) -> str:
        task = self.open_pr.s(proposal_id)
        if job_id:
            task.id = job_id
        self.huey.enqueue(task)
        return str(task.id)

    def is_available(self) -> bool:
        try:
            self.huey.storage.queue_size()
            return True
        except Exception:  # noqa: BLE001 - any storage failure means "unavailable"
            return False


def _every_minute() -> Any:
    from huey import crontab

    return crontab(minute="*")


def _every_minutes(n: int) -> Any:
    from huey import crontab

    return crontab(minute=f"*/{n}")


def sweep_stale(ws: Workspace, jobs: Jobs) -> int:
    """Re-queue open-PR jobs whose worker vanished (killed mid-job): a proposal is never lost."""
    from driftgate.services.proposals.open_pr import lapsed_jobs

    lapsed = lapsed_jobs(ws)
    for proposal_id in lapsed:
        jobs.enqueue_open_pr(proposal_id)
    return len(lapsed)


def reconcile_all(ws: Workspace) -> list[str]:
    """Reconcile every scheduled stack; one stack's failure does not stop the others."""
    from driftgate.errors import DriftgateError
    from driftgate.security.logs import get_logger
    from driftgate.services.drift.reconcile import reconcile

    log = get_logger("driftgate.jobs")
    done: list[str] = []
    for relative in ws.settings.reconcile_stack_list:
        try:
            from driftgate.security.paths import contain

            with ws.run():
                run_id, result = reconcile(ws, contain(ws.settings.effective_stacks_root, relative))
            log.info("reconciled", stack=relative, run_id=run_id, draft=result.draft, drifted=result.drifted)
            done.append(relative)
        except DriftgateError as exc:
            log.warning("reconcile failed", stack=relative, error=str(exc))
    return done


@cache
def default_jobs() -> Jobs:
    settings = load_settings()
    return Jobs(make_huey(settings), settings=settings)
