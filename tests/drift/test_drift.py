"""Drift detection: changed, deleted, unmanaged; matched by address."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from driftgate.cli import exitcodes as codes
from driftgate.cli.app import main
from driftgate.drift.detect import detect_drift
from driftgate.services.drift.scan import scan_drift
from driftgate.services.stacks.session import apply_session
from driftgate.services.workspace import Workspace
from driftgate.store import stacks as stacks_db
from driftgate.store import states as states_db
from driftgate.testing.stacks import write_stack


def stack(tmp_path: Path) -> Path:
    return write_stack(
        tmp_path / "s",
        modules={
            "web": [
                {"type": "file.file", "name": "a", "spec": {"path": "a.txt", "content": "A"}},
                {"type": "file.file", "name": "b", "spec": {"path": "b.txt", "content": "B"}},
                {"type": "data.value", "name": "v", "spec": {"input": 1}},
            ],
            "ops": [
                {
                    "type": "file.file",
                    "name": "c",
                    "spec": {"path": "sub/c.txt", "content": "C", "mode": "0600"},
                }
            ],
        },
    )


def applied(ws: Workspace, tmp_path: Path) -> Path:
    d = stack(tmp_path)
    with apply_session(ws, d) as session:
        assert session.execute().full_success
    return d


def test_no_drift_then_changed_deleted_unmanaged(ws: Workspace, tmp_path: Path) -> None:
    d = applied(ws, tmp_path)
    clean = scan_drift(ws, d)
    assert clean.exit_code() == 0 and clean.scanned == 4
    (d / "live/a.txt").write_text("edited by hand")
    (d / "live/sub/c.txt").chmod(0o644)
    (d / "live/b.txt").unlink()
    (d / "live/stray.txt").write_text("nobody declared me")
    report = scan_drift(ws, d)
    assert report.exit_code() == 2
    found = {i.address: i for i in report.items}
    assert found["web/file.file.a"].kind == "changed"
    assert [(c.name, c.new, c.old) for c in found["web/file.file.a"].changes] == [
        ("content", "A", "edited by hand")
    ]
    assert [(c.name, c.new, c.old) for c in found["ops/file.file.c"].changes] == [("mode", "0600", "0644")]
    assert found["web/file.file.b"].kind == "deleted"
    assert found["(unmanaged)/file.file[stray.txt]"].kind == "unmanaged"
    assert "web/data.value.v" not in found
    only_ops = scan_drift(ws, d, modules=["ops"])
    assert [i.address for i in only_ops.items] == ["ops/file.file.c"]  # and no unmanaged outside the scope


def test_results_are_matched_by_address_not_position(ws: Workspace, tmp_path: Path) -> None:
    d = applied(ws, tmp_path)
    (d / "live/b.txt").write_text("changed")
    (d / "live/zzz.txt").write_text("z")
    (d / "live/aaa.txt").write_text("a")

    stack_obj = ws.load_stack(d)
    providers: dict[str, Any] = ws.providers_for(stack_obj)
    with ws.transaction() as conn:
        row = stacks_db.find_stack(conn, "test")
        assert row is not None
        recorded = states_db.load_state(conn, row.id)
    reordered: Mapping[str, Any] = dict(reversed(list(recorded.items())))
    report = detect_drift("test", reordered, providers=providers, secrets=ws.secrets())
    by = report.by_address()
    assert by["web/file.file.b"].changes[0].old == "changed"
    assert set(by) == {"web/file.file.b", "(unmanaged)/file.file[aaa.txt]", "(unmanaged)/file.file[zzz.txt]"}


def test_secret_backed_values_are_compared_but_never_shown(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFT_SECRET", "s3cret-in-a-file")
    d = write_stack(
        tmp_path / "s",
        modules={
            "m": [
                {
                    "type": "file.file",
                    "name": "f",
                    "spec": {"path": "f", "content": "secret://env/DRIFT_SECRET"},
                }
            ]
        },
    )
    with apply_session(ws, d) as session:
        session.execute()
    assert scan_drift(ws, d).exit_code() == 0
    (d / "live/f").write_text("tampered")
    report = scan_drift(ws, d)
    (item,) = report.items
    assert (item.changes[0].old, item.changes[0].new) == ("(sensitive)", "secret://env/DRIFT_SECRET")
    assert "s3cret-in-a-file" not in json.dumps(report.to_dict()) and "tampered" not in json.dumps(
        report.to_dict()
    )


def test_drift_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = stack(tmp_path)
    assert main(["apply", "-s", str(d), "--auto-approve"]) == 0
    capsys.readouterr()
    assert main(["drift", "-s", str(d)]) == codes.OK
    assert "No drift: 4 resources" in capsys.readouterr().out
    (d / "live/a.txt").write_text("x")
    assert main(["drift", "-s", str(d)]) == codes.CHANGES
    assert "web/file.file.a" in capsys.readouterr().out
    assert main(["drift", "-s", str(d), "--json"]) == codes.CHANGES
    assert json.loads(capsys.readouterr().out)["drifted"] == 1
    assert main(["drift", "-s", str(d), "--module", "nope"]) == codes.ERROR
