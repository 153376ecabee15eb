"""Benchmark: the dashboard's two biggest pages, rendered server-side, over a store holding 10,000
runs and one run with a 10,000-action ledger — against the JSON API answering the same questions
in the same run (the baseline: the same store queries without HTML).

    .venv/bin/python bench/bench_dashboard.py [--runs 10000] [--actions 10000]

Each figure is the median of 7 requests in process (FastAPI's test client: no network), after one
warm-up. Target: each page under 300 ms.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from fastapi.testclient import TestClient  # noqa: E402

from driftgate.config import Settings  # noqa: E402
from driftgate.security.logs import configure_logging  # noqa: E402
from driftgate.services.tokens import create_token  # noqa: E402
from driftgate.services.workspace import Workspace  # noqa: E402
from driftgate.store import runs as runs_db  # noqa: E402
from driftgate.store import stacks as stacks_db  # noqa: E402
from driftgate.store.tables import action_outcomes, runs  # noqa: E402
from driftgate.web import create_site  # noqa: E402

TARGET_MS = 300.0
STACKS = 200


def fill(ws: Workspace, count: int, actions: int) -> str:
    """``count`` finished runs over ``STACKS`` stacks, the newest an apply with ``actions`` outcomes."""
    now = time.time()
    with ws.transaction() as conn:
        ids = [stacks_db.ensure_stack(conn, f"stack-{i:03d}", f"/srv/stacks/{i}").id for i in range(STACKS)]
        rows: list[dict[str, Any]] = [
            {
                "id": str(uuid.uuid4()),
                "stack_id": ids[i % STACKS],
                "kind": "apply",
                "status": "succeeded" if i % 7 else "partial",
                "actor": f"ci-{i % 5}",
                "started_at": now - count + i,
                "finished_at": now - count + i + 0.5,
                "action_count": 3,
                "summary": {"create": 1, "update": 2},
                "errors": [],
                "pid": 1,
                "host": "bench",
            }
            for i in range(count)
        ]
        conn.execute(runs.insert(), rows)
        big = rows[-1]["id"]
        conn.execute(
            action_outcomes.insert(),
            [
                {
                    "run_id": big,
                    "idx": i,
                    "address": f"app/data.value.v{i}",
                    "action": "update",
                    "phase": "done",
                    "status": "SUCCESS",
                    "error": None,
                    "outputs": {"value": f"x-{i}"},
                    "attempted": True,
                    "started_at": now,
                    "finished_at": now + 0.01,
                }
                for i in range(actions)
            ],
        )
        assert runs_db.find_run(conn, big) is not None
    return str(big)


def median_ms(client: TestClient, path: str, headers: dict[str, str] | None = None) -> float:
    client.get(path, headers=headers)  # warm-up
    times = []
    for _ in range(7):
        started = time.perf_counter()
        answer = client.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--actions", type=int, default=10_000)
    args = parser.parse_args()
    configure_logging("WARNING")  # no request log lines between the figures
    home = Path(tempfile.mkdtemp(prefix="driftgate-bench-ui-"))
    ws = Workspace.open(Settings(home=home))
    big = fill(ws, args.runs, args.actions)
    token = create_token(ws, "bench", "viewer")
    api = {"Authorization": f"Bearer {token}"}
    with TestClient(create_site(ws), base_url="http://127.0.0.1") as client:
        form = client.get("/ui/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None
        client.post("/ui/login", data={"token": token, "csrf": csrf.group(1), "next": "/ui/"})
        rows: list[tuple[str, float, float | None]] = [
            (
                "runs list (first page of 50)",
                median_ms(client, "/ui/runs"),
                median_ms(client, "/api/v1/runs?limit=50", api),
            ),
            (
                f"run detail ({args.actions:,}-action ledger, page of 500)",
                median_ms(client, f"/ui/runs/{big}"),
                median_ms(client, f"/api/v1/runs/{big}", api),
            ),
            (f"stacks ({STACKS} stacks; the API has no such list)", median_ms(client, "/ui/"), None),
        ]
    ws.close()
    print(f"\nThe dashboard over {args.runs:,} runs (server-side render, median of 7, in process)")
    print(f"  {'page':<44} {'dashboard':>10} {'JSON API':>10}   target < {TARGET_MS:.0f} ms")
    for name, page, baseline in rows:
        verdict = "met" if page < TARGET_MS else "NOT MET"
        api_ms = f"{baseline:>8.1f} ms" if baseline is not None else f"{'—':>11}"
        print(f"  {name:<44} {page:>8.1f} ms {api_ms}   {verdict}")


if __name__ == "__main__":
    main()
