"""Execute a plan through providers, in parallel, and always return a full ledger.

Scheduling: an action starts when every action it waits on has succeeded;
deletes wait for the actions of everything that depended on the deleted
resource (reverse order). An action whose dependency did not succeed is not
attempted. Output references are resolved just in time from the outputs of
finished actions (or the recorded ones).

Durability: before any provider call, the action is reported to the sink as
started; finished actions are reported in the next batch. A crash therefore
leaves every touched resource either finished or "in flight" (uncertain),
never silently absent. Every exit path - provider error, timeout, Ctrl-C, an
exception in here - still yields one outcome per action.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from driftgate.apply.hooks import ApplyHooks
from driftgate.apply.result import ActionOutcome, ActionStatus, ApplyResult, validate_result
from driftgate.errors import CompensatedError, CompensationFailedError, DriftgateError, ProviderCrashed
from driftgate.plan.model import Action, ActionKind, Plan
from driftgate.providers.base import CAP_BATCH_APPLY, PER_ACTION, Change, ChangeResult, Provider
from driftgate.security.redact import redact
from driftgate.spec.refs import OutputRef, SecretResolver, secret_refs_in, substitute_outputs

# Module-level aliases: enum attribute access is slow in hot loops (Python 3.11).
_CREATE = ActionKind.CREATE
_DELETE = ActionKind.DELETE
_NOOP = ActionKind.NOOP
_UPDATE = ActionKind.UPDATE
_REPLACE = ActionKind.REPLACE


@dataclass(frozen=True, slots=True)
class Finished:
    """An outcome plus the secret-free attributes to record as state (None: nothing to record)."""

    action: Action
    outcome: ActionOutcome
    attributes: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Started:
    """An action about to call its provider, with its attributes (outputs resolved, secrets not)."""

    action: Action
    attributes: dict[str, Any] | None


class LedgerSink(Protocol):
    def record(self, *, started: Sequence[Started], finished: Sequence[Finished]) -> None: ...


class NullSink:
    def record(self, *, started: Sequence[Started], finished: Sequence[Finished]) -> None:
        return None


ProgressCallback = Callable[[ActionOutcome], None]
Job = tuple[str, list[Started]]  # ("group", a whole-plan provider's actions) | ("batch", independent ones)
_POLL = 0.25
_INLINE_BATCH = 2000
_BATCH = 500  # actions per apply_many call
INTERRUPTED = "interrupted (Ctrl-C)"  # the run-level error of a run a person stopped
_JOB_GRACE = 10.0  # seconds a job may still read its plugin's answer after its last outcome


class Executor:
    def __init__(
        self,
        *,
        providers: Mapping[str, Provider],
        secrets: SecretResolver,
        known_outputs: Mapping[str, dict[str, Any]],
        parallelism: int = 10,
        action_timeout: float = 600.0,
        sink: LedgerSink | None = None,
        hooks: ApplyHooks | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self._providers = providers
        self._secrets = secrets
        self._outputs: dict[str, dict[str, Any]] = dict(known_outputs)
        self._parallelism = max(1, parallelism)
        self._timeout = action_timeout
        self._sink = sink or NullSink()
        self._hooks = hooks or ApplyHooks()
        self._progress = progress
        self.abort_reason: str | None = None  # set when a provider dies mid-call: the run stops

    def run(self, plan: Plan) -> ApplyResult:
        run = _Run(self, plan.actions)
        errors = run.execute()
        result = ApplyResult(
            actions=tuple(run.outcomes_in_order()),
            action_count=len(plan.actions),
            errors=tuple(errors),
        )
        return validate_result(result, len(plan.actions))

    # -- one action (runs on a worker thread, or inline for cheap providers) --

    def prepare(self, action: Action) -> Started:
        """Resolve output references (dependencies have finished); raises if one is unknown."""
        if action.kind is _DELETE:
            return Started(action, None)
        return Started(action, substitute_outputs(action.desired or {}, self._lookup, action.module))

    def execute_action(self, started_action: Started) -> Finished:
        action, attributes = started_action.action, started_action.attributes
        started = time.time()
        provider = self._providers[action.type.split(".", 1)[0]]
        outputs: dict[str, Any] = {}
        try:
            if action.kind is _DELETE or attributes is None:
                provider.delete(
                    action.type,
                    self._secrets.resolve_all(action.prior or {}),
                    action.prior_outputs or {},
                )
            else:
                resolved = self._secrets.resolve_all(attributes)
                outputs = mask_secrets(
                    self._call(provider, action, resolved), self._secret_values(attributes)
                )
            status, error = ActionStatus.SUCCESS, None
        except CompensatedError as exc:
            status, error = ActionStatus.COMPENSATED, redact(str(exc))
        except CompensationFailedError as exc:
            status, error = ActionStatus.COMPENSATION_FAILED, redact(str(exc))
        except ProviderCrashed as exc:
            self.abort_reason = redact(str(exc))
            status = ActionStatus.DELETE_FAILED if action.kind is _DELETE else ActionStatus.ERROR
            error, outputs, attributes = f"{self.abort_reason}; live state uncertain", {}, None
        except Exception as exc:  # noqa: BLE001 - every failure becomes an outcome
            status = ActionStatus.DELETE_FAILED if action.kind is _DELETE else ActionStatus.ERROR
            error = redact(str(exc) if isinstance(exc, DriftgateError) else f"{type(exc).__name__}: {exc}")
            outputs, attributes = {}, None
        outcome = ActionOutcome(
            index=action.index,
            address=action.address,
            action=action.kind.value,
            status=status,
            error=error,
            outputs=outputs,
            started_at=started,
            finished_at=time.time(),
        )
        return Finished(action, outcome, attributes if status is ActionStatus.SUCCESS else None)

    def stop_providers(self) -> None:
        """Ask every provider to cancel what it is doing (a Ctrl-C); a failing one is ignored."""
        for provider in self._providers.values():
            try:
                provider.stop()
            except Exception:  # noqa: BLE001, S112 - stopping is best effort
                continue

    def group_of(self, action: Action) -> str | None:
        """The provider's name when it applies whole plans (its actions go in one call), else None."""
        name = action.type.split(".", 1)[0]
        provider = self._providers.get(name)
        if provider is None or PER_ACTION in provider.apply_modes:
            return None
        return name

    def execute_group(self, items: Sequence[Started]) -> tuple[list[Finished], list[str]]:
        """A whole-plan provider's actions in one ``apply_plan`` call; every action gets exactly one
        outcome, and what broke the result contract is returned as the run's errors."""
        provider = self._providers[items[0].action.type.split(".", 1)[0]]
        started = time.time()
        try:
            changes = [self._change(item) for item in items]
            applied = provider.apply_plan(changes)
        except ProviderCrashed as exc:
            self.abort_reason = redact(str(exc))
            reason = f"{self.abort_reason}; live state uncertain"
            return [_failed(i.action, reason, attempted=True, started=started) for i in items], []
        except Exception as exc:  # noqa: BLE001 - every failure becomes an outcome
            reason = redact(str(exc) if isinstance(exc, DriftgateError) else f"{type(exc).__name__}: {exc}")
            failed = [
                _failed(i.action, f"{reason}; live state uncertain", attempted=True, started=started)
                for i in items
            ]
            return failed, [f"{provider.name}: {reason}"]
        errors = [redact(f"contract violation: {provider.name}: {v}") for v in applied.violations]
        errors += [redact(e) for e in applied.errors]
        finished = []
        for item in items:
            result = applied.results.get(item.action.index)
            if result is not None and _status(result.status) is None:
                why = f"status {result.status!r}"
                errors.append(f"contract violation: {provider.name}: action {item.action.index}: {why}")
            finished.append(self._finished_from(item, result, started))
        return finished, errors

    def batch_of(self, action: Action) -> str | None:
        """The provider's name when it applies independent actions in batches, else None."""
        name = action.type.split(".", 1)[0]
        provider = self._providers.get(name)
        if provider is None or provider.inline or CAP_BATCH_APPLY not in provider.capabilities:
            return None
        return name

    def execute_batch(self, items: Sequence[Started], errors: list[str]) -> Iterator[Finished]:
        """Independent actions in one ``apply_many`` call, each outcome as soon as it is known; an
        action the provider never answered is an ERROR with its live state uncertain. The result
        contract holds as for whole plans: a second result for an action, or one for an action not
        in the batch, is a contract violation in ``errors`` (the run is never a full success)."""
        provider = self._providers[items[0].action.type.split(".", 1)[0]]
        waiting = {item.action.index: item for item in items}
        started = time.time()
        reason = "no outcome reported"
        try:
            for index, result in provider.apply_many([self._change(item) for item in items]):
                item = waiting.pop(index, None)
                if item is not None:
                    yield self._finished_from(item, result, started)
                    continue
                ours = any(i.action.index == index for i in items)
                why = (
                    f"2 results for action {index}"
                    if ours
                    else f"a result for action {index}, which was not planned"
                )
                errors.append(redact(f"contract violation: {provider.name}: {why}"))
        except ProviderCrashed as exc:
            self.abort_reason = reason = redact(str(exc))
        except Exception as exc:  # noqa: BLE001 - every failure becomes an outcome
            reason = redact(str(exc) if isinstance(exc, DriftgateError) else f"{type(exc).__name__}: {exc}")
        for item in waiting.values():
            yield _failed(item.action, f"{reason}; live state uncertain", attempted=True, started=started)

    def _finished_from(self, item: Started, result: ChangeResult | None, started: float) -> Finished:
        """One action's outcome from a provider's result (None or an invalid status: an ERROR)."""
        status = _status(result.status) if result is not None else None
        if result is None or status is None:
            why = "no valid outcome reported" if result is None else f"status {result.status!r}"
            reason = f"provider broke the result contract ({why}); live state uncertain"
            return _failed(item.action, reason, attempted=True, started=started)
        ok = status is ActionStatus.SUCCESS
        outputs = mask_secrets(dict(result.outputs), self._secret_values(item.attributes or {})) if ok else {}
        outcome = ActionOutcome(
            index=item.action.index,
            address=item.action.address,
            action=item.action.kind.value,
            status=status,
            error=None if ok else redact(result.error or "failed without a reason"),
            outputs=outputs,
            attempted=ok or result.attempted,
            started_at=started if ok or result.attempted else None,
            finished_at=time.time() if ok or result.attempted else None,
        )
        return Finished(item.action, outcome, item.attributes if ok else None)

    def _change(self, item: Started) -> Change:
        action = item.action
        deleting = action.kind is _DELETE or item.attributes is None
        chosen = action.prior if deleting else item.attributes
        if action.parent:  # a child names itself in its desired values, whatever it does (a delete too)
            chosen = action.desired
        attributes = self._secrets.resolve_all(chosen or {})
        return Change(
            index=action.index,
            kind=action.kind.value,
            type=action.type,
            name=action.name,
            attributes=attributes,
            prior_outputs=dict(action.prior_outputs or {}),
            address=action.address,
            parent=action.parent,
        )

    def _secret_values(self, attributes: dict[str, Any]) -> dict[str, str]:
        """Each resolved secret value these attributes carry, with the reference it came from."""
        return {self._secrets.resolve(ref): ref for ref in dict.fromkeys(secret_refs_in(attributes))}

    def _call(self, provider: Provider, action: Action, attributes: dict[str, Any]) -> dict[str, Any]:
        name = action.name
        if action.kind is _CREATE:
            return provider.create(action.type, name, attributes)
        if action.kind is _UPDATE:
            return provider.update(action.type, name, attributes, action.prior_outputs or {})
        prior = self._secrets.resolve_all(action.prior or {})
        provider.delete(action.type, prior, action.prior_outputs or {})
        return provider.create(action.type, name, attributes)

    def _lookup(self, ref: OutputRef) -> Any:
        outputs = self._outputs.get(ref.address)
        if outputs is None or ref.output not in outputs:
            raise DriftgateError(f"output {ref.output!r} of {ref.address} is not known")
        return outputs[ref.output]

    def remember_outputs(self, address: str, outputs: dict[str, Any]) -> None:
        self._outputs[address] = outputs

    def notify(self, finished: Finished) -> None:
        self._hooks.notify(finished.action, finished.outcome)
        if self._progress is not None:
            self._progress(finished.outcome)

    @property
    def sink(self) -> LedgerSink:
        return self._sink

    @property
    def parallelism(self) -> int:
        return self._parallelism

    @property
    def timeout(self) -> float:
        return self._timeout

    def is_inline(self, action: Action) -> bool:
        provider = self._providers.get(action.type.split(".", 1)[0])
        return provider is not None and provider.inline


def mask_secrets(outputs: dict[str, Any], secrets: Mapping[str, str]) -> dict[str, Any]:
    """Outputs with every resolved secret value replaced by its reference.

    An output equal to a value becomes the ``secret://`` reference; an output that
    contains one (an absolute path built from a secret, a connection string) gets
    the embedded token ``${secret://...}`` in its place, so nothing of it is stored.
    """
    if not secrets:
        return outputs
    ordered = sorted((v for v in secrets if len(v) >= _MIN_EMBEDDED), key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None

    def mask(value: Any) -> Any:
        if isinstance(value, str):
            if value in secrets:
                return secrets[value]
            if pattern is None:
                return value
            return pattern.sub(lambda m: "${" + secrets[m.group(0)] + "}", value)
        if isinstance(value, dict):
            return {k: mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mask(v) for v in value]
        return value

    return {k: mask(v) for k, v in outputs.items()}


_MIN_EMBEDDED = 4  # shorter values are masked only when an output equals them


class _Aborted(Exception):
    """A provider died mid-call: nothing more is started."""


class _Run:
    """The scheduling state of one execution."""

    def __init__(self, executor: Executor, actions: Sequence[Action]) -> None:
        self.ex = executor
        self.actions = list(actions)
        self.outcomes: dict[int, ActionOutcome] = {}
        self.failed: set[int] = set()
        self.waits, self.dependents = _dependency_graph(self.actions)
        self.groups = _whole_plan_groups(executor, self.actions, self.waits, self.dependents)
        self.held: dict[str, list[Started]] = {}
        self.remaining = {i: len(w) for i, w in self.waits.items()}
        self.ready = deque(i for i in range(len(self.actions)) if not self.waits[i])
        self.buffer: list[Finished] = []
        self.in_flight: dict[int, float] = {}
        self.results: queue.Queue[Finished] = queue.Queue()
        self.work: queue.Queue[Started | Job | None] = queue.Queue()
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []
        self.jobs_running = 0  # jobs whose provider call has not ended (what it says after counts)
        self.jobs_done = threading.Condition()
        self.interrupted = False
        self.timed_out: set[int] = set()
        self.instant = 0

    def outcomes_in_order(self) -> list[ActionOutcome]:
        return [self.outcomes[i] for i in sorted(self.outcomes)]

    def execute(self) -> list[str]:
        try:
            self._loop()
        except KeyboardInterrupt:
            self.interrupted = True
            self.errors.append(INTERRUPTED)
            self.ex.stop_providers()
            self._drain()
        except _Aborted:
            self.errors.append(f"stopped: {self.ex.abort_reason}")
            self._drain()
        except Exception as exc:  # noqa: BLE001 - the ledger must survive our own bugs
            self.errors.append(redact(f"executor failure: {type(exc).__name__}: {exc}"))
            self._drain()
        finally:
            self._close()
        return self.errors

    def _loop(self) -> None:
        while len(self.outcomes) < len(self.actions):
            self._collect(block=False)
            if self.ex.abort_reason is not None:
                raise _Aborted
            to_start, inline, jobs = self._promote()
            self.ex.sink.record(
                started=to_start + inline + [i for _, g in jobs for i in g], finished=self.buffer
            )
            self.buffer = []
            for item in to_start:
                self._submit(item)
            for job in jobs:
                self._submit_job(job)
            for item in inline:
                self._complete(self.ex.execute_action(item))
                if self.ex.abort_reason is not None:
                    raise _Aborted
            if not (to_start or inline or jobs or self.instant):
                if len(self.outcomes) == len(self.actions):
                    break  # the last results were collected by the poll at the top of this round
                if not self.in_flight:
                    raise RuntimeError("no action can start: dependency graph is stuck")
                self._collect(block=True)
                if self.ex.abort_reason is not None:
                    raise _Aborted
        self._await_jobs()
        self.ex.sink.record(started=[], finished=self.buffer)
        self.buffer = []

    def _promote(self) -> tuple[list[Started], list[Started], list[Job]]:
        to_start: list[Started] = []
        inline: list[Started] = []
        batches: dict[str, list[list[Started]]] = {}
        self.instant = 0
        slots = self.ex.parallelism - len(self.in_flight)
        while self.ready and len(inline) < _INLINE_BATCH:
            action = self.actions[self.ready[0]]
            if slots <= 0 and not self._is_instant(action):
                break
            self.ready.popleft()
            blocker = next((i for i in self.waits[action.index] if i in self.failed), None)
            if blocker is not None:
                self.instant += 1
                self._skip(
                    action,
                    f"not attempted: dependency {self.actions[blocker].address} did not succeed",
                )
                continue
            if action.kind is _NOOP:
                self.instant += 1
                self._complete(_noop(action))
                continue
            try:
                item = self.ex.prepare(action)
            except DriftgateError as exc:
                self.instant += 1
                self._skip(action, f"not attempted: {exc}")
                continue
            group = self.ex.group_of(action)
            # a replacement deletes the prior resource then creates the new one: never batched
            batch = self.ex.batch_of(action) if group is None and action.kind is not _REPLACE else None
            if group is not None:
                self.instant += 1  # held until the rest of its provider's actions are ready
                self.held.setdefault(group, []).append(item)
            elif batch is not None:
                open_batches = batches.setdefault(batch, [])
                if not open_batches or len(open_batches[-1]) >= _BATCH:
                    open_batches.append([])
                    slots -= 1
                open_batches[-1].append(item)
            elif self.ex.is_inline(action):
                inline.append(item)
            else:
                to_start.append(item)
                slots -= 1
        jobs: list[Job] = [("group", g) for g in self._ready_groups()]
        jobs += [("batch", b) for found in batches.values() for b in found]
        return to_start, inline, jobs

    def _ready_groups(self) -> list[list[Started]]:
        """Whole-plan groups whose every action still to run is ready (the others were skipped)."""
        ready = []
        for name, items in list(self.held.items()):
            waiting = self.groups[name] - self.outcomes.keys()
            if items and {i.action.index for i in items} >= waiting:
                ready.append(sorted(items, key=lambda i: i.action.index))  # in plan order
                del self.held[name]
        return ready

    def _is_instant(self, action: Action) -> bool:
        return (
            action.kind is _NOOP
            or (self.ex.batch_of(action) is not None and action.kind is not _REPLACE)  # joins a batch
            or self.ex.is_inline(action)
            or any(i in self.failed for i in self.waits[action.index])
        )

    def _submit(self, item: Started) -> None:
        self.in_flight[item.action.index] = time.monotonic() + self.ex.timeout
        if len(self.threads) < len(self.in_flight) + len(self.timed_out):
            thread = threading.Thread(target=self._worker, daemon=True, name="driftgate-apply")
            thread.start()
            self.threads.append(thread)
        self.work.put(item)

    def _submit_job(self, job: Job) -> None:
        with self.jobs_done:
            self.jobs_running += 1
        for item in job[1]:
            self.in_flight[item.action.index] = time.monotonic() + self.ex.timeout
        if len(self.threads) < len(self.in_flight) + len(self.timed_out):
            thread = threading.Thread(target=self._worker, daemon=True, name="driftgate-apply")
            thread.start()
            self.threads.append(thread)
        self.work.put(job)

    def _worker(self) -> None:
        while True:
            item = self.work.get()
            if item is None:
                return
            if isinstance(item, tuple):
                self._run_job(item)
                continue
            try:
                finished = self.ex.execute_action(item)
            except BaseException as exc:  # noqa: BLE001 - a worker must always report back
                reason = redact(f"executor failure: {type(exc).__name__}: {exc}; live state uncertain")
                finished = _failed(item.action, reason, attempted=True)
            self.results.put(finished)

    def _run_job(self, job: Job) -> None:
        kind, items = job
        reported: set[int] = set()
        finished: Iterable[Finished]
        try:
            if kind == "group":
                finished, errors = self.ex.execute_group(items)
                self.errors.extend(errors)
            else:
                finished = self.ex.execute_batch(items, self.errors)
            for one in finished:
                reported.add(one.action.index)
                self.results.put(one)
        except BaseException as exc:  # noqa: BLE001 - a worker must always report back
            reason = redact(f"executor failure: {type(exc).__name__}: {exc}; live state uncertain")
            for item in items:
                if item.action.index not in reported:
                    self.results.put(_failed(item.action, reason, attempted=True))
        finally:
            with self.jobs_done:
                self.jobs_running -= 1
                self.jobs_done.notify_all()

    def _await_jobs(self) -> None:
        """Every outcome is in, but a provider call may still be answering (a second result for an
        action is a contract violation the run must carry): wait for the calls to end, briefly."""
        with self.jobs_done:
            self.jobs_done.wait_for(lambda: self.jobs_running == 0, timeout=_JOB_GRACE)

    def _collect(self, *, block: bool) -> None:
        timeout = None
        if block:
            nearest = next(iter(self.in_flight.values()), time.monotonic() + _POLL)  # ordered by deadline
            timeout = max(0.0, min(_POLL, nearest - time.monotonic()))
        try:
            first = self.results.get(block=block, timeout=timeout)
        except queue.Empty:
            self._expire()
            return
        self._accept(first)
        while True:
            try:
                self._accept(self.results.get_nowait())
            except queue.Empty:
                break
        self._expire()

    def _accept(self, finished: Finished) -> None:
        if finished.action.index in self.outcomes:
            return  # it had timed out; its late result is not trusted
        self.in_flight.pop(finished.action.index, None)
        self._complete(finished)

    def _expire(self) -> None:
        """Time out what has run too long. Deadlines are start + the one timeout, so ``in_flight``
        (insertion-ordered) is ordered by deadline: stop at the first one still running."""
        now = time.monotonic()
        expired = []
        for index, deadline in self.in_flight.items():
            if deadline > now:
                break
            expired.append(index)
        for index in expired:
            del self.in_flight[index]
            self.timed_out.add(index)
            action = self.actions[index]
            reason = f"timed out after {self.ex.timeout:g}s; live state uncertain"
            self._complete(_failed(action, reason, attempted=True))

    def _complete(self, finished: Finished) -> None:
        index = finished.action.index
        self.outcomes[index] = finished.outcome
        self.buffer.append(finished)
        if finished.outcome.status is ActionStatus.SUCCESS:
            if finished.action.kind is not _DELETE:
                self.ex.remember_outputs(finished.action.address, finished.outcome.outputs)
        else:
            self.failed.add(index)
        for dependent in self.dependents[index]:
            self.remaining[dependent] -= 1
            if self.remaining[dependent] == 0:
                self.ready.append(dependent)
        self.ex.notify(finished)

    def _skip(self, action: Action, reason: str) -> None:
        self._complete(_failed(action, reason, attempted=False))

    def _drain(self) -> None:
        """Let in-flight actions finish, so their outcomes are real (a Ctrl-C abandons them)."""
        try:
            while self.in_flight:
                self._collect(block=True)
        except KeyboardInterrupt:
            pass

    def _close(self) -> None:
        for index in list(self.in_flight):
            reason = "interrupted while in flight; live state uncertain"
            self._complete(_failed(self.actions[index], reason, attempted=True))
        self.in_flight.clear()
        why = "not attempted: run interrupted" if self.interrupted else "not attempted: run aborted"
        for action in self.actions:
            if action.index not in self.outcomes:
                self._complete(_failed(action, why, attempted=False))
        for _ in self.threads:
            self.work.put(None)
        try:
            self.ex.sink.record(started=[], finished=self.buffer)
        except Exception as exc:  # noqa: BLE001
            self.errors.append(redact(f"could not record the ledger: {type(exc).__name__}: {exc}"))
        self.buffer = []


def _noop(action: Action) -> Finished:
    now = time.time()
    outcome = ActionOutcome(
        index=action.index,
        address=action.address,
        action=action.kind.value,
        status=ActionStatus.SUCCESS,
        outputs=dict(action.prior_outputs or {}),
        started_at=now,
        finished_at=now,
    )
    return Finished(action, outcome, dict(action.prior or {}) if action.adopt else None)


def _status(value: str) -> ActionStatus | None:
    try:
        status = ActionStatus(value)
    except ValueError:
        return None
    return None if status is ActionStatus.UNSPECIFIED else status


def _failed(action: Action, reason: str, *, attempted: bool, started: float | None = None) -> Finished:
    """A failed outcome; ``started``: when a provider call began (the outcome is then timed)."""
    status = ActionStatus.DELETE_FAILED if action.kind is _DELETE and attempted else ActionStatus.ERROR
    outcome = ActionOutcome(
        index=action.index,
        address=action.address,
        action=action.kind.value,
        status=status,
        error=reason,
        attempted=attempted,
        started_at=started,
        finished_at=None if started is None else time.time(),
    )
    return Finished(action, outcome, None)


def _whole_plan_groups(
    executor: Executor,
    actions: Sequence[Action],
    waits: dict[int, set[int]],
    dependents: dict[int, list[int]],
) -> dict[str, set[int]]:
    """The actions of each whole-plan provider (no-ops aside). Dependencies among one group's
    actions are the provider's to order, so the engine drops them from its graph."""
    groups: dict[str, set[int]] = {}
    for action in actions:
        name = executor.group_of(action)
        if name is not None and action.kind is not _NOOP:
            groups.setdefault(name, set()).add(action.index)
    for members in groups.values():
        for index in members:
            for inner in waits[index] & members:
                waits[index].discard(inner)
                dependents[inner].remove(index)
    return groups


def _dependency_graph(
    actions: Sequence[Action],
) -> tuple[dict[int, set[int]], dict[int, list[int]]]:
    by_address = {a.address: a.index for a in actions}
    waits: dict[int, set[int]] = {a.index: set() for a in actions}
    for action in actions:
        if action.kind is _DELETE:
            continue
        for dep in action.depends_on:
            if dep in by_address and dep != action.address:
                waits[action.index].add(by_address[dep])
    deleted = {a.address: a.index for a in actions if a.kind is _DELETE}
    for action in actions:
        for dep in action.depends_on:
            if dep in deleted and dep != action.address:
                waits[deleted[dep]].add(action.index)
                waits[action.index].discard(deleted[dep])
    dependents: dict[int, list[int]] = {a.index: [] for a in actions}
    for index, blockers in waits.items():
        for blocker in blockers:
            dependents[blocker].append(index)
    return waits, dependents
