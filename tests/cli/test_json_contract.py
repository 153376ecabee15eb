"""``--json`` is a documented, versioned contract: every command's document fits docs/json's schema.

Each document carries ``format_version``, every timestamp is an RFC 3339 string, and a failing
``--json`` command prints diagnostics on stdout with the exit code it would have without ``--json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from driftgate.cli import exitcodes as codes
from driftgate.cli.app import main
from driftgate.testing.stacks import write_stack

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "json" / "driftgate.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())
REGISTRY: Registry = Registry().with_resource(SCHEMA["$id"], Resource.from_contents(SCHEMA))  # type: ignore[type-arg]


def fits(name: str, document: Any) -> None:
    """Raise unless ``document`` fits ``$defs/<name>`` (formats checked: date-time, uuid)."""
    validator = Draft202012Validator(
        {"$ref": f"{SCHEMA['$id']}#/$defs/{name}"},
        registry=REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    validator.validate(document)
    assert not list(_numeric_timestamps(document)), "a *_at field holds a number, not an RFC 3339 string"


def _numeric_timestamps(value: Any) -> Any:
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_at") and isinstance(item, int | float):
                yield key
            yield from _numeric_timestamps(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numeric_timestamps(item)


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main([*args, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out)


@pytest.fixture
def stack(tmp_path: Path, store_env: str) -> Path:
    return write_stack(
        tmp_path / "stack",
        modules={
            "web": [
                {"type": "file.file", "name": "page", "spec": {"path": "web/index.html", "content": "hi"}},
                {"type": "data.value", "name": "cfg", "spec": {"input": {"replicas": 3}}},
            ],
            "db": [{"type": "file.file", "name": "data", "spec": {"path": "db/data.txt", "content": "v1"}}],
        },
        stateful=["db"],
    )


def test_the_schema_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    with pytest.raises(Exception, match="format_version"):
        fits("runs_list", {"runs": []})
    with pytest.raises(Exception, match="date-time"):
        fits(
            "backup_list",
            {"format_version": "1.0", "backups": [{"ref": "r", "module": "m", "created_at": "yesterday"}]},
        )


def test_every_command_document_fits_its_schema(stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = ["-s", str(stack)]
    code, doc = run_json(capsys, "validate", *s)
    assert code == 0 and doc["valid"] is True
    fits("validate", doc)

    code, doc = run_json(capsys, "plan", *s)
    assert code == codes.CHANGES and doc["summary"]["create"] == 3
    fits("plan", doc)

    code, doc = run_json(capsys, "gate", *s)
    fits("gate", doc)
    code, doc = run_json(capsys, "apply", *s, "--auto-approve", "--lane", "auto", "--dry-run")
    fits("gate", doc)

    code, doc = run_json(
        capsys, "apply", *s, "--auto-approve", "--module", "db", "--allow-stateful", "--confirm", "db"
    )
    assert code == 0 and doc["result"]["action_count"] == 1
    fits("apply", doc)
    code, doc = run_json(capsys, "apply", *s, "--auto-approve")
    assert code == 0 and doc["result"]["full_success"] is True and doc["result"]["action_count"] == 2
    fits("apply", doc)
    run_id = doc["run_id"]

    code, doc = run_json(capsys, "apply", *s, "--auto-approve")
    assert code == 0 and doc["run_id"] is None and doc["result"] is None  # nothing to do
    fits("apply", doc)

    code, doc = run_json(capsys, "runs", "list")
    assert [r["id"] for r in doc["runs"]][0] == run_id
    fits("runs_list", doc)
    code, doc = run_json(capsys, "runs", "show", run_id)
    assert len(doc["ledger"]) == 2
    fits("runs_show", doc)

    code, doc = run_json(capsys, "state", "list", *s)
    assert {r["address"] for r in doc["resources"]} == {
        "web/file.file.page",
        "web/data.value.cfg",
        "db/file.file.data",
    }
    fits("state_list", doc)
    code, doc = run_json(capsys, "state", "show", "web/data.value.cfg", *s)
    fits("state_show", doc)
    code, doc = run_json(capsys, "output", *s)
    fits("output", doc)
    code, doc = run_json(capsys, "output", "web/data.value.cfg", *s)
    assert (
        doc["outputs"] == {"web/data.value.cfg": {"output": {"replicas": 3}}}
        or "web/data.value.cfg" in doc["outputs"]
    )
    fits("output", doc)

    code, doc = run_json(capsys, "backup", "create", "db", *s)
    assert code == 0
    fits("backup_create", doc)
    code, doc = run_json(capsys, "backup", "list", *s)
    assert len(doc["backups"]) == 1
    fits("backup_list", doc)

    code, doc = run_json(capsys, "commit-back", *s)
    fits("commit_back", doc)
    (stack / "live" / "web" / "index.html").write_text("changed by hand")
    code, doc = run_json(capsys, "drift", *s)
    assert code == codes.CHANGES and doc["drifted"] == 1
    fits("drift", doc)
    code, doc = run_json(capsys, "reconcile", *s)
    fits("reconcile", doc)


def test_errors_of_json_commands_are_diagnostics_on_stdout(
    stack: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = ["-s", str(stack)]
    code, doc = run_json(capsys, "state", "show", "web/nope.x.y", *s)
    assert code == codes.ERROR and doc["diagnostics"][0]["code"] == "NOT_FOUND"
    fits("error", doc)

    code, doc = run_json(capsys, "plan", "--bogus", *s)
    assert code == codes.USAGE and "--bogus" in doc["diagnostics"][0]["summary"]
    fits("error", doc)

    code, doc = run_json(capsys, "apply", *s, "--auto-approve")
    assert code == codes.REFUSED and any("--confirm db" in d["summary"] for d in doc["diagnostics"])
    fits("error", doc)

    (stack / "modules" / "web.yaml").write_text(
        "apiVersion: driftgate/v1\nkind: Module\nname: web\nresources:\n"
        "  - type: file.file\n    name: page\n    spec: {path: web/index.html, colour: red}\n"
    )
    code, doc = run_json(capsys, "validate", *s)
    assert code == 1 and doc["valid"] is False
    fits("validate", doc)
    code, doc = run_json(capsys, "plan", *s)
    assert code == codes.ERROR
    fits("error", doc)
    (problem,) = [d for d in doc["diagnostics"] if d["field"] == "web/file.file.page.spec.colour"]
    assert problem["file"].endswith("modules/web.yaml") and problem["line"] == 7
    assert problem["summary"].startswith("unknown field") and problem["code"] == "SPEC_INVALID"


def test_without_json_errors_stay_one_line_on_stderr(stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["state", "show", "web/nope.x.y", "-s", str(stack)])
    captured = capsys.readouterr()
    assert code == codes.ERROR and captured.out == "" and captured.err.startswith("error: no stack named")
    assert captured.err.count("\n") == 1


def test_the_small_commands_print_documents_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    """Issue 23, item 5: version, init, lock status, token create/list and loop-guard answered
    "No such option: --json"."""
    code, doc = run_json(capsys, "version")
    assert code == 0
    fits("version", doc)
    code, doc = run_json(capsys, "init", str(tmp_path / "infra"))
    assert code == 0 and "stack.yaml" in doc["files"]
    fits("init", doc)
    code, doc = run_json(capsys, "lock", "status", "-s", str(tmp_path / "infra"))
    assert code == 0 and doc["locked"] is False and doc["holder"] is None
    fits("lock_status", doc)
    code, doc = run_json(capsys, "token", "create", "ci-bot", "--role", "operator")
    assert code == 0 and doc["token"].startswith("dgt_")
    fits("token_create", doc)
    token = doc["token"]
    code, doc = run_json(capsys, "token", "list")
    assert [t["name"] for t in doc["tokens"]] == ["ci-bot"] and token not in json.dumps(doc)
    fits("token_list", doc)
    assert main(["token", "revoke", "ci-bot"]) == 0
    capsys.readouterr()
    code, doc = run_json(capsys, "token", "list")
    assert doc["tokens"][0]["revoked_at"] is not None
    fits("token_list", doc)
    code, doc = run_json(capsys, "loop-guard", "-s", str(tmp_path / "infra"))
    assert code == 1 and doc["own_commit"] is False  # the scaffold's own commit: not driftgate's
    fits("loop_guard", doc)
