"""The Python SDK: ``serve(provider)`` makes any provider a plugin executable.

The provider is written against the in-process contract (``driftgate.providers.base``): it raises
``ProviderError`` and its kin, and the SDK turns every failure into diagnostics and action
statuses on the wire, so nothing a provider does reaches driftgate as a bare exception.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
from collections.abc import Iterator, Mapping
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

from driftgate.plugin import wire
from driftgate.plugin.manifest import PROTOCOL_MAJOR, manifest_of
from driftgate.plugin.proto import provider_pb2 as pb
from driftgate.plugin.proto import provider_pb2_grpc as rpc
from driftgate.providers.base import PER_ACTION, Change, Provider, ProviderContext

RESULTS_PER_MESSAGE = 100
_STATUSES = {
    "SUCCESS": pb.SUCCESS,
    "ERROR": pb.ERROR,
    "DELETE_FAILED": pb.DELETE_FAILED,
    "COMPENSATED": pb.COMPENSATED,
    "COMPENSATION_FAILED": pb.COMPENSATION_FAILED,
}
_KINDS = {
    pb.CREATE: "create",
    pb.UPDATE: "update",
    pb.REPLACE: "replace",
    pb.DELETE: "delete",
    pb.NOOP: "noop",
}


class Servicer(rpc.ProviderServicer):
    """The provider protocol over one in-process provider."""

    def __init__(self, provider: Provider, manifest: Mapping[str, Any], closed: threading.Event) -> None:
        self.provider = provider
        self.manifest = dict(manifest)
        self.closed = closed

    def GetManifest(self, request: pb.GetManifest.Request, context: Any) -> pb.GetManifest.Response:
        return pb.GetManifest.Response(manifest_json=json.dumps(self.manifest))

    def Configure(self, request: pb.Configure.Request, context: Any) -> pb.Configure.Response:
        try:
            config = wire.loads(request.config_json, what="config")
            self.provider.configure(config, ProviderContext(stack_dir=Path(request.stack_dir or ".")))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a diagnostic
            return pb.Configure.Response(diagnostics=[wire.from_exception(exc)])
        return pb.Configure.Response()

    def ValidateResourceConfig(
        self, request: pb.ValidateResourceConfig.Request, context: Any
    ) -> pb.ValidateResourceConfig.Response:
        schema = self.provider.kinds().get(request.type)
        if schema is None:
            return pb.ValidateResourceConfig.Response(
                diagnostics=[wire.error(f"unknown kind {request.type!r}")]
            )
        try:
            attributes = wire.loads(request.attributes_json, what="attributes")
        except Exception as exc:  # noqa: BLE001
            return pb.ValidateResourceConfig.Response(diagnostics=[wire.from_exception(exc)])
        found = [
            wire.error(f"unknown attribute {k!r}", path=[k]) for k in attributes if k not in schema.attributes
        ]
        unknown = set(request.unknown)  # set to a reference: known at plan or apply, not missing
        for name, attr in schema.attributes.items():
            if name in unknown:
                continue
            if attr.required and attributes.get(name) is None:
                found.append(wire.error(f"{name} is required", path=[name]))
            reason = attr.type_error(attributes.get(name))
            if reason:
                found.append(wire.error(f"{name}: {reason}", path=[name]))
        return pb.ValidateResourceConfig.Response(diagnostics=found)

    def ReadResources(self, request: pb.ReadResources.Request, context: Any) -> pb.ReadResources.Response:
        return pb.ReadResources.Response(results=[self._read(r) for r in request.resources])

    def _read(self, resource: pb.Resource) -> pb.ReadResources.Result:
        if resource.type not in self.provider.kinds():
            return pb.ReadResources.Result(diagnostics=[wire.error(f"unknown kind {resource.type!r}")])
        try:
            observed = self.provider.read(
                resource.type,
                wire.loads(resource.attributes_json, what="attributes"),
                wire.loads(resource.outputs_json, what="outputs"),
            )
        except Exception as exc:  # noqa: BLE001
            return pb.ReadResources.Result(diagnostics=[wire.from_exception(exc)])
        if observed is None:
            return pb.ReadResources.Result(exists=False)
        return pb.ReadResources.Result(
            exists=True,
            attributes_json=wire.dumps(observed.attributes),
            outputs_json=wire.dumps(observed.outputs),
        )

    def PlanResourceChange(
        self, request: pb.PlanResourceChange.Request, context: Any
    ) -> pb.PlanResourceChange.Response:
        try:
            changed = self.provider.diff(
                request.type,
                wire.loads(request.current_json, what="current"),
                wire.loads(request.desired_json, what="desired"),
            )
        except Exception as exc:  # noqa: BLE001
            return pb.PlanResourceChange.Response(diagnostics=[wire.from_exception(exc)])
        return pb.PlanResourceChange.Response(changed=list(changed))

    def ApplyResourceChange(
        self, request: pb.ApplyResourceChange.Request, context: Any
    ) -> pb.ApplyResourceChange.Response:
        status, error, outputs = self._apply(request)
        return pb.ApplyResourceChange.Response(status=status, error=error, outputs_json=wire.dumps(outputs))

    def ApplyPlan(self, request: pb.ApplyPlan.Request, context: Any) -> pb.ApplyPlan.Response:
        """A whole-plan provider gets every action at once; any other, each in the order given."""
        if PER_ACTION not in self.provider.apply_modes:
            return self._apply_whole(request)
        results = []
        for action in request.actions:
            status, error, outputs = self._apply(action)
            results.append(
                pb.ApplyPlan.ActionResult(
                    action_index=action.action_index,
                    status=status,
                    error=error,
                    outputs_json=wire.dumps(outputs),
                )
            )
        return pb.ApplyPlan.Response(actions=results, action_count=len(results))

    def ApplyResourceChanges(
        self, request: pb.ApplyResourceChanges.Request, context: Any
    ) -> Iterator[pb.ApplyResourceChanges.Results]:
        """Each action in turn, on a thread of its own; a finished action's result goes back at once,
        with the others already finished (up to 100): one that hangs never holds back those before."""
        finished: queue.Queue[pb.ApplyPlan.ActionResult | None] = queue.Queue()

        def work() -> None:
            for action in request.actions:
                status, error, outputs = self._apply(action)
                result = pb.ApplyPlan.ActionResult(
                    action_index=action.action_index,
                    status=status,
                    error=error,
                    outputs_json=wire.dumps(outputs),
                )
                finished.put(result)
            finished.put(None)

        threading.Thread(target=work, daemon=True, name="driftgate-apply-batch").start()
        while True:
            result = finished.get()
            if result is None:
                return
            done = [result]
            while len(done) < RESULTS_PER_MESSAGE:  # what else is finished already goes along
                try:
                    more = finished.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    yield pb.ApplyResourceChanges.Results(results=done)
                    return
                done.append(more)
            yield pb.ApplyResourceChanges.Results(results=done)

    def _apply_whole(self, request: pb.ApplyPlan.Request) -> pb.ApplyPlan.Response:
        try:
            changes = [
                Change(
                    index=a.action_index,
                    kind=_KINDS.get(a.kind, "unknown"),
                    type=a.resource.type,
                    name=a.resource.name,
                    attributes=wire.loads(a.resource.attributes_json, what="attributes"),
                    prior_outputs=wire.loads(a.prior_outputs_json, what="prior outputs"),
                )
                for a in request.actions
            ]
            applied = self.provider.apply_plan(changes)
        except Exception as exc:  # noqa: BLE001 - a failure is diagnostics, never a crash
            return pb.ApplyPlan.Response(action_count=len(request.actions), errors=[wire.from_exception(exc)])
        return pb.ApplyPlan.Response(
            actions=[
                pb.ApplyPlan.ActionResult(
                    action_index=index,
                    status=_STATUSES.get(result.status, pb.ACTION_STATUS_UNSPECIFIED),
                    error=result.error or "",
                    outputs_json=wire.dumps(result.outputs),
                )
                for index, result in applied.results.items()
            ],
            action_count=len(request.actions),
            errors=[wire.error(e) for e in (*applied.violations, *applied.errors)],
        )

    def _apply(
        self, request: pb.ApplyResourceChange.Request
    ) -> tuple[pb.ActionStatus.ValueType, str, dict[str, Any]]:
        kind, res = _KINDS.get(request.kind), request.resource
        if res.type not in self.provider.kinds():
            return pb.ERROR, f"unknown kind {res.type!r}", {}
        try:
            attributes = wire.loads(res.attributes_json, what="attributes")
            if kind == "create":
                return pb.SUCCESS, "", self.provider.create(res.type, res.name, attributes)
            if kind in ("update", "replace"):
                prior = wire.loads(request.prior_outputs_json, what="prior outputs")
                return pb.SUCCESS, "", self.provider.update(res.type, res.name, attributes, prior)
            if kind == "delete":
                self.provider.delete(res.type, attributes, wire.loads(res.outputs_json, what="outputs"))
                return pb.SUCCESS, "", {}
            if kind == "noop":
                return pb.SUCCESS, "", wire.loads(res.outputs_json, what="outputs")
        except Exception as exc:  # noqa: BLE001 - a failure is a status, never a crash
            return wire.status_of(exc, deleting=kind == "delete"), str(exc), {}
        return pb.ERROR, f"action kind {request.kind} is not one this provider knows", {}

    def ImportResource(self, request: pb.ImportResource.Request, context: Any) -> pb.ImportResource.Response:
        try:
            observed = self.provider.import_resource(request.type, request.id)
        except Exception as exc:  # noqa: BLE001
            return pb.ImportResource.Response(diagnostics=[wire.from_exception(exc)])
        if observed is None:
            return pb.ImportResource.Response(exists=False)
        return pb.ImportResource.Response(
            exists=True,
            attributes_json=wire.dumps(observed.attributes),
            outputs_json=wire.dumps(observed.outputs),
        )

    def ListResources(self, request: pb.ListResources.Request, context: Any) -> pb.ListResources.Response:
        try:
            ids = None if request.attributes_json else self.provider.list_ids(request.type)
            resource_ids = [
                self.provider.resource_id(request.type, wire.loads(a, what="attributes")) or ""
                for a in request.attributes_json
            ]
        except Exception as exc:  # noqa: BLE001
            return pb.ListResources.Response(diagnostics=[wire.from_exception(exc)])
        return pb.ListResources.Response(
            supported=ids is not None or bool(request.attributes_json),
            ids=sorted(ids or ()),
            resource_ids=resource_ids,
        )

    def BackupResource(
        self, request: pb.BackupResource.Request, context: Any
    ) -> Iterator[pb.BackupResource.Chunk]:
        res = request.resource
        try:
            files = self.provider.backup_resource(
                res.type,
                wire.loads(res.attributes_json, what="attributes"),
                wire.loads(res.outputs_json, what="outputs"),
            )
        except Exception as exc:  # noqa: BLE001
            yield pb.BackupResource.Chunk(supported=True, diagnostics=[wire.from_exception(exc)])
            return
        if files is None:
            yield pb.BackupResource.Chunk(supported=False)
            return
        yield pb.BackupResource.Chunk(supported=True)  # a backup with no files is still a backup
        for name, data in sorted(files.items()):
            for start in range(0, max(len(data), 1), wire.CHUNK):
                part = data[start : start + wire.CHUNK]
                yield pb.BackupResource.Chunk(supported=True, file=name, data=part)

    def RestoreResource(
        self, request_iterator: Iterator[pb.RestoreResource.Chunk], context: Any
    ) -> pb.RestoreResource.Response:
        resource, files = _gather(request_iterator)
        if resource is None:
            return pb.RestoreResource.Response(diagnostics=[wire.error("no resource in the restore stream")])
        try:
            attributes = wire.loads(resource.attributes_json, what="attributes")
            observed = self.provider.restore_resource(resource.type, attributes, files)
        except Exception as exc:  # noqa: BLE001
            return pb.RestoreResource.Response(diagnostics=[wire.from_exception(exc)])
        return pb.RestoreResource.Response(
            attributes_json=wire.dumps(observed.attributes), outputs_json=wire.dumps(observed.outputs)
        )

    def CheckBackup(
        self, request_iterator: Iterator[pb.RestoreResource.Chunk], context: Any
    ) -> pb.CheckBackup.Response:
        resource, files = _gather(request_iterator)
        if resource is None:
            return pb.CheckBackup.Response(diagnostics=[wire.error("no resource in the check stream")])
        try:
            self.provider.check_backup(resource.type, files)
        except Exception as exc:  # noqa: BLE001
            return pb.CheckBackup.Response(diagnostics=[wire.from_exception(exc)])
        return pb.CheckBackup.Response()

    def Stop(self, request: pb.Stop.Request, context: Any) -> pb.Stop.Response:
        return pb.Stop.Response()

    def Close(self, request: pb.Close.Request, context: Any) -> pb.Close.Response:
        close = getattr(self.provider, "close", None)
        diagnostics = []
        if callable(close):
            try:
                close()
            except Exception as exc:  # noqa: BLE001
                diagnostics.append(wire.from_exception(exc))
        self.closed.set()
        return pb.Close.Response(diagnostics=diagnostics)


def _orphaned(parent: int, closed: threading.Event) -> None:
    """A plugin whose driftgate died without closing it stops by itself (it is re-parented)."""
    while not closed.wait(1.0):
        if os.getppid() != parent:
            closed.set()


def serve(
    provider: Provider,
    *,
    version: str | None = None,
    samples: Mapping[str, list[dict[str, Any]]] | None = None,
    apply_modes: tuple[str, ...] | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> int:
    """Serve ``provider`` as a plugin until driftgate closes it; returns the exit code.

    Run by driftgate, never by hand: without driftgate's magic cookie it explains itself and exits 1.
    """
    if os.environ.get(wire.COOKIE_ENV) != wire.COOKIE:
        print(
            "This is a driftgate provider plugin. driftgate starts it when a stack names it;"
            " it is not meant to be run by hand.",
            file=sys.stderr,
        )
        return 1
    directory = Path(os.environ.get(wire.DIR_ENV, ""))
    if not directory.is_dir():
        print(f"driftgate plugin: {wire.DIR_ENV} is not a directory", file=sys.stderr)
        return 1
    modes = apply_modes or provider.apply_modes
    document = (
        dict(manifest)
        if manifest is not None
        else manifest_of(
            provider, **({"version": version} if version else {}), samples=samples, apply_modes=modes
        )
    )
    closed = threading.Event()
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        options=[
            ("grpc.max_receive_message_length", wire.MAX_MESSAGE),
            ("grpc.max_send_message_length", wire.MAX_MESSAGE),
        ],
    )
    rpc.add_ProviderServicer_to_server(Servicer(provider, document, closed), server)
    socket_path = directory / wire.SOCKET_NAME
    server.add_insecure_port(f"unix:{socket_path}")
    server.start()
    print(wire.handshake_line(PROTOCOL_MAJOR, str(socket_path)), flush=True)
    threading.Thread(target=_orphaned, args=(os.getppid(), closed), daemon=True).start()
    closed.wait()
    server.stop(grace=1).wait()
    return 0


def _gather(chunks: Iterator[pb.RestoreResource.Chunk]) -> tuple[pb.Resource | None, dict[str, bytes]]:
    """A restore-shaped stream put back together: the resource, and each file's bytes."""
    resource: pb.Resource | None = None
    parts: dict[str, list[bytes]] = {}
    for chunk in chunks:
        if chunk.HasField("resource"):
            resource = chunk.resource
        if chunk.file:
            parts.setdefault(chunk.file, []).append(chunk.data)
    return resource, {name: b"".join(data) for name, data in parts.items()}
