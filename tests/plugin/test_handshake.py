"""Starting a plugin: the handshake, the manifest, the refusals, and the stop."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from driftgate.errors import ProviderConfigError, ProviderError
from driftgate.plugin.client import PluginProcess, PluginProvider
from driftgate.plugin.manifest import PROTOCOL_MAJOR, PROTOCOL_MINOR, PluginRefused, check_version
from driftgate.providers.base import ProviderContext
from driftgate.testing.cli import DRIFTGATE
from tests.plugin.fakes import script, serving


def started(argv: list[str]) -> PluginProvider:
    process = PluginProcess(argv, source=f"plugin {Path(argv[0]).name}")
    process.start()
    return PluginProvider(process)


def test_a_built_in_served_as_a_plugin_does_everything_in_process_does(tmp_path: Path) -> None:
    provider = started([DRIFTGATE, "plugin", "serve", "data"])
    try:
        assert provider.name == "data" and list(provider.kinds()) == ["data.value"]
        assert provider.manifest.protocol == (
            PROTOCOL_MAJOR,
            PROTOCOL_MINOR,
        ) and provider.manifest.apply_modes == ("per_action",)
        assert provider.process.started_in is not None and provider.process.directory.is_dir()
        assert oct(provider.process.directory.stat().st_mode & 0o777) == "0o700"
        provider.configure({}, ProviderContext(stack_dir=tmp_path))
        outputs = provider.create("data.value", "v", {"input": {"a": [1, 2]}})
        assert outputs["output"] == {"a": [1, 2]} and outputs["id"]
        observed = provider.read("data.value", {"input": {"a": [1, 2]}}, outputs)
        assert observed is not None and observed.outputs == outputs
        assert provider.diff("data.value", {"input": 1}, {"input": 2}) == ["input"]
        updated = provider.update("data.value", "v", {"input": 3}, outputs)
        assert updated == {"output": 3, "id": outputs["id"]}
        files = provider.backup_resource("data.value", {"input": 3}, updated)
        assert files is not None and set(files) == {"value.json"}
        restored = provider.restore_resource("data.value", {"input": 3}, files)
        assert restored.outputs == updated
        reads = provider.read_many([("data.value", {"input": i}, {"output": i}) for i in range(2500)])
        assert [r.outputs["output"] for r in reads if r] == list(range(2500))
        provider.delete("data.value", {"input": 3}, updated)
    finally:
        provider.close()
    assert provider.process.proc is not None and provider.process.proc.returncode == 0
    assert not provider.process.directory.exists()


def test_provider_failures_arrive_as_errors_never_as_a_dead_plugin(tmp_path: Path) -> None:
    provider = started([DRIFTGATE, "plugin", "serve", "file"])
    try:
        with pytest.raises(ProviderConfigError, match="plugin driftgate: file provider: 'root' must not"):
            provider.configure({"root": "a/../b"}, ProviderContext(stack_dir=tmp_path))
        provider.configure({"root": str(tmp_path)}, ProviderContext(stack_dir=tmp_path))
        with pytest.raises(ProviderError, match="plugin driftgate: "):
            provider.create("file.file", "bad", {"path": "../outside.txt", "content": "x"})
        assert provider.validate("file.file", {"path": 7}) == ["path: expected string, got int (path)"]
        outputs = provider.create("file.file", "ok", {"path": "ok.txt", "content": "fine\n"})
        assert (tmp_path / "ok.txt").read_text() == "fine\n" and outputs["size"] == 5
        assert provider.process.alive
    finally:
        provider.close()


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        (
            'doc["protocol"]["major"] = 3',
            f"speaks provider protocol 3.{PROTOCOL_MINOR}; this driftgate speaks 2.",
        ),
        ('doc["min_engine_version"] = "99.0"', "needs driftgate 99.0 or newer; this is driftgate 0.1.0"),
        (
            'doc["kinds"][0]["attributes"]["input"]["type"] = "blob"',
            "invalid manifest at kinds/0/attributes/input/type",
        ),
        ('doc["surprise"] = True', "invalid manifest at (top): Additional properties are not allowed"),
        ('doc["kinds"][0]["type"] = "other.value"', "provider 'data' declares foreign kind 'other.value'"),
    ],
)
def test_an_incompatible_or_invalid_manifest_is_refused_in_one_line(
    tmp_path: Path, patch: str, reason: str
) -> None:
    plugin = serving(tmp_path, "driftgate-provider-bad", manifest_patch=patch)
    process = PluginProcess([str(plugin)], source="plugin bad")
    with pytest.raises(PluginRefused) as refused:
        process.start()
    assert reason in str(refused.value) and "\n" not in str(refused.value)
    assert process.proc is not None and process.proc.poll() is not None  # stopped, not left running
    assert not process.directory.exists()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "import sys; print('1|3|unix|/tmp/x.sock|grpc', flush=True); sys.stdin.read()",
            "speaks provider protocol 3; this driftgate speaks 2",
        ),
        ("print('hello there', flush=True)", "not a driftgate plugin handshake: 'hello there'"),
        ("import sys; sys.exit(3)", "no handshake: the plugin exited with 3"),
        (
            "import os; print(f'1|2|unix|/tmp/elsewhere.sock|grpc', flush=True)",
            "its socket is outside the directory",
        ),
    ],
)
def test_a_bad_handshake_is_refused(tmp_path: Path, body: str, reason: str) -> None:
    process = PluginProcess([str(script(tmp_path, "plugin", body))], source="plugin odd")
    with pytest.raises(PluginRefused, match="plugin odd: ") as refused:
        process.start(timeout=5)
    assert reason in str(refused.value)
    assert not process.directory.exists()


def test_a_silent_plugin_is_refused_at_the_start_timeout_and_killed(tmp_path: Path) -> None:
    plugin = script(tmp_path, "plugin", "import time; time.sleep(60)")
    process = PluginProcess([str(plugin)], source="plugin mute")
    with pytest.raises(PluginRefused, match="said nothing in 0.5 s"):
        process.start(timeout=0.5)
    assert process.proc is not None and process.proc.poll() is not None


def test_a_missing_executable_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ProviderConfigError, match="cannot start .*nope: No such file"):
        PluginProcess([str(tmp_path / "nope")], source="plugin nope").start()


def test_a_plugin_run_by_hand_explains_itself() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTGATE_PLUGIN")}
    done = subprocess.run([DRIFTGATE, "plugin", "serve", "data"], capture_output=True, text=True, env=env)
    assert done.returncode == 1 and "not meant to be run by hand" in done.stderr and done.stdout == ""


def test_the_stack_version_constraint_is_checked(tmp_path: Path) -> None:
    provider = started([DRIFTGATE, "plugin", "serve", "data"])
    try:
        check_version(provider.manifest, ">=0.1,<1", source="plugin data")
        with pytest.raises(PluginRefused, match="is version 0.1.0; the stack asks for >=1.0,<2"):
            check_version(provider.manifest, ">=1.0,<2", source="plugin data")
        with pytest.raises(ProviderConfigError, match="version constraint 'one' is not valid"):
            check_version(provider.manifest, "one", source="plugin data")
    finally:
        provider.close()


STUBBORN = """
import signal, sys
from driftgate.plugin import server, serve
from driftgate.providers.data import DataProvider
from driftgate.testing.cli import DRIFTGATE
signal.signal(signal.SIGTERM, signal.SIG_IGN)
server.Servicer.Close = lambda self, request, context: server.pb.Close.Response()  # never exits
sys.exit(serve(DataProvider()))
"""


def test_a_plugin_that_ignores_close_and_sigterm_is_killed(tmp_path: Path) -> None:
    process = PluginProcess([str(script(tmp_path, "stubborn", STUBBORN))], source="plugin stubborn")
    process.start()
    assert process.proc is not None
    process.stop()
    assert process.proc.returncode == -9  # SIGKILL, after Stop, Close and SIGTERM did nothing
    assert not process.directory.exists()
