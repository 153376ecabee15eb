"""Benchmark: the AWS plugin on moto's server over HTTP — 500 mixed resources (queues, parameters,
buckets): create, a refreshing plan without changes, a 1% change; and the refresh's reads through
the plugin's concurrency against a sequential boto3 loop doing the same reads, in the same run.

    .venv/bin/python bench/bench_aws.py [--count 500]

Target: the concurrent refresh at least 4x faster than the sequential loop.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_apply import DRIFTGATE, timed  # noqa: E402
from driftgate.providers.base import ProviderContext  # noqa: E402
from driftgate.testing.stacks import fast_write_module, write_stack  # noqa: E402

PLUGIN = str(Path(sys.executable).parent / "driftgate-provider-aws")
TARGET = "concurrent refresh >= 4x faster than a sequential boto3 loop"


def resources(count: int, *, delay: int = 0) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    for i in range(count):
        if i % 5 < 3:
            spec: dict[str, object] = {"name": f"q{i}", "delay_seconds": delay if i % 100 == 0 else 0}
            found.append({"type": "aws.sqs_queue", "name": f"q{i}", "spec": spec})
        elif i % 5 == 3:
            found.append(
                {
                    "type": "aws.ssm_parameter",
                    "name": f"p{i}",
                    "spec": {"name": f"/bench/p{i}", "value": str(i)},
                }
            )
        else:
            found.append({"type": "aws.s3_bucket", "name": f"b{i}", "spec": {"name": f"bench-b{i}"}})
    return found


LATENCY = 0.025  # seconds per request: a stand-in for the round trip to an AWS region


def _latency(**_: object) -> None:
    time.sleep(LATENCY)


def _wait_until_answering(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()  # noqa: S310
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def write_modules(stack: Path, found: list[dict[str, object]]) -> None:
    """Buckets hold data: their module is stateful, applied on its own."""
    buckets = [r for r in found if r["type"] == "aws.s3_bucket"]
    fast_write_module(stack / "modules" / "app.yaml", "app", [r for r in found if r not in buckets])
    fast_write_module(stack / "modules" / "storage.yaml", "storage", buckets)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=500)
    args = parser.parse_args()
    from driftgate_provider_aws.provider import AwsProvider

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # moto in a process of its own, as AWS is: in this one it would share a GIL with the reads timed
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    _wait_until_answering(url)
    config = {
        "region": "eu-west-1",
        "endpoint_url": url,
        "access_key_id": "AKIABENCH00000000000",
        "secret_access_key": "bench",
    }
    work = Path(tempfile.mkdtemp(prefix="driftgate-bench-aws-"))
    env = {**os.environ, "DRIFTGATE_HOME": str(work / "home")}
    try:
        stack = write_stack(
            work / "stack", name="cloud", modules={}, providers={"aws": {"plugin": PLUGIN, "config": config}}
        )
        write_modules(stack, resources(args.count))
        apply = [DRIFTGATE, "apply", "-s", str(stack), "--auto-approve", "--no-commit-back"]
        gate = ["--module", "storage", "--allow-stateful", "--confirm", "storage"]  # buckets: stateful
        create = timed([*apply, "--module", "app"], cwd=work, env=env).seconds
        create += timed([*apply, *gate], cwd=work, env=env).seconds
        plan = timed([DRIFTGATE, "plan", "-s", str(stack)], cwd=work, env=env)
        assert plan.code == 0, "a plan right after the applies has no changes"
        write_modules(stack, resources(args.count, delay=5))
        change_plan = timed([DRIFTGATE, "plan", "-s", str(stack)], cwd=work, env=env)
        change_apply = timed([*apply, "--module", "app"], cwd=work, env=env)

        provider = AwsProvider()
        provider.configure(config, ProviderContext(stack_dir=stack))
        items = [(r["type"], r["spec"], {}) for r in resources(args.count)]
        for service in ("sqs", "ssm", "s3"):  # the network to AWS, which moto on localhost does not have
            provider.aws.get(service).meta.events.register("before-send", _latency)
        started = time.perf_counter()
        for item in items:  # the same reads, one after another: what a naive refresh does
            provider._read_one(item)  # type: ignore[arg-type]
        sequential = time.perf_counter() - started
        started = time.perf_counter()
        provider.read_many(items)  # type: ignore[arg-type]
        concurrent = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{args.count} resources on moto (queues, parameters, buckets), through the plugin")
    print(f"  create (2 applies: app, storage): {create:6.2f} s")
    print(f"  refreshing plan without changes : {plan.seconds:6.2f} s")
    print(f"  1% change: plan / apply         : {change_plan.seconds:6.2f} s / {change_apply.seconds:.2f} s")
    print(f"  refresh reads with {LATENCY * 1000:.0f} ms per request (a stand-in for the network to AWS):")
    print(f"    a sequential loop             : {sequential:6.2f} s")
    print(f"    the plugin, 16 at once        : {concurrent:6.2f} s  ({sequential / concurrent:.1f}x faster)")
    print(f"target: {TARGET}")


if __name__ == "__main__":
    main()
