"""The CI templates in ``examples/ci/`` (GitHub Actions, Forgejo Actions, GitLab CI): each is valid
YAML with the three jobs, and each job's shell steps run here as the CI would run them — against the
local forge of that kind and a stack in a real clone: the plan posted as one comment edited in place,
the automatic lane (exit 4 shown as "held back", not a failure), loop-guard skipping driftgate's own
commit, and the manual stateful lane with its module, confirmation and backup reference.

The steps that install things (``uses:``, the pip install, GitLab's ``before_script``) are not run:
driftgate is already on PATH here."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from driftgate.gitops.gitcmd import RUN_TRAILER, Credential, run_git
from driftgate.localforge import LocalForge
from driftgate.testing.stacks import write_stack

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = {
    "github": ROOT / "examples/ci/github/.github/workflows/driftgate.yml",
    "forgejo": ROOT / "examples/ci/forgejo/.forgejo/workflows/driftgate.yml",
    "gitlab": ROOT / "examples/ci/gitlab/.gitlab-ci.yml",
}
TOKEN = "ci-template-token-0123456789abcdef"
JOBS = ("plan", "apply", "apply-stateful")


def job_scripts(kind: str, job: str) -> list[str]:
    """The shell a job runs, in order, without the install steps."""
    doc = yaml.safe_load(TEMPLATES[kind].read_text())
    if kind == "gitlab":
        return [str(line) for line in doc[job]["script"]]
    steps = doc["jobs"][job]["steps"]
    return [str(s["run"]) for s in steps if "run" in s and s.get("name") != "Install driftgate"]


@pytest.mark.parametrize("kind", TEMPLATES)
def test_each_template_is_yaml_with_the_three_jobs_and_installs_driftgate(kind: str) -> None:
    doc = yaml.safe_load(TEMPLATES[kind].read_text())
    jobs = doc if kind == "gitlab" else doc["jobs"]
    assert all(job in jobs for job in JOBS)
    text = TEMPLATES[kind].read_text()
    assert 'pip install "$DRIFTGATE_INSTALL"' in text or 'pip install --quiet "$DRIFTGATE_INSTALL"' in text
    for job in JOBS:
        assert job_scripts(kind, job), job
    if kind != "gitlab":
        assert set(doc[True]) == {"pull_request", "push", "workflow_dispatch"}  # YAML 1.1 reads `on:` so
        assert set(doc[True]["workflow_dispatch"]["inputs"]) == {"module", "confirm", "backup_ref"}
        for job in JOBS:  # an operator's input reaches the shell only through the environment
            assert "${{" not in "".join(job_scripts(kind, job))
    else:
        assert doc["apply-stateful"]["rules"][0]["when"] == "manual"
        shell = "".join(line for job in JOBS for line in job_scripts(kind, job))
        assert "${" not in shell  # CI variables reach the shell as the environment, not spliced in


@dataclass
class Ci:
    kind: str
    forge: LocalForge
    work: Path
    env: dict[str, str]

    def run(self, job: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """Run a job's scripts one after another, stopping at the first failure, as a CI does."""
        output, code = "", 0
        for script in job_scripts(self.kind, job):
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                cwd=self.work,
                env={**self.env, **extra},
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            output += done.stdout + done.stderr
            code = done.returncode
            if code != 0:
                break
        return subprocess.CompletedProcess([job], code, output, "")

    def git(self, *args: str) -> str:
        credential = Credential(url=self.forge.repo_url("infra"), token=TOKEN)
        return run_git(*args, cwd=self.work, credential=credential).stdout


def stack_files(tmp_path: Path, kind: str, content: str, db: str = "v1") -> dict[str, str]:
    d = write_stack(
        tmp_path / f"stack-{content}-{db}",
        name="site",
        modules={
            "web": [
                {"type": "file.file", "name": "index", "spec": {"path": "index.html", "content": content}}
            ],
            "db": [{"type": "file.file", "name": "schema", "spec": {"path": "schema.sql", "content": db}}],
        },
        providers={"file": {"root": "live"}},
        stateful=["db"],
    )
    (d / "stack.yaml").write_text(
        (d / "stack.yaml").read_text()
        + f"commit_back:\n  auth: secret://env/DRIFTGATE_SECRET_FORGE_TOKEN\n  forge: {kind}\n"
    )
    return {f"stacks/site/{p.relative_to(d)}": p.read_text() for p in d.rglob("*.yaml")}


@pytest.fixture(params=list(TEMPLATES))
def ci(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ci]:
    kind = str(request.param)
    with LocalForge(tmp_path / "forge", token=TOKEN, kind=kind) as forge:
        url = forge.create_repo("infra", {"README.md": "infra\n", **stack_files(tmp_path, kind, "hi")})
        env = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp_path / "home"),
            "DRIFTGATE_HOME": str(tmp_path / "driftgate-home"),
            "DRIFTGATE_STACK": "stacks/site",
            "DRIFTGATE_SECRET_FORGE_TOKEN": TOKEN,
            "DRIFTGATE_REPO_URL": url,
            "DRIFTGATE_RUN_URL": f"{forge.base}/driftgate/infra/runs/1",
            "GIT_AUTHOR_NAME": "ci",
            "GIT_AUTHOR_EMAIL": "ci@localhost",
            "GIT_COMMITTER_NAME": "ci",
            "GIT_COMMITTER_EMAIL": "ci@localhost",
        }
        work = tmp_path / "checkout"
        run_git("clone", "-q", url, str(work), cwd=tmp_path, credential=Credential(url=url, token=TOKEN))
        yield Ci(kind, forge, work, env)


def commit(ci: Ci, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        (ci.work / rel).write_text(text)
    ci.git("add", "-A")
    ci.git("commit", "-qm", message)
    return ci.git("rev-parse", "HEAD").strip()


def test_a_pull_request_gets_its_plan_as_one_comment_edited_in_place(ci: Ci, tmp_path: Path) -> None:
    ci.git("checkout", "-qb", "change")
    commit(ci, stack_files(tmp_path, ci.kind, "hello"), "a change")
    ci.git("push", "-q", "origin", "change")
    from driftgate.forge import forge_for

    with forge_for(ci.forge.repo_url("infra"), TOKEN, ci.kind) as client:
        pr = client.open_pull_request(head="change", base="main", title="a change", body="")
    first = ci.run("plan", DRIFTGATE_PR=str(pr.number))
    assert first.returncode == 0, first.stdout
    assert "Posted the plan comment" in first.stdout
    (comment,) = ci.forge.pulls["infra"][pr.number].comments
    assert "driftgate plan: `site`" in comment["body"] and "2 to create" in comment["body"]
    assert (
        "`web/file.file.index`" in comment["body"]
        and ci.forge.base + "/driftgate/infra/runs/1" in comment["body"]
    )
    commit(ci, stack_files(tmp_path, ci.kind, "hello again", db="v2"), "another push")
    second = ci.run("plan", DRIFTGATE_PR=str(pr.number))
    assert second.returncode == 0 and "Updated the plan comment" in second.stdout, second.stdout
    (comment,) = ci.forge.pulls["infra"][pr.number].comments  # still one: edited in place
    assert "Stateful modules changed: `db`" in comment["body"]
    assert TOKEN not in first.stdout + second.stdout


def test_a_broken_spec_fails_the_plan_job(ci: Ci) -> None:
    (ci.work / "stacks/site/modules/web.yaml").write_text("resources: [unclosed\n")
    done = ci.run("plan", DRIFTGATE_PR="1")
    assert done.returncode != 0 and "web.yaml" in done.stdout
    assert "Traceback" not in done.stdout


def test_the_automatic_lane_applies_holds_stateful_back_and_skips_its_own_commit(ci: Ci) -> None:
    held = ci.run("apply", DRIFTGATE_REV=ci.git("rev-parse", "HEAD").strip())
    assert held.returncode == 0, held.stdout  # exit 4 is not a failed pipeline...
    assert "stateful modules held back" in held.stdout  # ...it is said
    assert (ci.work / "stacks/site/live/index.html").read_text() == "hi"  # the stateless part applied
    assert not (ci.work / "stacks/site/live/schema.sql").exists()  # the stateful one waits for a person
    own = commit(ci, {"README.md": "touched\n"}, f"driftgate: commit-back\n\n{RUN_TRAILER}: 7")
    skipped = ci.run("apply", DRIFTGATE_REV=own)
    assert skipped.returncode == 0 and "driftgate's own commit-back: skip" in skipped.stdout
    assert "held back" not in skipped.stdout  # nothing ran


def test_a_failing_apply_fails_the_automatic_lane(ci: Ci) -> None:
    (ci.work / "stacks/site/live").mkdir(parents=True)
    (ci.work / "stacks/site/live/index.html").mkdir()  # a directory where the file must go
    done = ci.run("apply", DRIFTGATE_REV="HEAD")
    assert done.returncode not in (0, 4) and "held back" not in done.stdout, done.stdout


def test_the_manual_lane_applies_a_stateful_module_with_its_backup(ci: Ci) -> None:
    assert ci.run("apply", DRIFTGATE_REV="HEAD").returncode == 0  # db held back
    backup = subprocess.run(
        ["driftgate", "backup", "create", "db", "--stack", "stacks/site", "--json"],
        cwd=ci.work,
        env=ci.env,
        capture_output=True,
        text=True,
        check=True,
    )
    ref = str(yaml.safe_load(backup.stdout)["ref"])
    wrong = ci.run("apply-stateful", DRIFTGATE_MODULE="db", DRIFTGATE_CONFIRM="web", DRIFTGATE_BACKUP_REF=ref)
    assert wrong.returncode == 4, wrong.stdout  # the gate's refusal fails this job: a person asked
    assert not (ci.work / "stacks/site/live/schema.sql").exists()
    done = ci.run("apply-stateful", DRIFTGATE_MODULE="db", DRIFTGATE_CONFIRM="db", DRIFTGATE_BACKUP_REF=ref)
    assert done.returncode == 0, done.stdout
    assert (ci.work / "stacks/site/live/schema.sql").read_text() == "v1"
