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
    COMMON_WAYS,
    Lanes,
    backed_up_and_restored,
    backup,
    manual,
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
    **COMMON_WAYS,
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
    backed_up_and_restored(capsys, lanes)
    code, out, _ = run(capsys, "runs", "list", "--json")
    restore = json.loads(out)["runs"][0]
    assert restore["kind"] == "restore" and restore["status"] == "succeeded" and restore["actor"]
    assert restore["id"] != "restore"
    code, out, _ = run(capsys, "runs", "show", restore["id"], "--json")
    ledger = json.loads(out)["ledger"]
    assert [(e["address"], e["action"], e["status"]) for e in ledger] == [
        ("data/postgres.database.shop", "restore", "SUCCESS"),
        ("data/postgres.schema.sales", "restore", "SUCCESS"),  # its own dump: it is recorded again too
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


def test_a_cascade_given_as_a_reference_is_judged_as_set(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attack: ``cascade: "secret://…"`` skipped the boolean check and was recorded as not data-bearing,
    then its removal dropped the schema through the auto lane."""
    monkeypatch.setenv("DRIFTGATE_SECRET_ANYTHING", "yes")
    sales = {
        "type": "postgres.schema",
        "name": "sales",
        "spec": {
            "database": server.name("shop"),
            "name": "sales",
            "cascade": "secret://env/DRIFTGATE_SECRET_ANYTHING",
        },
    }
    stack = schema_stack(tmp_path, server, [sales])
    assert run(capsys, *manual(stack, "db"))[0] == 0
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto")
    assert code == 0, out + err
    server.sql(
        "CREATE TABLE sales.orders (id int); INSERT INTO sales.orders VALUES (1)", dbname=server.name("shop")
    )
    schema_stack(tmp_path, server, [])
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto")
    assert code == codes.REFUSED and "data-bearing schemas/postgres.schema.sales" in err, out + err
    assert rows_in(server, "sales.orders") == 1


def test_two_resources_never_manage_one_schema(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Attack: a stateless module adopted the stateful module's schema (if_not_exists) with cascade,
    then its removal dropped the schema the stateful module holds."""
    stack = data_stack(tmp_path, server)
    assert run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto")[0] == codes.REFUSED
    assert run(capsys, *manual(stack, "data"))[0] == 0
    spec = {"database": server.name("shop"), "name": "sales", "if_not_exists": True, "cascade": True}
    write_module(
        stack,
        "scratch",
        {
            "apiVersion": "driftgate/v1",
            "kind": "Module",
            "name": "scratch",
            "resources": [{"type": "postgres.schema", "name": "tmp", "spec": spec}],
        },
    )
    code, out, err = run(capsys, "plan", "-s", str(stack))
    assert code == codes.ERROR, out + err
    assert "manages the same postgres.schema as" in out + err


def test_a_role_whose_heir_is_itself_is_not_dropped_with_what_it_owns(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Attack: ``reassign_owned_to`` naming the role itself made REASSIGN OWNED a no-op and DROP OWNED
    dropped every table the role owned, through the auto lane."""
    app = server.name("app")
    role = {"type": "postgres.role", "name": "app", "spec": {"name": app, "reassign_owned_to": app}}
    providers = {"postgres": server.config(dbname=server.name("shop"))}
    server.sql(f'CREATE DATABASE "{server.name("shop")}"')
    stack = write_stack(tmp_path / "roles", name="roles", modules={"people": [role]}, providers=providers)
    assert run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto")[0] == 0
    server.sql(
        f'CREATE TABLE owned (id int); INSERT INTO owned VALUES (1); ALTER TABLE owned OWNER TO "{app}"',
        dbname=server.name("shop"),
    )
    write_stack(stack, name="roles", modules={"people": []}, providers=providers)
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto", "--json")
    assert code == codes.PARTIAL and "reassign_owned_to names the role itself" in out, out + err
    assert server.sql("SELECT count(*) FROM owned", dbname=server.name("shop")) == [(1,)]


def test_a_backup_that_holds_none_of_the_data_is_no_backup(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Helpers' finding: an empty backup of a module holding a cascade schema was accepted; now the
    schema is dumped (pg_dump -n), the gate wants it in the backup, and a restore brings the rows back."""
    sales = {
        "type": "postgres.schema",
        "name": "sales",
        "spec": {"database": server.name("shop"), "name": "sales", "cascade": True},
    }
    stack = schema_stack(tmp_path, server, [sales])
    assert run(capsys, *manual(stack, "db"))[0] == 0
    assert run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto")[0] == 0
    server.sql(
        "CREATE TABLE sales.orders (id int); INSERT INTO sales.orders VALUES (1), (2)",
        dbname=server.name("shop"),
    )
    schema_stack(tmp_path, server, [])
    empty = backup(capsys, stack, "db")  # another module's backup: it does not hold the schema
    code, out, err = run(capsys, *manual(stack, "schemas", "--backup-ref", empty))
    assert code == codes.REFUSED, out + err
    ref = backup(capsys, stack, "schemas")
    code, out, _ = run(capsys, "backup", "list", "-s", str(stack), "--json")
    (mine,) = [b for b in json.loads(out)["backups"] if b["ref"] == ref]
    code, out, err = run(capsys, *manual(stack, "schemas", "--backup-ref", ref))
    assert code == 0, out + err
    assert rows_in(server, "sales.orders") is None
    code, out, err = run(capsys, "backup", "restore", ref, "-s", str(stack), "--yes")
    assert code == 0, out + err
    assert rows_in(server, "sales.orders") == 2


def test_a_schema_whose_database_is_removed_must_go_too(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Helper's finding: removing only the database's line planned one destroy and said nothing of the
    schema that dies with it."""
    lanes = applied_with_data(capsys, tmp_path, server)
    doc = read_module(lanes.stack, "data")
    doc["resources"] = doc["resources"][1:]
    doc["resources"][0].pop("depends_on")  # the schema names its database by value only
    write_module(lanes.stack, "data", doc)
    code, out, err = run(capsys, "plan", "-s", str(lanes.stack))
    assert (
        code == codes.ERROR and "lives in data/postgres.database.shop, which this plan deletes" in out + err
    )


def test_a_restore_after_a_move_records_the_database_where_it_is_managed(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Helper's finding: a restore wrote the old address back, one database then had two addresses and
    removing one dropped what the other manages."""
    lanes = applied_with_data(capsys, tmp_path, server)
    ref = backup(capsys, lanes.stack, "data")
    doc = read_module(lanes.stack, "data")
    (lanes.stack / "modules" / "data.yaml").unlink()
    write_module(lanes.stack, "moved", {**doc, "name": "moved"})
    fresh = backup(capsys, lanes.stack, "data")
    assert run(capsys, *manual(lanes.stack, "data", "--backup-ref", fresh))[0] == 0
    code, out, err = run(capsys, *manual(lanes.stack, "moved"))
    assert code == 0, out + err  # only creates in "moved"
    code, out, err = run(capsys, "backup", "restore", ref, "-s", str(lanes.stack), "--yes")
    assert code == 0, out + err
    code, out, _ = run(capsys, "state", "list", "-s", str(lanes.stack), "--json")
    addresses = [r["address"] for r in json.loads(out)["resources"]]
    assert "moved/postgres.database.shop" in addresses and "data/postgres.database.shop" not in addresses
    assert rows(server) == ROWS


def test_roles_that_hand_their_objects_round_a_ring_drop_nothing(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Attack: three roles whose heirs form a ring, deleted in one run, ran REASSIGN OWNED and DROP
    OWNED at once on several connections; a role's DROP OWNED then dropped tables another had just
    handed it (1 run in 10). Role drops are one transaction each, one at a time on the server."""
    shop = server.name("shop")
    server.sql(f'CREATE DATABASE "{shop}"')
    names = [server.name(n) for n in ("app", "b", "c")]
    ring = [
        {"type": "postgres.role", "name": n.rsplit("_", 1)[1], "spec": {"name": n, "reassign_owned_to": heir}}
        for n, heir in zip(names, names[1:] + names[:1], strict=True)
    ]
    providers = {"postgres": server.config(dbname=shop)}
    for attempt in range(3):
        stack = write_stack(
            tmp_path / f"ring{attempt}", name=f"ring{attempt}", modules={"people": ring}, providers=providers
        )
        assert run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto")[0] == 0
        server.sql(
            f'CREATE TABLE t{attempt} (id int); INSERT INTO t{attempt} VALUES (1); ALTER TABLE t{attempt} OWNER TO "{names[0]}"',
            dbname=shop,
        )
        write_stack(stack, name=f"ring{attempt}", modules={"people": []}, providers=providers)
        run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto")
        assert server.sql(f"SELECT count(*) FROM t{attempt}", dbname=shop) == [(1,)], f"attempt {attempt}"
        left = server.sql("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", names)
        for (
            role,
        ) in left:  # the ring's last heir is gone: its owner keeps the table; clear for the next try
            server.sql(f"ALTER TABLE t{attempt} OWNER TO CURRENT_USER", dbname=shop)
            server.sql(f'DROP OWNED BY "{role}"', dbname=shop)
            server.sql(f'DROP ROLE "{role}"')
