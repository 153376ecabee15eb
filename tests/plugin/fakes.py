"""Plugins that misbehave on purpose, as executables (each a Python script run by driftgate)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

HEADER = f"#!{sys.executable}\n"


def script(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    path.write_text(HEADER + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def serving(
    directory: Path, name: str, *, manifest_patch: str = "", provider: str = "DataProvider()"
) -> Path:
    """A plugin serving the data provider, its manifest changed by ``manifest_patch`` (Python code
    over ``doc``)."""
    return script(
        directory,
        name,
        "import sys\n"
        "from driftgate.plugin.manifest import manifest_of\n"
        "from driftgate.plugin.server import serve\n"
        "from driftgate.providers.data import DataProvider\n"
        f"provider = {provider}\n"
        "doc = manifest_of(provider)\n"
        f"{manifest_patch}\n"
        "sys.exit(serve(provider, manifest=doc))\n",
    )


def running_plugins(marker: str = "plugin\0serve") -> list[int]:
    """Pids of this process's live children whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
                state, parent = (entry / "stat").read_text().split(") ", 1)[1].split()[:2]
            except OSError:
                continue
            if marker in cmdline and state != "Z" and int(parent) == os.getpid():
                found.append(int(entry.name))
    return found


SLOW_DATA = '''
import os, time
from driftgate.providers.data import DataProvider

class SlowData(DataProvider):
    """data.value, but an input of "slow" hangs (after saying so in the file MARK)."""

    def create(self, type_, name, attributes):
        if attributes.get("input") == "slow":
            time.sleep(0.3)  # what finished before has left the process: a kill after the mark loses none
            with open(os.environ["MARK"], "w") as mark:
                mark.write(str(os.getpid()))
            time.sleep(float(os.environ.get("HANG", "60")))
        return super().create(type_, name, attributes)
'''


def slow_data_plugin(directory: Path, name: str = "slow-plugin") -> Path:
    """A data plugin whose create of input "slow" hangs; it writes its pid to $MARK first."""
    return script(
        directory,
        name,
        "import sys\n" + SLOW_DATA + "from driftgate.plugin import serve\n" + "sys.exit(serve(SlowData()))\n",
    )


LIAR = """
import os, sys, threading
from concurrent import futures
import grpc
from driftgate.plugin import wire
from driftgate.plugin.manifest import manifest_of
from driftgate.plugin.proto import provider_pb2 as pb, provider_pb2_grpc as rpc
from driftgate.plugin.server import Servicer
from driftgate.providers.data import DataProvider

class Forgetful(DataProvider):
    def read(self, type_, attributes, outputs):
        return None  # never finds what it created

class Liar(Servicer):
    def ApplyPlan(self, request, context):
        first = request.actions[0].action_index
        return pb.ApplyPlan.Response(  # one UNSPECIFIED status, and one result short
            actions=[pb.ApplyPlan.ActionResult(action_index=first, status=pb.ACTION_STATUS_UNSPECIFIED)],
            action_count=len(request.actions),
        )

    def Close(self, request, context):
        return pb.Close.Response()  # ... and never exits

provider = Forgetful()
doc = manifest_of(provider, samples={"data.value": [{"name": "a", "attributes": {"input": 1}}]},
                  apply_modes=("per_action", "whole_plan"))
doc["kinds"][0].pop("virtual", None)
server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
rpc.add_ProviderServicer_to_server(Liar(provider, doc, threading.Event()), server)
path = os.path.join(os.environ[wire.DIR_ENV], "plugin.sock")
server.add_insecure_port("unix:" + path)
server.start()
print(wire.handshake_line(2, path), flush=True)
server.wait_for_termination()
"""


def liar_plugin(directory: Path) -> Path:
    """A plugin written without the SDK that forgets what it creates, answers ApplyPlan with an
    UNSPECIFIED status and a short result, and does not exit when closed."""
    return script(directory, "liar-plugin", LIAR)


WHOLE_DATA = '''
from driftgate.providers.base import WHOLE_PLAN, ChangeResult, PlanResult
from driftgate.providers.data import DataProvider

class WholeData(DataProvider):
    """data.value applied as whole plans only (one call per apply, like a Terraform stack)."""

    apply_modes = (WHOLE_PLAN,)

    def apply_plan(self, changes):
        results = {}
        for change in changes:
            if change.kind == "delete":
                results[change.index] = ChangeResult("SUCCESS")
            else:
                results[change.index] = ChangeResult("SUCCESS", None, self.create(change.type, change.name, change.attributes))
        return PlanResult(results)
'''


def whole_data_plugin(directory: Path, name: str = "whole-plugin") -> Path:
    return script(
        directory,
        name,
        "import sys\n" + WHOLE_DATA + "from driftgate.plugin import serve\nsys.exit(serve(WholeData()))\n",
    )


LYING_PLAN = """
import sys
from driftgate.providers.base import WHOLE_PLAN, ChangeResult, PlanResult
from driftgate.providers.data import DataProvider
from driftgate.plugin import serve
from driftgate.plugin.manifest import manifest_of
from driftgate.plugin.server import Servicer
from driftgate.plugin.proto import provider_pb2 as pb

class Lying(DataProvider):
    apply_modes = (WHOLE_PLAN,)

def apply_plan(self, request, context):
    mode = __import__("os").environ.get("LIE", "unspecified")
    first = request.actions[0].action_index
    if mode == "unspecified":
        results = [pb.ApplyPlan.ActionResult(action_index=a.action_index, status=pb.ACTION_STATUS_UNSPECIFIED) for a in request.actions]
        return pb.ApplyPlan.Response(actions=results, action_count=len(request.actions))
    results = [pb.ApplyPlan.ActionResult(action_index=first, status=pb.SUCCESS, outputs_json="{}")]
    return pb.ApplyPlan.Response(actions=results, action_count=len(request.actions))  # short

Servicer.ApplyPlan = apply_plan
sys.exit(serve(Lying()))
"""


def lying_plan_plugin(directory: Path, name: str = "lying-plugin") -> Path:
    """A whole-plan plugin whose ApplyPlan answers UNSPECIFIED statuses ($LIE=unspecified) or a
    short result ($LIE=short)."""
    return script(directory, name, LYING_PLAN)


BATCH_LIAR = """
import os, sys, time
from driftgate.plugin import serve
from driftgate.plugin.manifest import manifest_of
from driftgate.plugin.server import Servicer
from driftgate.plugin.proto import provider_pb2 as pb
from driftgate.providers.data import DataProvider

MODE = os.environ.get("BATCH_LIE", "duplicate")

class Dying(DataProvider):
    def create(self, type_, name, attributes):
        if attributes.get("input") == "die":
            time.sleep(float(os.environ.get("DIE_DELAY", "0.2")))  # what finished before is on the wire
            os.kill(os.getpid(), 9)
        return super().create(type_, name, attributes)

real = Servicer.ApplyResourceChanges

def lie(self, request, context):
    yield from real(self, request, context)
    first = request.actions[0].action_index
    if MODE == "duplicate":  # SUCCESS, then ERROR for the same action
        extra = pb.ApplyPlan.ActionResult(action_index=first, status=pb.ERROR, error="second thoughts")
    else:  # a result for an action that was never planned
        extra = pb.ApplyPlan.ActionResult(action_index=9999, status=pb.SUCCESS, outputs_json="{}")
    yield pb.ApplyResourceChanges.Results(results=[extra])

if MODE != "die":
    Servicer.ApplyResourceChanges = lie
provider = Dying()
doc = manifest_of(provider)
doc["capabilities"]["batch_apply"] = True
sys.exit(serve(provider, manifest=doc))
"""


def batch_liar_plugin(directory: Path, name: str = "batch-liar") -> Path:
    """A plugin applying in batches (ApplyResourceChanges) that, by $BATCH_LIE, reports a second
    result for an action (duplicate), a result for an action never planned (unplanned), or dies on
    the create of input "die" after the actions before it finished (die)."""
    return script(directory, name, BATCH_LIAR)
