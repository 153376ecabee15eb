"""Data safety on a real PostgreSQL server: the gate judges by what is recorded.

The matrix (ways to destroy a database's data × lanes of the gate) is walked by
``driftgate.testing.gate_matrix``; the other tests pin single defects of the data-safety issue.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from driftgate.cli import exitcodes as codes
from driftgate.testing.cli import run
from driftgate.testing.gate_matrix import (
    Lanes,
    backup,
    manual,
    move_to_another_module,
    remove_module_file,
    remove_resources,
    walk_the_lanes,
)
from driftgate.testing.stacks import read_module, write_module, write_stack
from tests.providers.postgres.conftest import Server

ROWS = 1000


def data_stack(tmp_path: Path, server: Server, *, cascade: bool = False) -> Path:
    """people: a role (stateless); data: a database and a schema in it (stateful)."""
    schema_spec: dict[str, object] = {
        "database": server.name("shop"),
        "name": "sales",
        "owner": server.name("app"),
    }
    if cascade:
        schema_spec["cascade"] = True
    return write_stack(
        tmp_path / "stack",
        name="pgsafe",
        modules={
            "people": [{"type": "postgres.role", "name": "app", "spec": {"name": server.name("app")}}],
            "data": [
                {"type": "postgres.database", "name": "shop", "spec": {"name": server.name("shop")}},
                {
                    "type": "postgres.schema",
                    "name": "sales",
                    "spec": schema_spec,
                    "depends_on": ["postgres.database.shop"],
                },
            ],
        },
        providers={"postgres": server.config()},
        stateful=["data"],
    )


def rows(server: Server) -> int | None:
    """How many orders the live database holds (None: the database or the table is gone)."""
    found = server.sql("SELECT 1 FROM pg_database WHERE datname = %s", server.name("shop"))
    if not found:
        return None
    table = server.sql("SELECT to_regclass('sales.orders')::text", dbname=server.name("shop"))
    if table != [("sales.orders",)]:
        return None
    value: int = server.sql("SELECT count(*) FROM sales.orders", dbname=server.name("shop"))[0][0]
    return value


def applied_with_data(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, server: Server, **kw: bool
) -> Lanes:
    """The stack applied, 1,000 orders in it, and a backup made stale by a later applied change."""
    stack = data_stack(tmp_path, server, **kw)
    assert run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto")[0] == codes.REFUSED
    assert run(capsys, *manual(stack, "data"))[0] == 0  # only creates: nothing to lose yet
    server.sql(
        f"CREATE TABLE sales.orders (id int); INSERT INTO sales.orders SELECT generate_series(1, {ROWS})",
        dbname=server.name("shop"),
    )
    stale = backup(capsys, stack, "data")
    doc = read_module(stack, "data")
    doc["resources"][1]["spec"]["owner"] = "postgres"  # type: ignore[index]
    write_module(stack, "data", doc)
    code, out, err = run(capsys, *manual(stack, "data", "--backup-ref", stale))
    assert code == 0, out + err  # an update with a valid backup: now that backup is stale
    return Lanes(stack, "data", stale, lambda: rows(server) == ROWS)


def flip_stateful_and_remove(stack: Path) -> None:
    doc = read_module(stack, "data")
    doc["stateful"] = False
    doc["resources"] = doc["resources"][1:]  # type: ignore[index]  # the database's line, in the same commit
    doc["resources"][0].pop("depends_on")  # type: ignore[index]
    write_module(stack, "data", doc)


def force_new_replace(stack: Path) -> None:
    doc = read_module(stack, "data")
    doc["resources"][1]["spec"]["name"] = "sales_v2"  # type: ignore[index]  # a schema's name is force-new
    write_module(stack, "data", doc)


def replace_the_container(stack: Path) -> None:
    doc = read_module(stack, "data")
    spec = doc["resources"][0]["spec"]  # type: ignore[index]
    spec.update({"lc_collate": "C", "lc_ctype": "C", "template": "template0"})  # force-new on the database
    write_module(stack, "data", doc)


WAYS: dict[str, Callable[[Path], None]] = {
    "remove the resource": remove_resources,
    "remove the module file": remove_module_file,
    "flip stateful: false and remove": flip_stateful_and_remove,
    "move it to another module": move_to_another_module,
    "force-new replace": force_new_replace,
    "replace its container": replace_the_container,
}


@pytest.mark.parametrize("way", list(WAYS))
def test_the_matrix_on_postgres(
    way: str, tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    lanes = applied_with_data(capsys, tmp_path, server, cascade=True)  # a replaced schema takes its tables
    WAYS[way](lanes.stack)
    walk_the_lanes(capsys, lanes)


def test_the_matrix_restore_then_remove(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect 3: a restore cleared the recorded flag, and the auto lane then dropped the database."""
    lanes = applied_with_data(capsys, tmp_path, server)
    ref = backup(capsys, lanes.stack, "data")
    code, out, err = run(capsys, "backup", "restore", ref, "-s", str(lanes.stack), "--yes")
    assert code == 0, out + err
    code, out, _ = run(capsys, "runs", "list", "--json")
    restore = json.loads(out)["runs"][0]
    assert restore["kind"] == "restore" and restore["status"] == "succeeded" and restore["actor"]
    assert restore["id"] != "restore"
    code, out, _ = run(capsys, "runs", "show", restore["id"], "--json")
    ledger = json.loads(out)["ledger"]
    assert [(e["address"], e["action"], e["status"]) for e in ledger] == [
        ("data/postgres.database.shop", "restore", "SUCCESS")
    ]
    code, out, _ = run(
        capsys, "state", "show", "data/postgres.database.shop", "-s", str(lanes.stack), "--json"
    )
    assert json.loads(out)["run_id"] == restore["id"]
    remove_resources(lanes.stack)
    code, out, _ = run(capsys, "plan", "-s", str(lanes.stack), "--json")
    deletes = {a["address"]: a for a in json.loads(out)["actions"] if a["action"] == "delete"}
    assert deletes["data/postgres.database.shop"]["data_bearing"] is True
    assert deletes["data/postgres.database.shop"]["data_loss"] is True
    walk_the_lanes(capsys, lanes)


def test_a_replaced_database_replaces_what_it_contains(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect 4: an encoding change dropped the schema (and its tables) silently, reported as success."""
    lanes = applied_with_data(capsys, tmp_path, server)
    replace_the_container(lanes.stack)
    code, out, _ = run(capsys, "plan", "-s", str(lanes.stack), "--json")
    actions = {a["address"]: a for a in json.loads(out)["actions"]}
    database, schema = actions["data/postgres.database.shop"], actions["data/postgres.schema.sales"]
    assert database["action"] == "replace" and database["data_loss"]
    assert (
        schema["action"] == "replace"
        and "replaced with its container data/postgres.database.shop" in schema["reason"]
    )
    code, out, _ = run(capsys, "plan", "-s", str(lanes.stack))
    assert "REPLACES (deletes, then creates) data-bearing data/postgres.database.shop" in out
    assert "Take a backup first: driftgate backup create data" in out
    fresh = backup(capsys, lanes.stack, "data")
    code, out, err = run(capsys, *manual(lanes.stack, "data", "--backup-ref", fresh, "--json"))
    assert code == 0, out + err
    result = json.loads(out)["result"]
    assert {(a["address"], a["action"], a["status"]) for a in result["actions"]} == {
        ("data/postgres.database.shop", "replace", "SUCCESS"),
        ("data/postgres.schema.sales", "replace", "SUCCESS"),
    }
    assert server.sql("SELECT nspname FROM pg_namespace WHERE nspname = 'sales'", dbname=server.name("shop"))
    code, out, _ = run(capsys, "plan", "-s", str(lanes.stack))
    assert code == codes.OK, out  # the schema exists again: nothing left to create


def test_removing_the_database_line_names_it_in_the_banner(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defects 1 and 5: the database's own delete carries the banner, with the real module's name."""
    lanes = applied_with_data(capsys, tmp_path, server)
    remove_module_file(lanes.stack)
    code, out, _ = run(capsys, "plan", "-s", str(lanes.stack))
    assert code == codes.CHANGES
    assert "DELETES data-bearing data/postgres.database.shop (module 'data')" in out
    assert "DELETES data-bearing data/postgres.schema.sales (module 'data')" in out
    assert "driftgate backup create data" in out and "<module>" not in out


def test_a_stateless_module_holding_a_database_still_gates_its_removal(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect 1 as a new user meets it: the database in a module that never said stateful."""
    stack = write_stack(
        tmp_path / "stack",
        name="plain",
        modules={
            "app": [{"type": "postgres.database", "name": "shop", "spec": {"name": server.name("shop")}}]
        },
        providers={"postgres": server.config()},
    )
    assert run(capsys, *manual(stack, "app"))[0] == 0
    server.sql("CREATE TABLE t (id int); INSERT INTO t VALUES (1)", dbname=server.name("shop"))
    write_stack(stack, name="plain", modules={"app": []}, providers={"postgres": server.config()})
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto")
    assert code == codes.REFUSED, out + err
    assert "held back: module 'app' deletes or replaces data-bearing app/postgres.database.shop" in err
    assert server.sql("SELECT count(*) FROM t", dbname=server.name("shop")) == [(1,)]
    code, out, _ = run(capsys, "runs", "list", "--json")
    held = json.loads(out)["runs"][0]
    assert held["status"] == "held" and held["action_count"] == 0  # not a green "succeeded"
    code, out, _ = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto")
    assert "Nothing applied: the gate held back every change" in out


def schema_stack(tmp_path: Path, server: Server, schemas: list[dict[str, object]]) -> Path:
    """db: the database (stateful); schemas: schemas in it, in a module that does not say stateful."""
    return write_stack(
        tmp_path / "split",
        name="split",
        modules={
            "db": [{"type": "postgres.database", "name": "shop", "spec": {"name": server.name("shop")}}],
            "schemas": schemas,
        },
        providers={"postgres": server.config()},
        stateful=["db"],
    )


def test_a_schema_with_cascade_is_removed_only_through_the_manual_lane(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect 10: a non-empty schema can be removed on purpose (cascade), and that is a data-loss action."""
    sales = {
        "type": "postgres.schema",
        "name": "sales",
        "spec": {"database": server.name("shop"), "name": "sales"},
    }
    stack = schema_stack(tmp_path, server, [sales])
    assert run(capsys, *manual(stack, "db"))[0] == 0
    assert run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto")[0] == 0
    server.sql(
        "CREATE TABLE sales.orders (id int); INSERT INTO sales.orders VALUES (1)", dbname=server.name("shop")
    )
    schema_stack(tmp_path, server, [])
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto", "--json")
    assert code == codes.PARTIAL, out + err  # no cascade: not data-bearing, and PostgreSQL refuses the drop
    assert "cannot drop schema sales because other objects depend on it" in out
    assert rows_in(server, "sales.orders") == 1

    schema_stack(tmp_path, server, [{**sales, "spec": {**sales["spec"], "cascade": True}}])  # type: ignore[dict-item]
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto")
    assert code == 0, out + err  # cascade recorded: a schema update, nothing destroyed
    schema_stack(tmp_path, server, [])
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto")
    assert code == codes.REFUSED, out + err
    assert "held back: module 'schemas' deletes or replaces data-bearing schemas/postgres.schema.sales" in err
    assert rows_in(server, "sales.orders") == 1
    ref = backup(capsys, stack, "schemas")
    code, out, err = run(capsys, *manual(stack, "schemas", "--backup-ref", ref))
    assert code == 0, out + err
    assert rows_in(server, "sales.orders") is None  # dropped with its schema, on purpose


def rows_in(server: Server, table: str) -> int | None:
    found = server.sql("SELECT to_regclass(%s)::text", table, dbname=server.name("shop"))
    if found != [(table,)]:
        return None
    value: int = server.sql(f"SELECT count(*) FROM {table}", dbname=server.name("shop"))[0][0]
    return value
