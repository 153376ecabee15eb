"""The gate and backups as a user drives them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from driftgate.cli import exitcodes as codes
from driftgate.testing.cli import run
from driftgate.testing.stacks import write_stack


def stack(tmp_path: Path, *, db_content: str = "rows v1", smoke_content: str = "s") -> Path:
    d = write_stack(
        tmp_path / "stack",
        modules={
            "web": [
                {"type": "file.file", "name": "page", "spec": {"path": "web/index.html", "content": "hi"}}
            ],
            "db": [
                {"type": "file.file", "name": "data", "spec": {"path": "db/data.txt", "content": db_content}},
                {"type": "data.value", "name": "schema", "spec": {"input": {"version": 1}}},
            ],
            "smoke": [
                {"type": "file.file", "name": "s", "spec": {"path": "smoke.txt", "content": smoke_content}}
            ],
        },
        stateful=["db", "smoke"],
    )
    smoke = d / "modules" / "smoke.yaml"
    smoke.write_text(smoke.read_text().replace("stateful: true", "stateful: true\nstateful_mode: noop-only"))
    return d


def manual_db(d: Path, ref: str | None, *extra: str) -> list[str]:
    args = ["apply", "-s", str(d), "--auto-approve", "--module", "db", "--allow-stateful", "--confirm", "db"]
    return args + (["--backup-ref", ref] if ref else []) + list(extra)


def backup(capsys: pytest.CaptureFixture[str], d: Path) -> str:
    code, out, _ = run(capsys, "backup", "create", "db", "-s", str(d), "--json")
    assert code == 0
    ref: str = json.loads(out)["ref"]
    return ref


def test_the_gate_from_first_apply_to_restore(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    d = stack(tmp_path)
    live = d / "live"

    code, _, err = run(capsys, "apply", "-s", str(d), "--auto-approve")
    assert code == codes.REFUSED
    assert "--module db" in err and "--allow-stateful" in err and "--confirm db" in err
    assert "--backup-ref" not in err  # issue 9: a module with nothing live yet has nothing to lose
    assert not live.exists()  # nothing touched
    code, out, _ = run(capsys, "runs", "list", "--json")
    assert [r["status"] for r in json.loads(out)["runs"]] == ["refused"]

    code, out, err = run(capsys, "apply", "-s", str(d), "--auto-approve", "--lane", "auto")
    assert code == codes.REFUSED and "held back: stateful module 'db'" in err
    assert (live / "web/index.html").exists() and not (live / "db").exists()

    code, out, _ = run(capsys, "gate", "-s", str(d), "--lane", "auto")
    assert code == codes.REFUSED and "held back db" in out

    ref = backup(capsys, d)
    code, out, _ = run(capsys, *manual_db(d, ref, "--dry-run"))
    assert code == codes.OK and "would apply modules: db" in out and not (live / "db").exists()
    code, out, _ = run(capsys, *manual_db(d, ref))
    assert code == codes.OK, out
    assert (live / "db/data.txt").read_text() == "rows v1"

    stack(tmp_path, db_content="rows v2")
    code, _, err = run(capsys, *manual_db(d, ref))
    assert code == codes.REFUSED and "taken before module 'db' last changed" in err
    assert (live / "db/data.txt").read_text() == "rows v1"

    corrupt = backup(capsys, d)
    artifact = next((tmp_path / "driftgate-home" / "backups" / "test").glob(corrupt))
    artifact.write_bytes(b"not a backup any more")
    code, _, err = run(capsys, *manual_db(d, corrupt))
    assert code == codes.REFUSED and "fails its checksum" in err
    code, _, err = run(capsys, "backup", "verify", corrupt, "-s", str(d))
    assert code == codes.ERROR and "corrupt" in err
    code, _, err = run(capsys, "backup", "restore", corrupt, "-s", str(d), "--yes")
    assert code == codes.ERROR and "corrupt" in err

    good = backup(capsys, d)
    assert run(capsys, "backup", "verify", good, "-s", str(d))[0] == 0
    code, _, _ = run(capsys, *manual_db(d, good))
    assert code == codes.OK and (live / "db/data.txt").read_text() == "rows v2"

    code, out, _ = run(capsys, "backup", "restore", good, "-s", str(d), "--yes")
    assert code == 0 and "Restored 2 resource(s)" in out
    assert (live / "db/data.txt").read_text() == "rows v1"  # the data as it was when backed up
    code, out, _ = run(capsys, "plan", "-s", str(d), "--json")
    changed = {a["address"] for a in json.loads(out)["actions"] if a["action"] != "noop"}
    assert changed == {"db/file.file.data", "smoke/file.file.s"}  # smoke is noop-only: never created

    code, out, _ = run(capsys, "backup", "list", "-s", str(d), "--json")
    assert [r["module"] for r in json.loads(out)["backups"]] == ["db", "db", "db"]


def test_noop_only_module_is_the_smoke_lane(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = stack(tmp_path)
    code, _, err = run(capsys, "apply", "-s", str(d), "--auto-approve", "--module", "smoke")
    assert code == codes.REFUSED and "noop-only" in err
    assert not (d / "live" / "smoke.txt").exists()


def test_plan_calls_out_deletes_in_stateful_modules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = stack(tmp_path)
    run(capsys, "apply", "-s", str(d), "--auto-approve", "--lane", "auto")
    ref = backup(capsys, d)
    assert run(capsys, *manual_db(d, ref))[0] == codes.OK
    modules: dict[str, Any] = {"db": [], "web": [], "smoke": []}
    write_stack(d, modules=modules, stateful=["db", "smoke"])
    code, out, _ = run(capsys, "plan", "-s", str(d))
    assert code == codes.CHANGES
    assert "DATA LOSS RISK" in out and "DELETES data-bearing db/file.file.data (module 'db')" in out
    assert "driftgate backup create db" in out and "<module>" not in out


def test_a_module_made_stateful_with_nothing_to_apply_is_recorded_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    """Attack: ``stateful: true`` committed with no change to apply was never recorded, so a later
    commit flipping it back and removing a resource went through the auto lane."""
    modules: dict[str, Any] = {
        "people": [{"type": "file.file", "name": "roster", "spec": {"path": "roster.txt", "content": "a,b"}}]
    }
    d = write_stack(tmp_path / "stack", modules=modules)
    auto = ["apply", "-s", str(d), "--auto-approve", "--lane", "auto"]
    assert run(capsys, *auto)[0] == codes.OK
    write_stack(d, modules=modules, stateful=["people"])  # the operator's commit: nothing to apply
    code, out, _ = run(capsys, *auto)
    assert code == codes.OK and "No changes" in out
    code, out, _ = run(capsys, "runs", "list", "--json")
    assert len(json.loads(out)["runs"]) == 1  # still no run for an apply with nothing to do
    write_stack(d, modules={"people": []})  # the attacker's commit: stateful: false, and the line removed
    code, _, err = run(capsys, *auto)
    assert code == codes.REFUSED and "data-bearing people/file.file.roster" in err
    assert (d / "live" / "roster.txt").read_text() == "a,b"


def test_apply_with_a_module_shows_and_asks_about_exactly_that(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    """Issue 23, item 4: ``apply --module db`` showed the whole stack's plan (changes it would not
    apply among them) and counted no-ops as actions."""
    d = stack(tmp_path)
    run(capsys, "apply", "-s", str(d), "--auto-approve", "--lane", "auto")
    assert run(capsys, *manual_db(d, None))[0] == codes.OK  # only creates: nothing to lose yet
    stack(tmp_path, db_content="rows v2")
    web = d / "modules" / "web.yaml"
    web.write_text(web.read_text().replace("content: hi", "content: hello"))
    ref = backup(capsys, d)
    code, out, _ = run(capsys, *manual_db(d, ref))
    assert code == codes.OK, out
    assert "db/file.file.data" in out and "web/file.file.page" not in out  # only what it applies
    assert "1 change: 1 SUCCESS (1 unchanged)" in out  # the schema value is a no-op, not an action
