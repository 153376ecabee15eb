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
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import grpc

from driftgate.errors import ProviderConfigError, ProviderCrashed, ProviderError
from driftgate.plugin import wire
from driftgate.plugin.contract import check_plan_result
from driftgate.plugin.manifest import CAP_BATCH_READ, PROTOCOL_MAJOR, Manifest, PluginRefused, parse_manifest
from driftgate.plugin.proto import provider_pb2 as pb
from driftgate.plugin.proto import provider_pb2_grpc as rpc
from driftgate.providers.base import Change, Observed, PlanResult, ProviderContext
from driftgate.security.logs import get_logger
from driftgate.security.redact import redact
from driftgate.spec.schema import KindSchema

log = get_logger("driftgate.plugin")
START_TIMEOUT = 10.0  # seconds from start to a manifest
CALL_TIMEOUT = 120.0  # any call but an apply's (which takes the action timeout)
STOP_GRACE = 3.0
READ_BATCH = 1000  # resources per ReadResources call
T = TypeVar("T")


class PluginProcess:
    """One running plugin (one per provider per run), from handshake to stop."""

    def __init__(self, argv: Sequence[str], *, source: str, cwd: Path | None = None) -> None:
        self.argv = list(argv)
        self.source = source
        self.cwd = cwd
        self.directory = Path(tempfile.mkdtemp(prefix="driftgate-plugin-"))  # 0700
        self.proc: subprocess.Popen[bytes] | None = None
        self.channel: grpc.Channel | None = None
        self.stub: rpc.ProviderStub | None = None
        self.manifest: Manifest | None = None
        self.started_in: float | None = None

    def start(self, *, timeout: float = START_TIMEOUT) -> Manifest:
        began = time.perf_counter()
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
        try:
            socket_path = self._handshake(timeout)
            self.channel = grpc.insecure_channel(
                f"unix:{socket_path}",
                options=[
                    ("grpc.max_receive_message_length", wire.MAX_MESSAGE),
                    ("grpc.max_send_message_length", wire.MAX_MESSAGE),
                ],
            )
            grpc.channel_ready_future(self.channel).result(
                timeout=max(0.1, timeout - (time.perf_counter() - began))
            )
            self.stub = rpc.ProviderStub(self.channel)
            answer = self.call(lambda s: s.GetManifest(pb.GetManifest.Request(), timeout=timeout))
            wire.raise_for(answer.diagnostics, source=self.source)
            self.manifest = parse_manifest(answer.manifest_json, source=self.source)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.perf_counter() - began
        return self.manifest

    def _handshake(self, timeout: float) -> str:
        """The socket path from the plugin's first line, once it is checked."""
        assert self.proc is not None and self.proc.stdout is not None
        line = _read_line(self.proc, timeout)
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
            raise ProviderError(redact(f"{self.source}: {code.name if code else 'RPC'}: {details}")) from None

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


class PluginProvider:
    """A provider in another process, behind the in-process contract."""

    inline = False

    def __init__(self, process: PluginProcess, *, action_timeout: float = 300.0) -> None:
        assert process.manifest is not None
        self.process = process
        self.manifest = process.manifest
        self.name = self.manifest.name
        self.capabilities = self.manifest.capabilities
        self.apply_modes = self.manifest.apply_modes
        self.action_timeout = action_timeout

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

    def validate(self, type_: str, attributes: Mapping[str, Any]) -> list[str]:
        request = pb.ValidateResourceConfig.Request(type=type_, attributes_json=wire.dumps(attributes))
        answer = self.process.call(lambda s: s.ValidateResourceConfig(request, timeout=CALL_TIMEOUT))
        return wire.errors_of(answer.diagnostics)

    def read(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> Observed | None:
        return self.read_many([(type_, attributes, outputs)])[0]

    def read_many(
        self, items: Sequence[tuple[str, Mapping[str, Any], Mapping[str, Any]]]
    ) -> list[Observed | None]:
        """Many reads in as few calls as the provider allows (``batch_read``)."""
        size = READ_BATCH if CAP_BATCH_READ in self.capabilities else 1
        found: list[Observed | None] = []
        for start in range(0, len(items), size):
            batch = items[start : start + size]
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
            type=type_, current_json=wire.dumps(current), desired_json=wire.dumps(desired)
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
        request = pb.ApplyPlan.Request(
            actions=[
                pb.ApplyResourceChange.Request(
                    action_index=c.index,
                    kind=_KINDS[c.kind],
                    resource=pb.Resource(type=c.type, name=c.name, attributes_json=wire.dumps(c.attributes)),
                    prior_outputs_json=wire.dumps(c.prior_outputs),
                )
                for c in changes
            ]
        )
        answer = self.process.call(lambda s: s.ApplyPlan(request, timeout=self.action_timeout))
        checked = check_plan_result(answer, [c.index for c in changes], source=self.source)
        return PlanResult(
            results=dict(checked.outcomes),
            violations=tuple(checked.violations),
            errors=tuple(checked.errors),
        )

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
        request = pb.ListResources.Request(type=type_, attributes_json=[wire.dumps(attributes)])
        answer = self.process.call(lambda s: s.ListResources(request, timeout=CALL_TIMEOUT))
        wire.raise_for(answer.diagnostics, source=self.source)
        return (answer.resource_ids[0] or None) if answer.resource_ids else None

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
        def chunks() -> Iterator[pb.RestoreResource.Chunk]:
            yield pb.RestoreResource.Chunk(
                resource=pb.Resource(type=type_, attributes_json=wire.dumps(attributes))
            )
            for name, data in sorted(files.items()):
                for start in range(0, max(len(data), 1), 1024 * 1024):
                    yield pb.RestoreResource.Chunk(file=name, data=data[start : start + 1024 * 1024])

        answer = self.process.call(lambda s: s.RestoreResource(chunks(), timeout=self.action_timeout))
        wire.raise_for(answer.diagnostics, source=self.source)
        return self._observed(answer)

    def close(self) -> None:
        self.process.stop()
