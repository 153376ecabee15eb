"""A stack with a Terraform root, as a user runs it: each Terraform resource change an action of
its own in the plan and the ledger, outputs referenced by other resources, a failure giving a
partial ledger, secrets nowhere driftgate writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from driftgate.cli import exitcodes as codes
from driftgate.providers.terraform.runner import Terraform
from driftgate.testing.cli import DRIFTGATE, run
from driftgate.testing.gitrepos import Remote, cloned_stack, git
from driftgate.testing.stacks import write_stack
from tests.providers.terraform.conftest import write_root
from tests.providers.terraform.test_runner import PASSWORD, ROOT

NET = "net/terraform.root.network"


def tf_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terraform: str, greeting: str, **extra: object
) -> Path:
    monkeypatch.setenv("DRIFTGATE_SECRET_DB_PW", PASSWORD)
    monkeypatch.setenv("DRIFTGATE_SECRET_ENV_ALLOW", "DRIFTGATE_SECRET_DB_PW")
    root = {
        "type": "terraform.root",
        "name": "network",
        "spec": {
            "dir": "terraform/network",
            "vars": {"greeting": greeting, "db_password": "secret://env/DRIFTGATE_SECRET_DB_PW"},
            **extra,
        },
    }
    reader = {
        "type": "data.value",
        "name": "reader",
        "spec": {"input": "${net/terraform.root.network.output.a_out}"},
        "depends_on": [NET],
    }
    stack = write_stack(
        tmp_path / "stack",
        name="tf",
        modules={"net": [root], "app": [reader]},
        providers={"terraform": {"binary": terraform}, "data": {}},
    )
    write_root(stack / "terraform" / "network", ROOT)
    return stack


def test_each_terraform_change_is_an_action_and_outputs_flow_on(
    tmp_path: Path,
    terraform: str,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = tf_stack(tmp_path, monkeypatch, terraform, "hello")
    code, out, err = run(capsys, "plan", "-s", str(stack), "--json")
    assert code == codes.CHANGES, out + err
    actions = {a["address"]: a["action"] for a in json.loads(out)["actions"]}
    assert actions == {
        NET: "create",
        f"{NET}[terraform_data.a]": "create",
        f"{NET}[terraform_data.b]": "create",
        f"{NET}[terraform_data.c]": "create",
        f"{NET}[terraform_data.secret]": "create",
        "app/data.value.reader": "create",
    }
    assert PASSWORD not in out
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--json")
    assert code == 0, out + err
    result = json.loads(out)["result"]
    assert result["full_success"] and result["action_count"] == 6
    assert PASSWORD not in out + err
    code, out, _ = run(capsys, "state", "list", "-s", str(stack), "--json")
    assert PASSWORD not in out
    code, out, _ = run(capsys, "plan", "-s", str(stack), "--json")
    assert code == 0, out  # in sync: Terraform plans no change
    state = json.loads(run(capsys, "state", "show", "app/data.value.reader", "-s", str(stack), "--json")[1])
    assert state["outputs"]["output"] == "hello"  # the root's output, referenced


def test_a_failing_terraform_resource_gives_a_partial_ledger(
    tmp_path: Path,
    terraform: str,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = tf_stack(tmp_path, monkeypatch, terraform, "fail")
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--json", "--module", "net")
    result = json.loads(out)["result"]
    assert code != 0 and not result["full_success"], out + err
    outcomes = {a["address"]: (a["status"], a["attempted"]) for a in result["actions"]}
    assert outcomes == {
        NET: ("ERROR", True),
        f"{NET}[terraform_data.a]": ("SUCCESS", True),
        f"{NET}[terraform_data.b]": ("ERROR", True),
        f"{NET}[terraform_data.c]": ("ERROR", False),
        f"{NET}[terraform_data.secret]": ("SUCCESS", True),
    }
    assert PASSWORD not in out + err
    code, out, _ = run(capsys, "plan", "-s", str(stack), "--json", "--module", "net")
    actions = {a["address"]: a["action"] for a in json.loads(out)["actions"]}
    assert actions[f"{NET}[terraform_data.a]"] == "noop" and actions[f"{NET}[terraform_data.c]"] == "create"


def test_a_saved_plan_is_stale_once_terraform_ran_outside_it(
    tmp_path: Path,
    terraform: str,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = tf_stack(tmp_path, monkeypatch, terraform, "hello")
    s = ["-s", str(stack)]
    assert run(capsys, "apply", *s, "--auto-approve", "--module", "net")[0] == 0
    root = stack / "terraform" / "network"
    (root / "main.tf").write_text((root / "main.tf").read_text() + 'resource "terraform_data" "d" {}\n')
    saved = tmp_path / "reviewed.plan"
    assert run(capsys, "plan", *s, "--module", "net", "--out", str(saved))[0] == codes.CHANGES
    apply_by_hand(terraform, root, tmp_path / "by-hand")  # someone ran terraform apply
    code, out, err = run(capsys, "apply", *s, "--auto-approve", str(saved))
    assert code == codes.BY_CODE["PLAN_STALE"], out + err
    assert "state changed since the plan" in out + err


def test_deleting_a_data_bearing_address_is_held_back_by_the_auto_lane(
    tmp_path: Path,
    terraform: str,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = tf_stack(tmp_path, monkeypatch, terraform, "hello", data_bearing=["terraform_data.secret"])
    s = ["-s", str(stack)]
    assert run(capsys, "apply", *s, "--auto-approve", "--module", "net")[0] == 0  # creates: not stateful
    root = stack / "terraform" / "network"
    (root / "main.tf").write_text(
        (root / "main.tf")
        .read_text()
        .replace('resource "terraform_data" "secret" { input = var.db_password }', "")
    )
    code, out, _ = run(capsys, "plan", *s, "--json")
    actions = {a["address"]: a for a in json.loads(out)["actions"]}
    secret = actions[f"{NET}[terraform_data.secret]"]
    assert secret["action"] == "delete" and secret["data_loss"]
    assert actions[NET]["action"] == "update" and not actions[NET]["data_loss"]  # the root itself stays
    code, out, _ = run(capsys, "apply", *s, "--auto-approve", "--lane", "auto", "--json")
    assert f"module 'net' deletes or replaces data-bearing {NET}[terraform_data.secret]" in out, out
    state = Terraform(terraform, stack / "terraform" / "network", tmp_path / "w").show_state()
    kept = [r["address"] for r in state["values"]["root_module"]["resources"]]
    assert "terraform_data.secret" in kept  # held back: not destroyed
    code, out, _ = run(capsys, "apply", *s, "--auto-approve", "--module", "net", "--json")
    assert code == codes.REFUSED and "allow-stateful" in out  # the manual lane wants the full gate


def test_an_apply_by_hand_shows_as_drift_per_terraform_address(
    tmp_path: Path,
    terraform: str,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = tf_stack(tmp_path, monkeypatch, terraform, "hello")
    s = ["-s", str(stack)]
    assert run(capsys, "apply", *s, "--auto-approve", "--module", "net")[0] == 0
    assert run(capsys, "drift", *s)[0] == 0  # nothing changed: no drift
    root = stack / "terraform" / "network"
    by_hand = tmp_path / "copy"  # another checkout, sharing the state (a local backend here)
    by_hand.mkdir()
    (by_hand / "main.tf").write_text(
        (root / "main.tf").read_text()
        + f'\nterraform {{\n  backend "local" {{ path = "{root}/terraform.tfstate" }}\n}}\n'
    )
    apply_by_hand(terraform, by_hand, tmp_path / "by-hand")
    code, out, err = run(capsys, "drift", *s, "--json")
    assert code == codes.CHANGES, out + err
    items = {i["address"]: i for i in json.loads(out)["items"]}
    assert set(items) == {f"{NET}[terraform_data.a]", f"{NET}[terraform_data.b]", f"{NET}[terraform_data.c]"}
    assert items[f"{NET}[terraform_data.a]"]["drift"] == "changed"
    assert "applied outside driftgate" in json.dumps(items[f"{NET}[terraform_data.a]"]["changes"])
    assert PASSWORD not in out
    code, out, _ = run(capsys, "drift", *s)  # the table shows the addresses, brackets and all
    assert code == codes.CHANGES and "network[terra" in out, out


def test_a_backup_keeps_the_state_and_the_roots_own_data_dump(
    tmp_path: Path,
    terraform: str,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dump = ["sh", "-c", "echo 'rows of the database'"]
    stack = tf_stack(tmp_path, monkeypatch, terraform, "hello", backup_command=dump)
    s = ["-s", str(stack)]
    assert run(capsys, "apply", *s, "--auto-approve", "--module", "net")[0] == 0
    code, out, err = run(capsys, "backup", "create", "net", *s, "--json")
    assert code == 0, out + err
    manifest = json.loads(out)
    (entry,) = manifest["resources"]
    assert entry["address"] == NET and entry["files"] == ["data.backup", "meta.json", "terraform.tfstate"]
    assert run(capsys, "backup", "verify", manifest["ref"], *s)[0] == 0
    assert PASSWORD not in out
    code, out, err = run(capsys, "backup", "restore", manifest["ref"], *s, "--yes")
    assert code != 0 and "terraform state push" in out + err and "Traceback" not in out + err
    assert manifest["ref"] in out + err  # issue 23, item 21: the refusal says where the artifact is

    root = stack / "terraform" / "network"
    apply_by_hand(terraform, root, tmp_path / "by-hand")
    code, out, err = run(capsys, "backup", "create", "net", *s)
    assert code != 0 and "changed outside driftgate" in out + err  # not the state driftgate applied


def test_terraforms_own_state_lock_held_is_exit_5_with_its_holder(
    tmp_path: Path,
    terraform: str,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = tf_stack(tmp_path, monkeypatch, terraform, "hello")
    root = stack / "terraform" / "network"
    holder = tmp_path / "holder"
    holder.mkdir()
    (holder / "main.tf").write_text(
        f'terraform {{\n  backend "local" {{ path = "{root}/terraform.tfstate" }}\n}}\n'
        'resource "terraform_data" "slow" {\n  provisioner "local-exec" { command = "sleep 8" }\n}\n'
    )
    env = Terraform(terraform, holder, tmp_path / "w").env()
    subprocess.run([terraform, "init", "-input=false"], cwd=holder, env=env, check=True, capture_output=True)
    argv = [terraform, "apply", "-auto-approve", "-input=false"]
    with subprocess.Popen(argv, cwd=holder, env=env, stdout=subprocess.PIPE, text=True) as slow:
        assert slow.stdout is not None
        for line in slow.stdout:  # the lock is held once it is creating
            if "Creating..." in line:
                break
        code, out, err = run(capsys, "plan", "-s", str(stack))
        assert code == codes.BY_CODE["STACK_LOCKED"], out + err
        assert "Terraform's state lock is held" in out + err and "ID " in out + err
        slow.communicate(timeout=60)


def test_reconcile_drafts_the_terraform_drift_with_the_command_to_accept_it(
    tmp_path: Path,
    terraform: str,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remote, stack = tf_clone(tmp_path, monkeypatch, terraform)
    s = ["-s", str(stack)]
    code, out, err = run(capsys, "apply", *s, "--auto-approve", "--module", "net")
    assert code == 0, out + err
    root = stack / "terraform" / "network"
    apply_by_hand(terraform, root, tmp_path / "by-hand")

    code, out, _ = run(capsys, "reconcile", *s, "--json")
    result = json.loads(out)
    assert code == codes.CHANGES and result["draft"] is True, out
    listing = git(remote.path, "ls-tree", "-r", "--name-only", result["branch"]).split()
    assert "stacks/tf/modules/net.network.drift.md" in listing
    assert not [n for n in listing if "tfstate" in n or ".terraform/" in n]  # state never reaches git
    text = git(remote.path, "show", f"{result['branch']}:stacks/tf/modules/net.network.drift.md")
    assert text.startswith("# imported from live state; approximate")
    assert "## `terraform_data.a`: changed" in text and "changed by hand" in text
    assert "terraform -chdir=terraform/network apply -refresh-only -var greeting=hello" in text
    assert "TF_VAR_db_password=<secret://env/DRIFTGATE_SECRET_DB_PW>" in text
    everything = "".join(git(remote.path, "show", f"{result['branch']}:{n}") for n in listing)
    assert PASSWORD not in everything


def test_import_writes_an_import_block_and_generated_code_on_a_draft_branch(
    tmp_path: Path,
    terraform: str,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rendered = tf_stack(tmp_path / "render", monkeypatch, terraform, "hello")
    remote, stack = cloned_stack(
        tmp_path, rendered, "stacks/tf", extra={"stacks/tf/terraform/network/main.tf": ROOT}
    )
    s = ["-s", str(stack)]
    assert run(capsys, "apply", *s, "--auto-approve", "--module", "net")[0] == 0
    code, out, err = run(capsys, "import", "network", "terraform_data.legacy", "legacy-123", *s, "--json")
    assert code == codes.CHANGES, out + err
    result = json.loads(out)
    text = git(remote.path, "show", f"{result['branch']}:stacks/tf/terraform/network/imported_1.tf")
    assert text.startswith("# imported from live state; approximate")
    assert "to = terraform_data.legacy" in text and 'id = "legacy-123"' in text
    assert 'resource "terraform_data" "legacy"' in text  # generated by terraform plan -generate-config-out
    assert list((stack / "terraform" / "network").glob("imported_*.tf")) == []  # the root itself untouched

    code, out, err = run(capsys, "import", "network", "not an address", "x", *s)
    assert code != 0 and "not a Terraform resource address" in out + err and "Traceback" not in out + err


def test_ctrl_c_interrupts_terraform_once_and_waits_for_it(
    tmp_path: Path, terraform: str, store_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root_source = (
        'resource "terraform_data" "slow" {\n'
        '  provisioner "local-exec" { command = "touch started; exec sleep 20" }\n}\n'
        'resource "terraform_data" "after" { depends_on = [terraform_data.slow] }\n'
    )
    resource = {"type": "terraform.root", "name": "slow", "spec": {"dir": "root"}}
    stack = write_stack(
        tmp_path / "stack",
        name="tf",
        modules={"net": [resource]},
        providers={"terraform": {"binary": terraform}},
    )
    root = write_root(stack / "root", root_source)
    with subprocess.Popen(
        [DRIFTGATE, "apply", "-s", str(stack), "--auto-approve", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a terminal's default: where the suite runs in the background, SIGINT is inherited ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    ) as proc:
        deadline = time.monotonic() + 60
        while not (root / "started").exists():
            assert time.monotonic() < deadline and proc.poll() is None, "terraform never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)  # one Ctrl-C, as a terminal sends it to driftgate
        out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    # Terraform stopped its work when interrupted (its provisioner was cancelled) ...
    state = json.loads((root / "terraform.tfstate").read_text())  # ... and saved its state on the way out
    assert state["lineage"]
    assert running_in(root, "terraform") == []  # driftgate waited for Terraform to finish
    result = json.loads(out)["result"]
    outcomes = {a["address"]: (a["status"], a["attempted"]) for a in result["actions"]}
    assert outcomes["net/terraform.root.slow[terraform_data.slow]"] == ("ERROR", True)
    assert outcomes["net/terraform.root.slow[terraform_data.after]"] == ("ERROR", False)
    assert any("interrupted" in e for e in result["errors"]), result["errors"]


def test_secrets_reach_no_plan_file_store_log_or_commit(
    tmp_path: Path,
    terraform: str,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remote, stack = tf_clone(tmp_path, monkeypatch, terraform)
    s = ["-s", str(stack)]
    saved = tmp_path / "reviewed.plan"
    code, shown, err = run(capsys, "plan", *s, "--out", str(saved))
    assert code == codes.CHANGES, shown + err
    code, out, err = run(capsys, "apply", *s, "--auto-approve", str(saved), "--json")
    assert code == 0, out + err
    state = json.loads(run(capsys, "state", "show", NET, *s, "--json")[1])
    assert state["outputs"]["output.pw"] == "(sensitive)" and state["outputs"]["output.a_out"] == "hello"
    home = tmp_path / "driftgate-home"
    written = [saved.read_bytes(), shown.encode(), out.encode(), err.encode()]
    written += [p.read_bytes() for p in home.rglob("*") if p.is_file() and p.suffix != ".tfplan"]
    objects = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"],
        cwd=remote.path,
        capture_output=True,
        check=True,
    ).stdout
    assert PASSWORD.encode() not in objects  # nothing pushed holds it
    for blob in written:
        assert PASSWORD.encode() not in blob
    kept = list(home.rglob("*.tfplan"))  # Terraform's own plan files hold it: opaque, 0600, then gone
    assert kept == [] or all(p.stat().st_mode & 0o777 == 0o600 for p in kept)


def test_the_binary_must_satisfy_the_version_constraint(
    tmp_path: Path,
    terraform: str,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = tf_stack(tmp_path, monkeypatch, terraform, "hello")
    text = (stack / "stack.yaml").read_text()
    (stack / "stack.yaml").write_text(
        text.replace(f"binary: {terraform}", f"binary: {terraform}\n    version: '>=99'")
    )
    code, out, err = run(capsys, "plan", "-s", str(stack))
    assert code != 0 and "is not version >=99" in out + err and "Traceback" not in out + err
    (stack / "stack.yaml").write_text(
        text.replace(f"binary: {terraform}", f"binary: {terraform}\n    version: '>=1.5'")
    )
    assert run(capsys, "plan", "-s", str(stack))[0] == codes.CHANGES


def test_heal_policy_applies_the_root_back_through_the_auto_lane(
    tmp_path: Path,
    terraform: str,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rendered = tf_stack(tmp_path / "render", monkeypatch, terraform, "hello")
    module = rendered / "modules" / "net.yaml"
    module.write_text(module.read_text().replace("stateful: false", "stateful: false\ndrift: heal"))
    remote, stack = cloned_stack(
        tmp_path, rendered, "stacks/tf", extra={"stacks/tf/terraform/network/main.tf": ROOT}
    )
    s = ["-s", str(stack)]
    assert run(capsys, "apply", *s, "--auto-approve", "--module", "net")[0] == 0
    root = stack / "terraform" / "network"
    tf = apply_by_hand(terraform, root, tmp_path / "by-hand")
    code, out, err = run(capsys, "reconcile", *s, "--json")
    result = json.loads(out)
    assert f"{NET}[terraform_data.a]" in result["healed"], out + err
    live = {r["address"]: r["values"] for r in tf.show_state()["values"]["root_module"]["resources"]}
    assert live["terraform_data.a"]["input"] == "hello"  # back to the configuration
    assert run(capsys, "drift", *s)[0] == 0


def tf_clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terraform: str) -> tuple[Remote, Path]:
    """The Terraform stack in a config repo pushed to a bare remote and cloned: (the remote, the
    stack in the clone)."""
    rendered = tf_stack(tmp_path / "render", monkeypatch, terraform, "hello")
    extra = {"stacks/tf/terraform/network/main.tf": ROOT, "stacks/tf/.gitignore": ".terraform/\n*.tfstate*\n"}
    return cloned_stack(tmp_path, rendered, "stacks/tf", extra=extra)


def apply_by_hand(terraform: str, root: Path, work: Path) -> Terraform:
    """``terraform apply`` of ``root`` with another greeting, as someone would run it outside driftgate."""
    tf = Terraform(
        terraform, root, work, secret_vars={"db_password": PASSWORD}, vars={"greeting": "changed by hand"}
    )
    planfile = work / "p.tfplan"
    plan = tf.plan(planfile)
    tf.apply(planfile, {c.address: c.kind for c in plan.children})
    return tf


def running_in(directory: Path, name: str) -> list[int]:
    """``name`` processes working in ``directory`` (other tests may run Terraform too; the shell
    a provisioner started may leave its own children behind, which is not Terraform's doing)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                here = Path(os.readlink(entry / "cwd")) == directory.resolve()
                if here and (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_root_whose_vars_wait_on_an_unapplied_output_is_a_clear_plan_error(
    tmp_path: Path,
    terraform: str,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = tf_stack(tmp_path, monkeypatch, terraform, "${base/data.value.seed.output}")
    header = "apiVersion: driftgate/v1\nkind: Module\nname: base\n"
    (stack / "modules" / "base.yaml").write_text(
        header + "resources:\n- {type: data.value, name: seed, spec: {input: from-base}}\n"
    )
    code, out, err = run(capsys, "plan", "-s", str(stack))
    assert code == 1 and "vars use(s) outputs known only after this plan's apply" in out + err, out + err
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--module", "base")
    assert code == 0, out + err
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--json")
    assert code == 0, out + err  # the output is known now: the root plans and applies with it
    state = json.loads(run(capsys, "state", "show", NET, "-s", str(stack), "--json")[1])
    assert state["outputs"]["output.a_out"] == "from-base"


@pytest.mark.parametrize(
    ("spec", "config", "expected"),
    [
        ({"dir": "../outside"}, {}, "must be a directory inside the stack"),
        ({"dir": "/etc"}, {}, "must be a directory inside the stack"),
        ({"dir": "escape"}, {}, "must be a directory inside the stack"),  # a symlink out of the stack
        ({"dir": "missing"}, {}, "no such directory"),
        ({"dir": "terraform/network", "binary": "no-such-terraform"}, {}, "cannot run 'no-such-terraform'"),
        ({"dir": "terraform/network"}, {"colour": "blue"}, "unknown field(s) colour"),
        ({"dir": "terraform/network"}, {"version": "not a version"}, "is not a constraint"),
    ],
)
def test_bad_roots_and_config_are_one_line_errors(
    tmp_path: Path,
    terraform: str,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    spec: dict[str, str],
    config: dict[str, str],
    expected: str,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "main.tf").write_text('resource "terraform_data" "x" {}\n')
    resource = {"type": "terraform.root", "name": "bad", "spec": spec}
    stack = write_stack(
        tmp_path / "stack",
        name="tf",
        modules={"net": [resource]},
        providers={"terraform": {"binary": terraform, **config}},
    )
    write_root(stack / "terraform" / "network", 'resource "terraform_data" "x" {}\n')
    (stack / "escape").symlink_to(outside, target_is_directory=True)
    code, out, err = run(capsys, "plan", "-s", str(stack))
    assert code != 0 and expected in out + err, out + err
    assert "Traceback" not in out + err
    assert not (outside / ".terraform").exists() and not list(outside.glob("*.tfstate"))  # never ran there


def test_a_root_terraform_cannot_plan_is_a_plan_error_naming_it(
    tmp_path: Path, terraform: str, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    resource = {"type": "terraform.root", "name": "broken", "spec": {"dir": "root"}}
    stack = write_stack(
        tmp_path / "stack",
        name="tf",
        modules={"net": [resource]},
        providers={"terraform": {"binary": terraform}},
    )
    write_root(stack / "root", 'resource "terraform_data" "x" {\n  input = \n}\n')  # a syntax error
    code, out, err = run(capsys, "plan", "-s", str(stack))
    assert code == 1, out + err
    line = next(x for x in (out + err).splitlines() if "net/terraform.root.broken" in x)
    assert "terraform init failed in root" in line or "terraform plan failed in root" in line, line
    assert "Traceback" not in out + err
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve")
    assert code != 0 and "nothing was applied" in out + err
