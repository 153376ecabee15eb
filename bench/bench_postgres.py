"""Benchmark: the postgres provider on a real server — 1,000 roles and 100 databases each with a
grant: create, a plan without changes, a 1% change; against the floor of running the same DDL as
one `psql -f` script, in the same run.

    .venv/bin/python bench/bench_postgres.py [--roles 1000] [--databases 100] [--url URL]

Whole CLI processes, wall clock. The server is DRIFTGATE_TEST_POSTGRES_URL (or --url), a superuser
URL; every object made is named dgbench_… and dropped before and after. Targets: no-op plan < 1 s;
create <= 2x the psql floor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from bench_apply import DRIFTGATE, startup_floor, timed  # noqa: E402
from driftgate.testing.stacks import fast_write_module, write_stack  # noqa: E402

PREFIX = "dgbench_"
TARGETS = "no-op plan < 1 s; create <= 2x the psql -f floor"


def clean(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for (name,) in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'dgbench\\_%'"
        ).fetchall():
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        for (name,) in conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE 'dgbench\\_%'"
        ).fetchall():
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def build(directory: Path, roles: int, databases: int, *, limit: int = -1) -> Path:
    write_stack(
        directory,
        name="pgbench",
        modules={},
        providers={"postgres": {"dsn": "secret://env/DRIFTGATE_SECRET_BENCH_DSN"}},
        stateful=[],
    )
    role_specs = [
        {
            "type": "postgres.role",
            "name": f"r{i}",
            "spec": {
                "name": f"{PREFIX}r{i}",
                "login": True,
                "connection_limit": limit if i % 100 == 0 else -1,
            },
        }
        for i in range(roles)
    ]
    fast_write_module(directory / "modules" / "roles.yaml", "roles", role_specs)
    dbs = [
        {"type": "postgres.database", "name": f"d{i}", "spec": {"name": f"{PREFIX}d{i}"}}
        for i in range(databases)
    ]
    fast_write_module(directory / "modules" / "dbs.yaml", "dbs", dbs)
    grants = [
        {
            "type": "postgres.grant",
            "name": f"g{i}",
            "spec": {
                "database": f"{PREFIX}d{i}",
                "role": f"{PREFIX}r{i}",
                "object_type": "database",
                "privileges": ["connect"],
            },
            "depends_on": [f"roles/postgres.role.r{i}", f"dbs/postgres.database.d{i}"],
        }
        for i in range(databases)
    ]
    fast_write_module(directory / "modules" / "grants.yaml", "grants", grants)
    return directory


def floor_script(path: Path, roles: int, databases: int) -> Path:
    lines = [f'CREATE ROLE "{PREFIX}r{i}" WITH LOGIN;' for i in range(roles)]
    lines += [f'CREATE DATABASE "{PREFIX}d{i}";' for i in range(databases)]
    lines += [f'GRANT CONNECT ON DATABASE "{PREFIX}d{i}" TO "{PREFIX}r{i}";' for i in range(databases)]
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("--databases", type=int, default=100)
    parser.add_argument(
        "--repeat", type=int, default=3, help="create runs (and floor runs); the median is shown"
    )
    parser.add_argument(
        "--url",
        default=os.environ.get(
            "DRIFTGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="driftgate-bench-pg-"))
    env = {**os.environ, "DRIFTGATE_HOME": str(work / "home"), "DRIFTGATE_SECRET_BENCH_DSN": args.url}
    psql = shutil.which("psql")
    try:
        clean(args.url)
        floors: list[float] = []
        if psql:
            script = floor_script(work / "floor.sql", args.roles, args.databases)
            for _ in range(args.repeat):
                started = time.perf_counter()
                argv = [psql, "-q", "-v", "ON_ERROR_STOP=1", "-d", args.url, "-f", str(script)]
                subprocess.run(argv, check=True)  # noqa: S603
                floors.append(time.perf_counter() - started)
                clean(args.url)
        floor = statistics.median(floors) if floors else None
        stack = build(work / "stack", args.roles, args.databases)
        s = ["-s", str(stack), "--auto-approve"]
        gate = ["--allow-stateful", "--confirm", "dbs"]
        runs = []
        for attempt in range(args.repeat):
            if attempt:
                clean(args.url)
                shutil.rmtree(work / "home", ignore_errors=True)
            # The gate wants the stateful module applied alone; the rest goes in one more apply.
            runs.append(
                {
                    "+".join(modules): timed(
                        [DRIFTGATE, "apply", *s, *(a for m in modules for a in ("--module", m)), *extra],
                        cwd=work,
                        env=env,
                    ).seconds
                    for modules, extra in ((["dbs"], gate), (["roles", "grants"], []))
                }
            )
        steps = sorted(runs, key=lambda r: sum(r.values()))[len(runs) // 2]  # the median run
        create = sum(steps.values())
        plan = timed([DRIFTGATE, "plan", "-s", str(stack)], cwd=work, env=env)
        assert plan.code == 0, "a plan right after the applies has no changes"
        build(work / "stack", args.roles, args.databases, limit=7)  # 1% of the roles change
        change_plan = timed([DRIFTGATE, "plan", "-s", str(stack)], cwd=work, env=env)
        startup = startup_floor(work, env, "psycopg")
        change_apply = timed([DRIFTGATE, "apply", *s, "--module", "roles"], cwd=work, env=env)
    finally:
        clean(args.url)
        shutil.rmtree(work, ignore_errors=True)
    total = args.roles + 2 * args.databases
    print(f"\n{args.roles} roles + {args.databases} databases with a grant each ({total} resources)")
    print(
        f"  create (2 applies: dbs, then roles+grants)  : {create:6.2f} s (median of {args.repeat})", end=""
    )
    print(" (" + ", ".join(f"{m} {t:.2f} s" for m, t in steps.items()) + ")")
    if floor is not None:
        ratio = create / floor
        print(f"  floor: the same DDL as one psql -f script   : {floor:6.2f} s  (median; {ratio:.2f}x)")
    print(f"  plan without changes                         : {plan.seconds:6.2f} s")
    print(f"  (this machine's floor: python importing the libraries alone: {startup:.2f} s)")
    changed = f"{change_plan.seconds:6.2f} s / {change_apply.seconds:.2f} s"
    print(f"  1% change: plan / apply                      : {changed}")
    print(f"targets: {TARGETS}")


if __name__ == "__main__":
    main()
