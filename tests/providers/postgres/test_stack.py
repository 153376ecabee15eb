"""A stack on the postgres provider, as a user runs it: plan, apply, drift, a failing statement,
the plugin conformance kit when served out of process — on both stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from psycopg import sql

from driftgate.cli import exitcodes as codes
from driftgate.testing.cli import DRIFTGATE, run
from driftgate.testing.gitrepos import cloned_stack, git
from driftgate.testing.stacks import write_stack
from tests.providers.postgres.conftest import Server


def pg_stack(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch, *, roles: list[dict[str, object]]
) -> Path:
    monkeypatch.setenv("DRIFTGATE_SECRET_PG_DSN", server.admin)
    monkeypatch.setenv("DRIFTGATE_SECRET_APP_PASSWORD", "app-password-7731")
    config = {**server.config(), "dsn": "secret://env/DRIFTGATE_SECRET_PG_DSN"}
    return write_stack(
        tmp_path / "stack",
        name="pg",
        modules={
            "people": roles,
            "data": [
                {
                    "type": "postgres.database",
                    "name": "shop",
                    "spec": {"name": server.name("shop"), "owner": server.name("app")},
                },
                {
                    "type": "postgres.schema",
                    "name": "sales",
                    "spec": {"database": server.name("shop"), "name": "sales", "owner": server.name("app")},
                    "depends_on": ["postgres.database.shop"],
                },
            ],
        },
        providers={"postgres": config},
        stateful=["data"],
    )


def app_role(server: Server, **extra: object) -> dict[str, object]:
    spec = {
        "name": server.name("app"),
        "login": True,
        "password": "secret://env/DRIFTGATE_SECRET_APP_PASSWORD",
        **extra,
    }
    return {"type": "postgres.role", "name": "app", "spec": spec}


def test_plan_apply_and_drift_on_a_real_server(
    tmp_path: Path,
    server: Server,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = pg_stack(tmp_path, server, monkeypatch, roles=[app_role(server)])
    code, out, _ = run(capsys, "plan", "-s", str(stack), "--json")
    plan = json.loads(out)
    assert code == codes.CHANGES and plan["summary"]["create"] == 3 and plan["stateful_modules"] == ["data"]
    assert "app-password-7731" not in out
    code, out, _ = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--module", "people", "--json")
    assert code == 0, out
    assert "app-password-7731" not in out
    gate = ("--module", "data", "--allow-stateful", "--confirm", "data")  # a stateful module goes alone
    code, out, _ = run(capsys, "apply", "-s", str(stack), "--auto-approve", *gate, "--json")
    assert code == 0, out
    assert "app-password-7731" not in out
    code, _, _ = run(capsys, "plan", "-s", str(stack))
    assert code == 0  # in sync, the password included (checked against the server's verifier)
    server.sql(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(server.name("app"))))
    server.sql("DROP SCHEMA sales", dbname=server.name("shop"))
    code, out, _ = run(capsys, "drift", "-s", str(stack), "--json")
    kinds = {i["address"]: i["drift"] for i in json.loads(out)["items"]}
    assert code == codes.CHANGES
    assert kinds["people/postgres.role.app"] == "changed" and kinds["data/postgres.schema.sales"] == "deleted"
    code, out, _ = run(capsys, "state", "show", "people/postgres.role.app", "-s", str(stack), "--json")
    assert "app-password-7731" not in out


def test_a_failing_statement_mid_apply_gives_a_partial_ledger(
    tmp_path: Path,
    server: Server,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bad = {
        "type": "postgres.role",
        "name": "bad",
        "spec": {"name": server.name("bad"), "member_of": ["no_such_group_x"]},
    }
    rendered = pg_stack(tmp_path, server, monkeypatch, roles=[app_role(server)])
    (rendered / "modules" / "data.yaml").unlink()
    remote, stack = cloned_stack(tmp_path, rendered, "stacks/pg")
    module = stack / "modules" / "people.yaml"
    doc = yaml.safe_load(module.read_text())
    doc["resources"].append(bad)  # authored, not yet in git: commit-back would push it
    module.write_text(yaml.safe_dump(doc, sort_keys=False))
    before = remote.log()
    code, out, _ = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--json")
    document = json.loads(out)
    result = document["result"]
    assert code != 0 and result["full_success"] is False
    outcomes = {a["address"]: a for a in result["actions"]}
    failed = outcomes["people/postgres.role.bad"]
    assert (
        failed["status"] == "ERROR"
        and "SQLSTATE 42704" in failed["error"]
        and "no_such_group_x" in failed["error"]
    )
    assert outcomes["people/postgres.role.app"]["status"] == "SUCCESS"
    assert (
        document["commit_back"]["committed"] is False and document["commit_back"]["reason"] == "partial-apply"
    )
    assert remote.log() == before


def test_served_as_a_plugin_it_passes_the_conformance_kit(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "plugin",
        "check",
        "--config",
        json.dumps({"dsn": server.admin}),  # no ignore patterns: the kit lists its sample role
        "--",
        DRIFTGATE,
        "plugin",
        "serve",
        "postgres",
    )
    assert code == 0, out
    assert out.splitlines()[-1].endswith("the plugin conforms")


def test_the_gate_wants_a_fresh_verified_dump_and_a_restore_brings_rows_back(
    tmp_path: Path,
    server: Server,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = pg_stack(tmp_path, server, monkeypatch, roles=[app_role(server)])
    s = ["-s", str(stack)]
    assert run(capsys, "apply", *s, "--auto-approve", "--module", "people")[0] == 0
    gate = ("--module", "data", "--allow-stateful", "--confirm", "data")
    assert run(capsys, "apply", *s, "--auto-approve", *gate)[0] == 0  # only creates: no backup needed
    shop = server.name("shop")
    server.sql(
        "CREATE TABLE sales.orders (id int); INSERT INTO sales.orders VALUES (1), (2), (3)", dbname=shop
    )

    module = stack / "modules" / "data.yaml"
    module.write_text(module.read_text().replace("owner: " + server.name("app"), "owner: postgres", 1))
    code, out, _ = run(capsys, "apply", *s, "--auto-approve", *gate, "--json")
    assert code == codes.REFUSED and "backup" in out  # a change to a live database needs a dump first

    code, out, _ = run(capsys, "backup", "create", "data", *s, "--json")
    assert code == 0, out
    ref = json.loads(out)["ref"]
    code, out, _ = run(capsys, "backup", "verify", ref, *s)
    assert code == 0, out

    server.sql("DELETE FROM sales.orders WHERE id > 1", dbname=shop)  # lost by hand
    code, out, err = run(capsys, "backup", "restore", ref, *s, "--yes")
    assert code == 0, out + err
    assert server.sql("SELECT count(*) FROM sales.orders", dbname=shop) == [(3,)]

    code, out, _ = run(capsys, "apply", *s, "--auto-approve", *gate, "--backup-ref", ref, "--json")
    assert (
        code == codes.REFUSED and "taken before module 'data' last changed" in out
    )  # the restore changed it
    code, out, _ = run(capsys, "backup", "create", "data", *s, "--json")
    ref = json.loads(out)["ref"]
    code, out, _ = run(capsys, "apply", *s, "--auto-approve", *gate, "--backup-ref", ref, "--json")
    assert code == 0, out  # a verified dump taken after the module's last change: accepted

    artifact = next(a for a in (tmp_path / "driftgate-home" / "backups").rglob("*.tar.gz") if a.name == ref)
    artifact.write_bytes(artifact.read_bytes()[:-100])  # corrupt it
    code, out, _ = run(capsys, "backup", "verify", ref, *s)
    assert code == codes.BY_CODE["BACKUP_CORRUPT"]
    module.write_text(module.read_text().replace("owner: postgres", "owner: " + server.name("app"), 1))
    code, out, _ = run(capsys, "apply", *s, "--auto-approve", *gate, "--backup-ref", ref, "--json")
    assert code == codes.REFUSED and "checksum" in out  # a corrupt dump is no backup


def test_a_plan_says_how_a_password_was_checked(
    tmp_path: Path,
    server: Server,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = pg_stack(tmp_path, server, monkeypatch, roles=[app_role(server)])
    assert run(capsys, "apply", "-s", str(stack), "--auto-approve", "--module", "people")[0] == 0
    server.sql(sql.SQL("ALTER ROLE {} PASSWORD 'typed-by-hand'").format(sql.Identifier(server.name("app"))))
    code, out, _ = run(capsys, "plan", "-s", str(stack), "--module", "people", "--json")
    (action,) = [a for a in json.loads(out)["actions"] if a["address"] == "people/postgres.role.app"]
    assert code == codes.CHANGES and action["action"] == "update"
    assert [c["name"] for c in action["changes"]] == ["password"]
    assert "checked against the server's SCRAM verifier" in action["reason"]
    assert "app-password-7731" not in out and "typed-by-hand" not in out


def test_reconcile_drafts_a_snapshot_without_passwords(
    tmp_path: Path,
    server: Server,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rendered = pg_stack(tmp_path, server, monkeypatch, roles=[app_role(server)])
    (rendered / "modules" / "data.yaml").unlink()  # roles only, for this one
    remote, stack = cloned_stack(tmp_path, rendered, "stacks/pg")
    assert run(capsys, "apply", "-s", str(stack), "--auto-approve")[0] == 0
    server.sql(
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'never-imported-55'").format(
            sql.Identifier(server.name("stray"))
        )
    )
    server.sql(sql.SQL("ALTER ROLE {} CONNECTION LIMIT 4").format(sql.Identifier(server.name("app"))))
    code, out, _ = run(capsys, "reconcile", "-s", str(stack), "--json")
    result = json.loads(out)
    assert code == codes.CHANGES and result["draft"] is True, out
    branch = result["branch"]
    snapshot = git(remote.path, "show", f"{branch}:stacks/pg/modules/people.yaml")
    assert "connection_limit: 4" in snapshot and "approximate" in snapshot
    listing = git(remote.path, "ls-tree", "-r", "--name-only", branch)
    texts = "".join(
        git(remote.path, "show", f"{branch}:{name}") for name in listing.split() if name.endswith(".yaml")
    )
    assert server.name("stray") in texts  # the unmanaged role, imported for review
    assert "never-imported-55" not in texts and "app-password-7731" not in texts


def test_a_force_new_change_replaces_the_object(
    tmp_path: Path,
    server: Server,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = pg_stack(tmp_path, server, monkeypatch, roles=[app_role(server)])
    assert run(capsys, "apply", "-s", str(stack), "--auto-approve", "--module", "people")[0] == 0
    module = stack / "modules" / "people.yaml"
    module.write_text(module.read_text().replace(server.name("app"), server.name("app2")))
    code, out, _ = run(capsys, "plan", "-s", str(stack), "--module", "people", "--json")
    (action,) = [a for a in json.loads(out)["actions"] if a["address"] == "people/postgres.role.app"]
    assert code == codes.CHANGES and action["action"] == "replace"
    code, out, _ = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--module", "people", "--json")
    assert code == 0, out
    names = {
        r[0] for r in server.sql("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", server.prefix + "app%")
    }
    assert names == {server.name("app2")}


def test_force_new_changes_replace_every_kind(
    tmp_path: Path,
    server: Server,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A schema, grant, default privilege and extension whose identity changes are dropped and made
    again; the database, data-bearing, is replaced only behind the gate with a verified dump."""
    stack = pg_stack(tmp_path, server, monkeypatch, roles=[app_role(server)])
    shop, app = server.name("shop"), server.name("app")
    s = ["-s", str(stack)]
    gate = ["--module", "data", "--allow-stateful", "--confirm", "data"]
    assert run(capsys, "apply", *s, "--auto-approve", "--module", "people")[0] == 0
    assert run(capsys, "apply", *s, "--auto-approve", *gate)[0] == 0
    depends = ["data/postgres.schema.sales"]
    access: list[dict[str, object]] = [
        {
            "type": "postgres.schema",
            "name": "reports",
            "spec": {"database": shop, "name": "reports"},
        },
        {
            "type": "postgres.grant",
            "name": "usage",
            "spec": {"database": shop, "role": app, "object_type": "schema", "schema": "sales"},
            "depends_on": depends,
        },
        {
            "type": "postgres.default_privileges",
            "name": "later",
            "spec": {
                "database": shop,
                "role": "postgres",
                "schema": "sales",
                "object_type": "table",
                "grantee": app,
                "privileges": ["select"],
            },
            "depends_on": depends,
        },
        {
            "type": "postgres.extension",
            "name": "kv",
            "spec": {"database": shop, "name": "hstore", "schema": "sales"},
            "depends_on": depends,
        },
    ]
    access[1]["spec"]["privileges"] = ["usage"]  # type: ignore[index]
    module = stack / "modules" / "access.yaml"
    header = {"apiVersion": "driftgate/v1", "kind": "Module", "name": "access"}
    module.write_text(yaml.safe_dump({**header, "resources": access}))
    assert run(capsys, "apply", *s, "--auto-approve", "--module", "access")[0] == 0

    access[0]["spec"] = {"database": shop, "name": "reporting"}
    access[1]["spec"] = {"database": shop, "role": app, "object_type": "database", "privileges": ["connect"]}
    access[2]["spec"]["object_type"] = "sequence"  # type: ignore[index]
    access[2]["spec"]["privileges"] = ["usage"]  # type: ignore[index]
    access[3]["spec"] = {"database": shop, "name": "citext", "schema": "sales"}
    module.write_text(yaml.safe_dump({**header, "resources": access}))
    code, out, _ = run(capsys, "plan", *s, "--module", "access", "--json")
    assert code == codes.CHANGES
    actions = {a["address"]: a["action"] for a in json.loads(out)["actions"]}
    assert {k: v for k, v in actions.items() if k.startswith("access/")} == {
        "access/postgres.schema.reports": "replace",
        "access/postgres.grant.usage": "replace",
        "access/postgres.default_privileges.later": "replace",
        "access/postgres.extension.kv": "replace",
    }
    code, out, _ = run(capsys, "apply", *s, "--auto-approve", "--module", "access", "--json")
    assert code == 0, out
    schemas = {r[0] for r in server.sql("SELECT nspname FROM pg_namespace", dbname=shop)}
    assert "reporting" in schemas and "reports" not in schemas
    extensions = {r[0] for r in server.sql("SELECT extname FROM pg_extension", dbname=shop)}
    assert "citext" in extensions and "hstore" not in extensions
    (privileges,) = server.sql(
        "SELECT has_schema_privilege(%s, 'sales', 'USAGE'), has_database_privilege(%s, %s, 'CONNECT')",
        app,
        app,
        shop,
        dbname=shop,
    )
    assert privileges == (False, True)  # the schema grant revoked, the database grant made
    defaults = server.sql("SELECT defaclobjtype FROM pg_default_acl", dbname=shop)
    assert defaults == [("S",)]  # sequences now, no longer tables
    assert run(capsys, "plan", *s, "--module", "access")[0] == 0

    data = stack / "modules" / "data.yaml"
    data.write_text(data.read_text().replace(shop, server.name("shop2")))  # the database and its schema
    code, out, _ = run(capsys, "plan", *s, "--module", "data", "--json")
    actions = {a["address"]: a["action"] for a in json.loads(out)["actions"]}
    assert actions == {"data/postgres.database.shop": "replace", "data/postgres.schema.sales": "replace"}
    code, out, _ = run(capsys, "apply", *s, "--auto-approve", *gate, "--json")
    assert code == codes.REFUSED and "backup" in out  # replacing a database drops its data: dump first
    assert server.sql("SELECT 1 FROM pg_database WHERE datname = %s", shop) == [(1,)]
    code, out, _ = run(capsys, "backup", "create", "data", *s, "--json")
    assert code == 0, out
    ref = json.loads(out)["ref"]
    code, out, _ = run(capsys, "apply", *s, "--auto-approve", *gate, "--backup-ref", ref, "--json")
    assert code == 0, out
    names = {r[0] for r in server.sql("SELECT datname FROM pg_database WHERE datname LIKE %s", shop + "%")}
    assert names == {server.name("shop2")}
    assert server.sql("SELECT 1 FROM pg_namespace WHERE nspname = 'sales'", dbname=server.name("shop2"))
    code, out, err = run(capsys, "plan", *s, "--module", "data")
    assert code == 0, out + err
