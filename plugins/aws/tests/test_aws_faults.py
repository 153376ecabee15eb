"""AWS misbehaving mid-apply, over HTTP between the plugin and moto: throttling that botocore's
standard retries ride out, throttling that does not stop (a partial ledger), and the plugin
process killed while a call is in flight."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import FaultyAws, Moto, Rule, kill_plugins
from driftgate.cli import exitcodes as codes
from driftgate.testing.cli import run
from driftgate.testing.stacks import write_stack
from test_aws_plugin import PLUGIN


def queues_stack(tmp_path: Path, moto: Moto, url: str, resources: list[dict[str, Any]]) -> Path:
    config = {**moto.config(), "endpoint_url": url, "max_attempts": 3}
    providers = {"aws": {"plugin": str(PLUGIN), "config": config}}
    return write_stack(tmp_path / "stack", name="cloud", modules={"app": resources}, providers=providers)


def queue(name: str, *after: str) -> dict[str, Any]:
    found: dict[str, Any] = {"type": "aws.sqs_queue", "name": name, "spec": {"name": name}}
    if after:
        found["depends_on"] = [f"aws.sqs_queue.{a}" for a in after]
    return found


def outcomes(out: str) -> dict[str, dict[str, Any]]:
    return {a["address"]: a for a in json.loads(out)["result"]["actions"]}


def test_throttling_is_retried_and_throttling_that_never_stops_fails_only_its_action(
    tmp_path: Path, moto: Moto, faulty: FaultyAws, capsys: pytest.CaptureFixture[str]
) -> None:
    bursty = Rule("CreateQueue", '"bursty"', throttle=2)
    jammed = Rule("CreateQueue", '"jammed"', throttle=-1)
    faulty.rules += [bursty, jammed]
    stack = queues_stack(tmp_path, moto, faulty.url, [queue("calm"), queue("bursty"), queue("jammed")])
    code, out, _ = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--json")
    assert code != 0 and json.loads(out)["result"]["full_success"] is False
    found = outcomes(out)
    assert found["app/aws.sqs_queue.calm"]["status"] == "SUCCESS"
    assert found["app/aws.sqs_queue.bursty"]["status"] == "SUCCESS" and bursty.seen == 3  # two throttled
    failed = found["app/aws.sqs_queue.jammed"]
    assert failed["status"] == "ERROR" and "ThrottlingException" in failed["error"]
    assert jammed.seen == 3  # max_attempts, then given up
    listed = moto.client("sqs").list_queues().get("QueueUrls", [])
    assert sorted(u.rsplit("/", 1)[1] for u in listed) == ["bursty", "calm"]
    jammed.throttle = 0  # AWS calms down: the next apply finishes the job
    code, out, _ = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--json")
    assert code == 0, out
    assert {a: o["action"] for a, o in outcomes(out).items() if o["action"] != "noop"} == {
        "app/aws.sqs_queue.jammed": "create"
    }


def test_a_plugin_killed_mid_apply_leaves_a_correct_ledger(
    tmp_path: Path, moto: Moto, faulty: FaultyAws, capsys: pytest.CaptureFixture[str]
) -> None:
    killed: list[int] = []
    faulty.rules.append(Rule("CreateQueue", '"doomed"', hold=lambda: killed.extend(kill_plugins())))
    resources = [queue("first"), queue("doomed", "first"), queue("last", "doomed")]
    stack = queues_stack(tmp_path, moto, faulty.url, resources)
    started = time.monotonic()
    code, out, _ = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--json")
    assert killed, "the plugin was never seen mid-call"
    assert time.monotonic() - started < 60
    report = json.loads(out)
    assert code != 0 and report["result"]["full_success"] is False
    found = outcomes(out)
    assert found["app/aws.sqs_queue.first"]["status"] == "SUCCESS"
    doomed = found["app/aws.sqs_queue.doomed"]
    assert doomed["status"] == "ERROR" and doomed["attempted"] and "died during the call" in doomed["error"]
    last = found["app/aws.sqs_queue.last"]
    assert last["status"] == "ERROR" and not last["attempted"]
    assert "AKIAMOTOTESTKEY00000" not in out and "moto-test-secret" not in out

    faulty.rules.clear()
    faulty.released.set()
    code, out, _ = run(capsys, "plan", "-s", str(stack), "--json")  # a new plugin process reads it all
    actions = {a["address"]: a["action"] for a in json.loads(out)["actions"]}
    assert code == codes.CHANGES and actions == {
        "app/aws.sqs_queue.first": "noop",
        "app/aws.sqs_queue.doomed": "create",  # uncertain, read live: never made
        "app/aws.sqs_queue.last": "create",
    }
