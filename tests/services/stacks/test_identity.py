"""One rule for where a run belongs: a run's own ``--repo`` is the config repo its stack's identity
and its commit-back both follow (the direct-apply-then-commit-back loop)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from driftgate.cli import exitcodes as codes
from driftgate.testing.cli import run
from driftgate.testing.gitrepos import cloned_stack, git
from driftgate.testing.stacks import write_stack


def page(content: str) -> dict[str, list[dict[str, object]]]:
    return {"web": [{"type": "file.file", "name": "page", "spec": {"path": "page.html", "content": content}}]}


def test_apply_from_a_copy_with_the_repo_named_is_the_same_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    """Defect 11: ``apply --from COPY --repo URL`` of a stack bound to URL was refused as elsewhere."""
    rendered = write_stack(
        tmp_path / "render",
        name="site",
        modules=page("v1"),
        providers={"file": {"root": str(tmp_path / "live")}},
    )
    remote, clone = cloned_stack(tmp_path, rendered, "stacks/site")
    code, out, err = run(capsys, "apply", "-s", str(clone), "--auto-approve")
    assert code == 0, out + err  # bound to the remote, at stacks/site

    copy = tmp_path / "copy"  # outside any git repository
    shutil.copytree(clone, copy, ignore=shutil.ignore_patterns(".git"))
    doc = yaml.safe_load((copy / "stack.yaml").read_text())
    doc["commit_back"] = {"path": "stacks/site"}
    (copy / "stack.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    write_stack(copy, name="site", modules=page("v2"), providers=doc["providers"])
    (copy / "stack.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    args = ["apply", "--from", str(copy), "--repo", remote.url, "--branch", "main", "--auto-approve"]
    code, out, err = run(capsys, *args)
    assert code == 0, out + err
    assert "v2" in remote.show("stacks/site/modules/web.yaml")  # commit-back went where identity says

    git(tmp_path / "clone", "pull", "-q")
    code, out, err = run(capsys, "plan", "-s", str(clone))
    assert code == codes.OK, out + err  # the clone of that repository is still the same stack
    code, out, err = run(capsys, "plan", "-s", str(copy))
    assert code == codes.BY_CODE["STACK_ELSEWHERE"], out + err  # without --repo, the copy is elsewhere
