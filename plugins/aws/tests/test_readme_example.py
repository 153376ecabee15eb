"""The README's AWS example stack, as printed there, applied on moto through the plugin: the
documentation is tested, not just written."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from conftest import Moto
from driftgate.cli import exitcodes as codes
from driftgate.testing.cli import run

README = Path(__file__).resolve().parents[3] / "README.md"
HEADING = "### AWS: the `driftgate-provider-aws` plugin"


def readme_stack(root: Path, endpoint: str) -> Path:
    """The section's first yaml block, one file per document (each names its path first)."""
    section = README.read_text().split(HEADING, 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block, "the README's AWS section has no yaml example"
    for document in block.group(1).split("\n---\n"):
        name = document.lstrip().splitlines()[0].removeprefix("# ").split(" ")[0]
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(document.replace("http://127.0.0.1:5000", endpoint))
    return root


def test_the_readme_example_applies_on_moto(
    tmp_path: Path, moto: Moto, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DRIFTGATE_SECRET_DB_PASSWORD", "readme-secret-5521")
    monkeypatch.setenv(
        "DRIFTGATE_SECRET_ENV_ALLOW",
        "DRIFTGATE_SECRET_AWS_KEY_ID,DRIFTGATE_SECRET_AWS_SECRET,DRIFTGATE_SECRET_DB_PASSWORD",
    )
    stack = readme_stack(tmp_path / "shop", moto.url)
    # issue 23, item 12: validate first, as the CI templates do (a secret:// value was "missing")
    code, out, err = run(capsys, "validate", "-s", str(stack))
    assert code == 0, out + err
    s = ["-s", str(stack), "--auto-approve"]
    code, out, err = run(capsys, "apply", *s, "--module", "app", "--json")
    assert code == 0, out + err
    code, out, err = run(capsys, "apply", *s, "--module", "data", "--allow-stateful", "--confirm", "data")
    assert code == 0, out + err
    code, out, err = run(capsys, "plan", "-s", str(stack), "--json")
    assert code == 0, out + err  # everything as the README says, read back in sync
    assert "readme-secret-5521" not in out
    code, out, err = run(capsys, "backup", "create", "data", "-s", str(stack), "--json")
    assert code == 0, out + err
    assert {r["address"] for r in json.loads(out)["resources"]} == {
        "data/aws.s3_bucket.assets",
        "data/aws.dynamodb_table.orders",
    }
    moto.client("sqs").set_queue_attributes(
        QueueUrl=moto.client("sqs").get_queue_url(QueueName="orders")["QueueUrl"],
        Attributes={"VisibilityTimeout": "1"},
    )
    assert run(capsys, "drift", "-s", str(stack))[0] == codes.CHANGES
