"""The Terraform runner against the real binary: plans parsed and masked, the apply stream turned
into one outcome per address (a failure, its dependent never attempted, a postcondition), a stale
plan refused, secrets only in the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftgate.errors import ProviderError, StalePlanError
from driftgate.plan.model import SENSITIVE, UNKNOWN
from driftgate.providers.terraform.planjson import parse_plan
from driftgate.providers.terraform.runner import Terraform
from tests.providers.terraform.conftest import write_root

ROOT = """
variable "greeting" { type = string }
variable "db_password" {
  type      = string
  sensitive = true
}
resource "terraform_data" "a" { input = var.greeting }
resource "terraform_data" "b" {
  input = "b-${terraform_data.a.output}"
  provisioner "local-exec" { command = "exit ${var.greeting == "fail" ? 1 : 0}" }
}
resource "terraform_data" "c" { input = terraform_data.b.output }
resource "terraform_data" "secret" { input = var.db_password }
output "a_out" { value = terraform_data.a.output }
output "pw" {
  value     = var.db_password
  sensitive = true
}
"""
PASSWORD = "tf-secret-90210"


def runner(terraform: str, root: Path, tmp_path: Path, greeting: str) -> Terraform:
    return Terraform(
        terraform,
        root,
        tmp_path / "work",
        vars={"greeting": greeting},
        secret_vars={"db_password": PASSWORD},
    )


def test_a_plan_is_parsed_masked_and_its_variables_stay_out_of_argv(terraform: str, tmp_path: Path) -> None:
    root = write_root(tmp_path / "root", ROOT)
    tf = runner(terraform, root, tmp_path, "hello")
    assert tf.init() is True and tf.init() is False  # cached on the root's files
    plan = tf.plan(tmp_path / "work" / "p.tfplan")
    assert (tmp_path / "work" / "p.tfplan").stat().st_mode & 0o777 == 0o600
    kinds = {c.address: c.kind for c in plan.children}
    assert kinds == {f"terraform_data.{n}": "create" for n in ("a", "b", "c", "secret")}
    secret = next(c for c in plan.children if c.address == "terraform_data.secret")
    shown = {c.name: c.new for c in secret.changes}
    assert shown["input"] == SENSITIVE and shown["output"] == UNKNOWN
    assert {o.name: o.value for o in plan.outputs} == {"a_out": UNKNOWN, "pw": SENSITIVE}
    assert PASSWORD not in repr(plan)
    assert list((tmp_path / "work").glob("vars-*")) == []  # the var file lived for the call only


def test_a_failure_its_dependent_and_the_rest(terraform: str, tmp_path: Path) -> None:
    root = write_root(tmp_path / "root", ROOT)
    tf = runner(terraform, root, tmp_path, "fail")
    planfile = tmp_path / "work" / "p.tfplan"
    plan = tf.plan(planfile)
    stream = tf.apply(planfile, {c.address: c.kind for c in plan.children})
    outcomes = {a: (o.status, o.attempted) for a, o in stream.outcomes.items()}
    assert outcomes == {
        "terraform_data.a": ("SUCCESS", True),
        "terraform_data.b": ("ERROR", True),
        "terraform_data.c": ("ERROR", False),  # waits on b: never started
        "terraform_data.secret": ("SUCCESS", True),
    }
    assert "local-exec provisioner error" in (stream.outcomes["terraform_data.b"].error or "")
    assert PASSWORD not in json.dumps([o.__dict__ for o in stream.outcomes.values()])


def test_a_postcondition_failure_is_an_error_for_its_address(terraform: str, tmp_path: Path) -> None:
    root = write_root(
        tmp_path / "root",
        """
        resource "terraform_data" "checked" {
          input = "small"
          lifecycle {
            postcondition {
              condition     = self.output == "large"
              error_message = "the output must be large"
            }
          }
        }
        resource "terraform_data" "other" { input = "fine" }
        """,
    )
    tf = Terraform(terraform, root, tmp_path / "work")
    planfile = tmp_path / "work" / "p.tfplan"
    plan = tf.plan(planfile)
    stream = tf.apply(planfile, {c.address: c.kind for c in plan.children})
    checked = stream.outcomes["terraform_data.checked"]
    assert checked.status == "ERROR" and "the output must be large" in (checked.error or "")
    assert stream.outcomes["terraform_data.other"].status == "SUCCESS"


def test_a_stale_terraform_plan_is_refused(terraform: str, tmp_path: Path) -> None:
    root = write_root(tmp_path / "root", 'resource "terraform_data" "a" { input = "one" }\n')
    tf = Terraform(terraform, root, tmp_path / "work")
    old = tmp_path / "work" / "old.tfplan"
    tf.plan(old)
    (root / "main.tf").write_text('resource "terraform_data" "a" { input = "two" }\n')
    fresh = tmp_path / "work" / "fresh.tfplan"
    plan = tf.plan(fresh)
    tf.apply(fresh, {c.address: c.kind for c in plan.children})
    with pytest.raises(StalePlanError, match="stale"):
        tf.apply(old, {"terraform_data.a": "create"})


def test_an_unknown_plan_format_is_refused() -> None:
    with pytest.raises(ProviderError, match="format_version 2.0"):
        parse_plan({"format_version": "2.0", "resource_changes": []}, source="root net")
