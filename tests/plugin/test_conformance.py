"""``driftgate plugin check``: the conformance kit, against plugins that conform and one that lies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftgate.cli import exitcodes as codes
from driftgate.testing.cli import DRIFTGATE, run
from tests.plugin.fakes import liar_plugin


@pytest.mark.parametrize("name", ["data", "file"])
def test_the_built_ins_served_as_plugins_conform(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "plugin", "check", "--config", '{"root": "live"}', "--", DRIFTGATE, "plugin", "serve", name
    )
    assert code == 0, out
    assert out.splitlines()[-1].endswith("0 failed: the plugin conforms")
    assert "PASS  handshake and manifest" in out and "PASS  stop and close" in out


def test_a_lying_plugin_fails_the_checks_it_breaks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "plugin", "check", "--json", "--", str(liar_plugin(tmp_path)))
    report = json.loads(out)
    assert code == codes.ERROR and report["passed"] is False
    failed = {c["name"]: c["detail"] for c in report["checks"] if not c["passed"]}
    assert failed["data.value a: create and read back"] == "read after create finds nothing"
    assert failed["ApplyPlan: one valid result per planned action"] == "action 0: status UNSPECIFIED"
    assert failed["stop and close, then the plugin exits by itself"] == "still running 5 s after Close"
    passed = {c["name"] for c in report["checks"] if c["passed"]}
    assert {"handshake and manifest", "engine rejects an UNSPECIFIED status and a short result"} <= passed


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "plugin", "check")
    assert code == codes.USAGE and "name the plugin" in err
    code, _, err = run(capsys, "plugin", "check", "--config", "[1]", "--", "x")
    assert code == codes.USAGE and "--config must be a JSON object" in err
    code, out, _ = run(capsys, "plugin", "check", "--", str(tmp_path / "missing"))
    assert code == codes.ERROR and "FAIL  handshake and manifest: plugin: cannot start" in out
