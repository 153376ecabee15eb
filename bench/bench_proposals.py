"""Benchmark: proposals → pull requests on the local forge, with 1 and with 4 workers.

    .venv/bin/python bench/bench_proposals.py [--proposals 500] [--repos 10] [--workers 1 4]

Every proposal edits its own key in its repo's settings file. Latency is from the
``open_pr`` request to the moment the proposal is marked ``pr_opened``. PR rate limits
are raised for the run (they would otherwise cap each repo at 2 an hour).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from huey import SqliteHuey  # noqa: E402

from driftgate.config import Settings  # noqa: E402
from driftgate.jobs.queue import Jobs  # noqa: E402
from driftgate.localforge import LocalForge  # noqa: E402
from driftgate.services.proposals import config_repos  # noqa: E402
from driftgate.services.proposals import lifecycle as proposals  # noqa: E402
from driftgate.services.proposals.lifecycle import request_open_pr  # noqa: E402
from driftgate.services.workspace import Workspace  # noqa: E402
from driftgate.store import proposals as proposals_db  # noqa: E402

TOKEN = "ghp_" + "B" * 36


def run(count: int, repos: int, workers: int, work: Path) -> dict[str, float]:
    import os

    os.environ["DRIFTGATE_SECRET_BENCH_FORGE_TOKEN"] = TOKEN
    home = work / f"home-{workers}"
    ws = Workspace.open(Settings(home=home, pr_rate_per_hour=100_000, pr_max_open=100_000))
    per_repo = (count + repos - 1) // repos
    settings_file = "".join(f"k{i}: 0\n" for i in range(per_repo))
    with LocalForge(work / f"forge-{workers}", token=TOKEN) as forge:
        repo_ids = []
        for r in range(repos):
            url = forge.create_repo(f"repo{r}", {"settings.yaml": settings_file})
            repo_ids.append(
                config_repos.create(
                    ws,
                    name=f"repo{r}",
                    url=url,
                    default_branch="main",
                    auth_ref="secret://env/DRIFTGATE_SECRET_BENCH_FORGE_TOKEN",
                )["id"]
            )
        ids = []
        for n in range(count):
            row = proposals.create(
                ws,
                config_repo_id=repo_ids[n % repos],
                title=f"Tune k{n // repos}",
                rationale="bench",
                edits=[
                    {
                        "path": "settings.yaml",
                        "format": "yaml",
                        "pointer": f"/k{n // repos}",
                        "from": 0,
                        "to": 1,
                    }
                ],
                metrics=None,
                chart=None,
                created_by="bench",
            )
            ids.append(int(row["id"]))
        jobs = Jobs(
            SqliteHuey("bench", filename=str(home / "queue.db"), results=False),
            workspace=lambda: ws,
            base_delay=0.5,
        )
        requested = {}
        for pid in ids:
            requested[pid] = time.time()
            request_open_pr(ws, pid, jobs)
        consumer = jobs.huey.create_consumer(
            workers=workers, worker_type="thread", periodic=False, check_worker_health=False
        )
        started = time.time()
        consumer.start()
        try:
            while True:
                with ws.transaction() as conn:
                    rows, _ = proposals_db.list_proposals(conn, status="pr_opened", after=0, limit=count + 1)
                if len(rows) >= count:
                    break
                time.sleep(0.25)
        finally:
            consumer.stop(graceful=True)
        finished = max(float(r["pr_opened_at"]) for r in rows)
        latencies = sorted(float(r["pr_opened_at"]) - requested[int(r["id"])] for r in rows)
        assert sum(len(p) for p in forge.pulls.values()) == count
    ws.close()
    return {
        "throughput": count / (finished - started),
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "elapsed": finished - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--proposals", type=int, default=500)
    parser.add_argument("--repos", type=int, default=10)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="driftgate-bench-prs-"))
    results = {}
    try:
        for workers in args.workers:
            print(f"{args.proposals} proposals, {args.repos} repos, {workers} worker(s)…", flush=True)
            results[workers] = run(args.proposals, args.repos, workers, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'workers':>7} | {'PRs/s':>7} | {'p50 (s)':>8} | {'p99 (s)':>8} | {'elapsed (s)':>11}")
    for workers, r in results.items():
        print(
            f"{workers:>7} | {r['throughput']:7.2f} | {r['p50']:8.1f} | {r['p99']:8.1f} "
            f"| {r['elapsed']:11.1f}"
        )
    if 1 in results and len(results) > 1:
        top = max(results)
        print(
            f"{top} workers: {results[top]['throughput'] / results[1]['throughput']:.1f}x the throughput of 1"
        )
    print("targets: p99 < 60 s; 4 workers >= 3x the throughput of 1")


if __name__ == "__main__":
    main()
