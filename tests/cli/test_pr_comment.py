"""``driftgate pr-comment``: bad input is a one-line error naming what is wrong, nothing posted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from driftgate.localforge import LocalForge
from driftgate.localforge.documents import Pull
from driftgate.services.pr_comment import plan_markdown
from driftgate.testing.cli import Capture, run

TOKEN = "ghp_" + "P" * 36
PLAN = {
    "format": "driftgate-plan/v1",
    "stack": "site",
    "summary": {"create": 1, "noop": 3},
    "errors": [],
    "stateful_modules": [],
    "actions": [
        {"action": "create", "address": "web/file.file.a|b", "changes": [{"name": "content"}], "reason": ""},
        {"action": "noop", "address": "web/file.file.c", "changes": []},
    ],
}


@pytest.fixture
def forge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalForge]:
    monkeypatch.setenv("DRIFTGATE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DRIFTGATE_SECRET_T", TOKEN)
    with LocalForge(tmp_path / "forge", token=TOKEN) as running:
        running.create_repo("infra")
        running.pulls["infra"][1] = Pull(1, "t", "", "main", "main", False, "2026", "2026")
        yield running


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not a plan's JSON"),
        ('{"format": "something-else", "actions": []}', "not the output of `driftgate plan --json`"),
        ("[1, 2]", "not the output of `driftgate plan --json`"),
    ],
)
def test_a_file_that_is_not_a_plan_is_refused_in_one_line(
    forge: LocalForge, tmp_path: Path, capsys: Capture, content: str, reason: str
) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text(content)
    args = [
        "pr-comment",
        str(bad),
        "--repo",
        forge.repo_url("infra"),
        "--pr",
        "1",
        "--auth",
        "secret://env/DRIFTGATE_SECRET_T",
    ]
    code, out, err = run(capsys, *args, "--forge", "github")
    assert code == 1 and reason in err and "plan.json" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and forge.pulls["infra"][1].comments == []


def test_a_token_value_in_place_of_a_reference_is_refused_and_not_echoed(
    forge: LocalForge, tmp_path: Path, capsys: Capture
) -> None:
    good = tmp_path / "plan.json"
    good.write_text(json.dumps(PLAN))
    code, out, err = run(
        capsys, "pr-comment", str(good), "--repo", forge.repo_url("infra"), "--pr", "1", "--auth", TOKEN
    )
    assert code == 1 and "--auth" in err and TOKEN not in out + err
    assert forge.pulls["infra"][1].comments == []


def test_the_comment_escapes_table_cells_and_leaves_unchanged_resources_out(
    forge: LocalForge, tmp_path: Path, capsys: Capture
) -> None:
    good = tmp_path / "plan.json"
    good.write_text(json.dumps(PLAN))
    args = ["pr-comment", str(good), "--repo", forge.repo_url("infra"), "--pr", "1"]
    code, out, err = run(capsys, *args, "--auth", "secret://env/DRIFTGATE_SECRET_T", "--json")
    assert code == 0, err
    assert json.loads(out) == {
        "format_version": "1.1",
        "comment_id": forge.pulls["infra"][1].comments[0]["id"],
        "created": True,
        "forge": "github",
    }
    body = forge.pulls["infra"][1].comments[0]["body"]
    assert body == plan_markdown(PLAN) and "web/file.file.a\\|b" in body and "file.file.c" not in body
    assert "1 to create" in body and "(3 unchanged)" in body
