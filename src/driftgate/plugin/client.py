"""The engine's side of a plugin: start it, shake hands, check its manifest, call it, stop it.

``PluginProvider`` implements the in-process provider contract over the wire, so the planner,
the executor, drift and backups use a plugin exactly as they use a built-in provider. Lifecycle,
like HashiCorp go-plugin: the plugin starts in its own process group with the magic cookie and a
0700 directory for its socket; it is stopped with ``Stop``, then ``Close``, then SIGTERM, then
SIGKILL of its process group. Its stderr goes through the redactor into driftgate's log.
"""

from __future__ import annotations

import contextlib
import os
import queue
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import grpc

from driftgate.errors import ProviderConfigError, ProviderCrashed, ProviderError
from driftgate.plugin import wire
from driftgate.plugin.contract import check_plan_result, reported_outcome
from driftgate.plugin.manifest import PROTOCOL_MAJOR, Manifest, PluginRefused, parse_manifest
from driftgate.plugin.proto import provider_pb2 as pb
from driftgate.plugin.proto import provider_pb2_grpc as rpc
from driftgate.providers.base import (
    CAP_BATCH_READ,
    Change,
    ChangeResult,
    NoExpansion,
    Observed,
    PlanResult,
    ProviderContext,
)
from driftgate.security.logs import get_logger
from driftgate.security.redact import redact
from driftgate.spec.schema import KindSchema

log = get_logger("driftgate.plugin")
START_TIMEOUT = 10.0  # seconds from start to a manifest
CALL_TIMEOUT = 120.0  # any call but an apply's (which takes the action timeout)
STOP_GRACE = 3.0
READ_BATCH = 1000  # resources per ReadResources call
READS_IN_FLIGHT = 3
T = TypeVar("T")


class PluginCallUnimplemented(ProviderError):
    """The plugin does not implement this (optional) call."""


class PluginProcess:
    """One running plugin (one per provider per run), from handshake to stop."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        source: str,
        cwd: Path | None = None,
        check: Callable[[Manifest], None] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.source = source
        self.cwd = cwd
        self.check = check  # more the caller requires of the manifest (a name, a version)
        self.directory = Path(tempfile.mkdtemp(prefix="driftgate-plugin-"))  # 0700
        self.proc: subprocess.Popen[bytes] | None = None
        self.channel: grpc.Channel | None = None
        self.stub: rpc.ProviderStub | None = None
        self.manifest: Manifest | None = None
        self.started_in: float | None = None
        self._launched_at = 0.0
        self._failed: BaseException | None = None
        self._lock = threading.Lock()

    def start(self, *, timeout: float = START_TIMEOUT) -> Manifest:
        """Launch and wait until the plugin is ready (handshake, manifest checked)."""
        self.launch()
        return self.ready(timeout=timeout)

    def launch(self) -> None:
        """Start the process and return at once: the plugin boots while driftgate goes on (reading
        the stack's specs); ``ready`` waits for it when something first needs it."""
        self._launched_at = time.perf_counter()
        env = {**os.environ, wire.COOKIE_ENV: wire.COOKIE, wire.DIR_ENV: str(self.directory)}
        try:
            self.proc = subprocess.Popen(  # noqa: S603 - the stack names the executable
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=self.cwd,
                start_new_session=True,
            )
        except OSError as exc:
            self._cleanup_dir()
            raise ProviderConfigError(f"{self.source}: cannot start {self.argv[0]}: {exc.strerror}") from None
        threading.Thread(target=self._forward_stderr, daemon=True).start()

    def ready(self, *, timeout: float = START_TIMEOUT) -> Manifest:
        """The checked manifest, once the plugin has shaken hands (within ``timeout`` of its launch);
        a plugin refused once stays refused."""
        with self._lock:
            if self.manifest is not None:
                return self.manifest
            if self._failed is not None:
                raise self._failed
            try:
                manifest = self._connect(timeout)
                if self.check is not None:
                    self.check(manifest)
            except BaseException as exc:
                self._failed = exc
                self.stop()
                raise
            self.manifest = manifest
            self.started_in = time.perf_counter() - self._launched_at
            return manifest

    def _connect(self, timeout: float) -> Manifest:
        socket_path = self._handshake(timeout)
        self.channel = grpc.insecure_channel(
            f"unix:{socket_path}",
            options=[
                ("grpc.max_receive_message_length", wire.MAX_MESSAGE),
                ("grpc.max_send_message_length", wire.MAX_MESSAGE),
            ],
        )
        left = max(0.1, timeout - (time.perf_counter() - self._launched_at))
        grpc.channel_ready_future(self.channel).result(timeout=left)
        self.stub = rpc.ProviderStub(self.channel)
        answer = self.call(lambda s: s.GetManifest(pb.GetManifest.Request(), timeout=timeout))
        wire.raise_for(answer.diagnostics, source=self.source)
        return parse_manifest(answer.manifest_json, source=self.source)

    def _handshake(self, timeout: float) -> str:
        """The socket path from the plugin's first line (due ``timeout`` after launch), once checked."""
        assert self.proc is not None and self.proc.stdout is not None
        line = _read_line(self.proc, max(0.05, timeout - (time.perf_counter() - self._launched_at)))
        if line is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=0.5)  # stdout closed: it is exiting, let it finish
            code = self.proc.poll()
            why = f"exited with {code}" if code is not None else f"said nothing in {timeout:g} s"
            raise PluginRefused(f"{self.source}: no handshake: the plugin {why}")
        parts = line.strip().split("|")
        if len(parts) != 5 or parts[2] != "unix" or parts[4] != "grpc":
            raise PluginRefused(
                f"{self.source}: not a driftgate plugin handshake: {redact(line.strip())[:200]!r}"
            )
        core, major, _, address, _ = parts
        if core != str(wire.CORE_PROTOCOL):
            raise PluginRefused(
                f"{self.source}: handshake protocol {core}; driftgate speaks {wire.CORE_PROTOCOL}"
            )
        if major != str(PROTOCOL_MAJOR):
            raise PluginRefused(
                f"{self.source}: speaks provider protocol {major}; this driftgate speaks {PROTOCOL_MAJOR}"
            )
        path = Path(address)
        if path.parent.resolve() != self.directory.resolve():
            raise PluginRefused(f"{self.source}: its socket is outside the directory driftgate gave it")
        return str(path)

    def _forward_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for raw in self.proc.stderr:
            text = raw.decode("utf-8", "replace").rstrip()
            if text:
                log.info("plugin", plugin=self.source, line=redact(text)[:4000])

    def call(self, fn: Callable[[rpc.ProviderStub], T]) -> T:
        """One RPC. The plugin dying or not answering in time is ``ProviderCrashed`` (a hung plugin
        is killed first); any other transport failure is a ``ProviderError``."""
        if self.stub is None and self.proc is not None and self.manifest is None and self._failed is None:
            self.ready()
        if self.stub is None:
            raise ProviderCrashed(f"{self.source}: the plugin is not running")
        try:
            return fn(self.stub)
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                self.kill()
                raise ProviderCrashed(
                    f"{self.source}: the plugin did not answer in time and was stopped"
                ) from None
            if self.proc is not None and (self.proc.poll() is not None or _exits_soon(self.proc)):
                raise ProviderCrashed(
                    f"{self.source}: the plugin died during the call (exit {self.proc.returncode})"
                ) from None
            details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
            failed = PluginCallUnimplemented if code == grpc.StatusCode.UNIMPLEMENTED else ProviderError
            raise failed(redact(f"{self.source}: {code.name if code else 'RPC'}: {details}")) from None

    def stream(self, fn: Callable[[rpc.ProviderStub], Iterator[T]]) -> Iterator[T]:
        """A streaming RPC's answers, with ``call``'s failure rules. A thread takes each answer off
        the call as soon as it arrives: when the plugin dies, gRPC drops what was received but not
        yet read, and those are results of work the plugin finished."""
        answers = self.call(fn)
        inbox: queue.Queue[tuple[Any, BaseException | None, bool]] = queue.Queue()

        def take() -> None:
            try:
                for answer in answers:
                    inbox.put((answer, None, False))
            except BaseException as exc:  # noqa: BLE001 - handed to the reader, translated there
                inbox.put((None, exc, True))
                return
            inbox.put((None, None, True))

        threading.Thread(target=take, daemon=True, name="driftgate-plugin-stream").start()
        ended = False
        try:
            while True:
                answer, error, ended = inbox.get()
                if error is not None:
                    self.call(partial(_reraise, error))
                if ended:
                    return
                yield answer
        finally:
            if not ended:
                with contextlib.suppress(Exception):
                    answers.cancel()  # type: ignore[attr-defined]  # the reader stopped early

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """Kill the plugin's process group now (a hung plugin)."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        """Stop, Close, SIGTERM, SIGKILL: each only if the one before did not end it."""
        if self.stub is not None and self.alive:
            stub = self.stub
            with contextlib.suppress(grpc.RpcError):
                stub.Stop(pb.Stop.Request(), timeout=1.0)
            with contextlib.suppress(grpc.RpcError):
                stub.Close(pb.Close.Request(), timeout=2.0)
        if self.channel is not None:
            self.channel.close()
        self.stub, self.channel = None, None
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=STOP_GRACE)
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=STOP_GRACE)
            self.kill()
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        self._cleanup_dir()

    def _cleanup_dir(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _exits_soon(proc: subprocess.Popen[bytes]) -> bool:
    """A connection that broke because the plugin is dying: give it a moment to be reaped."""
    try:
        proc.wait(timeout=0.5)
    except subprocess.TimeoutExpired:
        return False
    return True


def _read_batch(stub: rpc.ProviderStub, *, request: pb.ReadResources.Request) -> pb.ReadResources.Response:
    return stub.ReadResources(request, timeout=CALL_TIMEOUT)


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> str | None:
    """The first line the plugin prints, within ``timeout`` (None if it exits or stays silent)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while b"\n" not in buffer and len(buffer) < 4096:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                return None
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                return None
            buffer += chunk
    return buffer.split(b"\n", 1)[0].decode("utf-8", "replace")


_KINDS = {"create": pb.CREATE, "update": pb.UPDATE, "replace": pb.REPLACE, "delete": pb.DELETE}


def _action(change: Change) -> pb.ApplyResourceChange.Request:
    return pb.ApplyResourceChange.Request(
        action_index=change.index,
        kind=_KINDS[change.kind],
        resource=pb.Resource(
            type=change.type, name=change.name, attributes_json=wire.dumps(change.attributes)
        ),
        prior_outputs_json=wire.dumps(change.prior_outputs),
    )


class PluginProvider(NoExpansion):  # the wire has no expanding kinds yet
    """A provider in another process, behind the in-process contract."""

    inline = False

    def __init__(
        self, process: PluginProcess, *, name: str | None = None, action_timeout: float = 300.0
    ) -> None:
        """``name``: the stack's name for it (then the plugin may still be booting; its manifest,
        when it comes, must say the same)."""
        self.process = process
        self.name = name or process.ready().name
        self.action_timeout = action_timeout

    @property
    def manifest(self) -> Manifest:
        """Waits for a plugin still booting (kinds, capabilities and calls all need it)."""
        return self.process.ready()

    @property
    def capabilities(self) -> frozenset[str]:
        return self.manifest.capabilities

    @property
    def apply_modes(self) -> tuple[str, ...]:
        return self.manifest.apply_modes

    @property
    def source(self) -> str:
        return self.process.source

    def kinds(self) -> Mapping[str, KindSchema]:
        return self.manifest.kinds

    def configure(self, config: Mapping[str, Any], ctx: ProviderContext) -> None:
        request = pb.Configure.Request(config_json=wire.dumps(config), stack_dir=str(ctx.stack_dir))
        answer = self.process.call(lambda s: s.Configure(request, timeout=CALL_TIMEOUT))
        problems = wire.errors_of(answer.diagnostics)
        if problems:
            raise ProviderConfigError(f"{self.source}: {'; '.join(problems)}")

    def validate(self, type_: str, attributes: Mapping[str, Any], unknown: Sequence[str] = ()) -> list[str]:
        """``unknown``: attributes set to a reference (not in ``attributes``), never "missing"."""
        request = pb.ValidateResourceConfig.Request(
            type=type_, attributes_json=wire.dumps(attributes), unknown=sorted(unknown)
        )
        answer = self.process.call(lambda s: s.ValidateResourceConfig(request, timeout=CALL_TIMEOUT))
        return wire.errors_of(answer.diagnostics)

    def read(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> Observed | None:
        return self.read_many([(type_, attributes, outputs)])[0]

    def read_many(
        self, items: Sequence[tuple[str, Mapping[str, Any], Mapping[str, Any]]]
    ) -> list[Observed | None]:
        """Many reads in as few calls as the provider allows (``batch_read``), a few batches in
        flight at once so the plugin reads one while driftgate encodes or decodes another."""
        size = READ_BATCH if CAP_BATCH_READ in self.capabilities else 1
        batches = [items[start : start + size] for start in range(0, len(items), size)]
        if len(batches) <= 1:
            return [found for batch in batches for found in self._read_batch(batch)]
        with ThreadPoolExecutor(max_workers=READS_IN_FLIGHT, thread_name_prefix="driftgate-read") as pool:
            return [found for answers in pool.map(self._read_batch, batches) for found in answers]

    def _read_batch(
        self, batch: Sequence[tuple[str, Mapping[str, Any], Mapping[str, Any]]]
    ) -> list[Observed | None]:
        request = pb.ReadResources.Request(
            resources=[
                pb.Resource(type=t, attributes_json=wire.dumps(a), outputs_json=wire.dumps(o))
                for t, a, o in batch
            ]
        )
        answer = self.process.call(partial(_read_batch, request=request))
        wire.raise_for(answer.diagnostics, source=self.source)
        if len(answer.results) != len(batch):
            raise ProviderError(
                f"{self.source}: {len(answer.results)} read results for {len(batch)} resources"
            )
        found: list[Observed | None] = []
        for result in answer.results:
            wire.raise_for(result.diagnostics, source=self.source)
            found.append(self._observed(result) if result.exists else None)
        return found

    def _observed(self, result: Any) -> Observed:
        return Observed(
            wire.loads(result.attributes_json, what=f"{self.source} attributes"),
            wire.loads(result.outputs_json, what=f"{self.source} outputs"),
        )

    def diff(self, type_: str, current: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
        """Only a resource whose values differ is asked about (the provider says which differences
        are real): a plan without changes makes no call per resource."""
        names = self.manifest.kinds[type_].attributes if type_ in self.manifest.kinds else desired
        if all(current.get(n) == desired.get(n) for n in names):
            return []
        request = pb.PlanResourceChange.Request(
            type=type_, current_json=wire.dumps(current), desired_json=wire.dumps_planned(desired)
        )
        answer = self.process.call(lambda s: s.PlanResourceChange(request, timeout=CALL_TIMEOUT))
        wire.raise_for(answer.diagnostics, source=self.source)
        return list(answer.changed)

    def _apply(
        self,
        kind: pb.ActionKind.ValueType,
        resource: pb.Resource,
        prior_outputs: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        request = pb.ApplyResourceChange.Request(
            kind=kind, resource=resource, prior_outputs_json=wire.dumps(prior_outputs)
        )
        answer = self.process.call(lambda s: s.ApplyResourceChange(request, timeout=self.action_timeout))
        wire.raise_for(answer.diagnostics, source=self.source)
        wire.raise_status(answer.status, answer.error, source=self.source)
        return wire.loads(answer.outputs_json, what=f"{self.source} outputs")

    def create(self, type_: str, name: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        return self._apply(
            pb.CREATE, pb.Resource(type=type_, name=name, attributes_json=wire.dumps(attributes))
        )

    def update(
        self, type_: str, name: str, attributes: Mapping[str, Any], prior_outputs: Mapping[str, Any]
    ) -> dict[str, Any]:
        resource = pb.Resource(type=type_, name=name, attributes_json=wire.dumps(attributes))
        return self._apply(pb.UPDATE, resource, prior_outputs)

    def delete(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
        resource = pb.Resource(
            type=type_, attributes_json=wire.dumps(attributes), outputs_json=wire.dumps(outputs)
        )
        self._apply(pb.DELETE, resource)

    def apply_plan(self, changes: Sequence[Change]) -> PlanResult:
        """``ApplyPlan``, its answer checked against the result contract (plugin/contract.py)."""
        request = pb.ApplyPlan.Request(actions=[_action(c) for c in changes])
        answer = self.process.call(lambda s: s.ApplyPlan(request, timeout=self.action_timeout))
        checked = check_plan_result(answer, [c.index for c in changes], source=self.source)
        return PlanResult(
            results=dict(checked.outcomes),
            violations=tuple(checked.violations),
            errors=tuple(checked.errors),
        )

    def apply_many(self, changes: Sequence[Change]) -> Iterator[tuple[int, ChangeResult]]:
        """``ApplyResourceChanges``: each result as the plugin finishes it; a result that is not a
        valid outcome is an ERROR saying so."""
        request = pb.ApplyResourceChanges.Request(actions=[_action(c) for c in changes])
        messages = self.process.stream(lambda s: s.ApplyResourceChanges(request, timeout=self.action_timeout))
        for message in messages:
            for result in message.results:
                reported = reported_outcome(result, self.source)
                if isinstance(reported, str):
                    reported = ChangeResult("ERROR", f"{self.source}: {reported}; live state uncertain")
                yield result.action_index, reported

    def import_resource(self, type_: str, resource_id: str) -> Observed | None:
        request = pb.ImportResource.Request(type=type_, id=resource_id)
        answer = self.process.call(lambda s: s.ImportResource(request, timeout=CALL_TIMEOUT))
        wire.raise_for(answer.diagnostics, source=self.source)
        return self._observed(answer) if answer.exists else None

    def list_ids(self, type_: str) -> set[str] | None:
        answer = self.process.call(
            lambda s: s.ListResources(pb.ListResources.Request(type=type_), timeout=CALL_TIMEOUT)
        )
        wire.raise_for(answer.diagnostics, source=self.source)
        return set(answer.ids) if answer.supported else None

    def resource_id(self, type_: str, attributes: Mapping[str, Any]) -> str | None:
        return self.resource_ids(type_, [attributes])[0]

    def resource_ids(self, type_: str, items: Sequence[Mapping[str, Any]]) -> list[str | None]:
        """One ``ListResources`` call for all of them; a plugin that answers another count says
        nothing of any."""
        request = pb.ListResources.Request(type=type_, attributes_json=[wire.dumps(a) for a in items])
        answer = self.process.call(lambda s: s.ListResources(request, timeout=CALL_TIMEOUT))
        wire.raise_for(answer.diagnostics, source=self.source)
        found = list(answer.resource_ids)
        return [i or None for i in found] if len(found) == len(items) else [None] * len(items)

    def backup_resource(
        self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> dict[str, bytes] | None:
        resource = pb.Resource(
            type=type_, attributes_json=wire.dumps(attributes), outputs_json=wire.dumps(outputs)
        )

        def collect(stub: rpc.ProviderStub) -> dict[str, bytes] | None:
            files: dict[str, bytes] = {}
            for chunk in stub.BackupResource(
                pb.BackupResource.Request(resource=resource), timeout=self.action_timeout
            ):
                wire.raise_for(chunk.diagnostics, source=self.source)
                if not chunk.supported:
                    return None
                if chunk.file:
                    files[chunk.file] = files.get(chunk.file, b"") + chunk.data
            return files

        return self.process.call(collect)

    def restore_resource(
        self, type_: str, attributes: Mapping[str, Any], files: Mapping[str, bytes]
    ) -> Observed:
        chunks = _file_chunks(type_, attributes, files)
        answer = self.process.call(lambda s: s.RestoreResource(chunks, timeout=self.action_timeout))
        wire.raise_for(answer.diagnostics, source=self.source)
        return self._observed(answer)

    def check_backup(self, type_: str, files: Mapping[str, bytes]) -> None:
        """``CheckBackup`` (protocol 2.1); a plugin without it has its backups checked by their
        checksum alone."""
        chunks = _file_chunks(type_, {}, files)
        try:
            answer = self.process.call(lambda s: s.CheckBackup(chunks, timeout=self.action_timeout))
        except PluginCallUnimplemented:
            return None
        wire.raise_for(answer.diagnostics, source=self.source)

    def stop(self) -> None:
        """``Stop``: the plugin should cancel what it is doing (a Ctrl-C); it keeps running."""
        if self.process.stub is not None and self.process.alive:
            with contextlib.suppress(grpc.RpcError):
                self.process.stub.Stop(pb.Stop.Request(), timeout=1.0)

    def close(self) -> None:
        self.process.stop()


def _file_chunks(
    type_: str, attributes: Mapping[str, Any], files: Mapping[str, bytes]
) -> Iterator[pb.RestoreResource.Chunk]:
    """A resource and its backed-up files as a RestoreResource/CheckBackup stream, 1 MiB a chunk."""
    yield pb.RestoreResource.Chunk(resource=pb.Resource(type=type_, attributes_json=wire.dumps(attributes)))
    for name, data in sorted(files.items()):
        for start in range(0, max(len(data), 1), wire.CHUNK):
            yield pb.RestoreResource.Chunk(file=name, data=data[start : start + wire.CHUNK])


def _reraise(error: BaseException, _stub: object) -> None:
    raise error
