from __future__ import annotations

from pathlib import Path

import pytest

from driftgate.demo.scaffold import scaffold_repo
from driftgate.errors import SpecError
from driftgate.providers.registry import default_registry
from driftgate.spec.loader import load_stack
from driftgate.spec.model import Stack
from driftgate.testing.stacks import write_stack

REGISTRY = default_registry()


def load(directory: Path) -> Stack:
    return load_stack(directory, kinds=REGISTRY.kind, providers=REGISTRY.names)


def problems(directory: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load(directory)
    return [str(p) for p in info.value.problems]


def test_scaffolded_repo_is_valid(tmp_path: Path) -> None:
    scaffold_repo(tmp_path / "repo")
    stack = load(tmp_path / "repo")
    assert stack.name == "demo"
    assert set(stack.resources) == {
        "app/data.value.greeting",
        "app/file.directory.site",
        "app/file.file.index",
        "config/file.file.settings",
    }


BAD_MODULE = """\
apiVersion: driftgate/v1
kind: Module
name: app
resources:
  - type: file.file
    name: zero
    colour: blue
  - type: file.file
    name: one
    spec:
      path: a.txt
      mode: 644
  - type: file.file
    name: one
    spec:
      path: b.txt
  - type: data.value
    name: loop-a
    depends_on: [data.value.loop-b]
  - type: data.value
    name: loop-b
    depends_on: [data.value.loop-a]
  - type: file.file
    name: escape
    spec:
      path: ../../etc/passwd
      content: secret://vault/x
  - type: file.file
    name: dangling
    depends_on: [data.value.nope]
    spec:
      path: d.txt
      content: "${data.value.missing.output} ${bad ref}"
      size: 3
  - type: file.file
    name: noroot
    spec:
      content: hi
"""


def test_every_problem_is_reported_at_once_with_file_and_line(tmp_path: Path) -> None:
    write_stack(tmp_path, modules={})
    (tmp_path / "modules" / "app.yaml").write_text(BAD_MODULE)
    found = problems(tmp_path)
    text = "\n".join(found)
    expected = [
        "modules/app.yaml:7: resources[0].colour: unknown field",
        "modules/app.yaml:14: app/file.file.one: duplicate address",
        "modules/app.yaml:12: app/file.file.one.spec.mode: expected string, got int",
        "modules/app.yaml:26: app/file.file.escape.spec.path: unsafe path '../../etc/passwd': must not contain '..'",
        "modules/app.yaml:27: app/file.file.escape.spec.content: unknown secret backend 'vault'",
        "modules/app.yaml:30: app/file.file.dangling.depends_on: unknown resource app/data.value.nope",
        "modules/app.yaml:33: app/file.file.dangling.spec.content: reference to unknown resource"
        " app/data.value.missing",
        "modules/app.yaml:33: app/file.file.dangling.spec.content: malformed reference ${bad ref}",
        "modules/app.yaml:34: app/file.file.dangling.spec.size: unknown field",
        "modules/app.yaml:38: app/file.file.noroot.spec.path: required field is missing",
        "modules/app.yaml:19: app/data.value.loop-a: dependency cycle: app/data.value.loop-a -> app/data.value.loop-b -> app/data.value.loop-a",
    ]
    for fragment in expected:
        assert fragment in text, f"missing {fragment!r} in:\n{text}"


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    write_stack(tmp_path, modules={})
    (tmp_path / "modules" / "a.yaml").write_text("apiVersion: driftgate/v1\nkind: [oops\n")
    (tmp_path / "modules" / "b.yaml").write_text("apiVersion: driftgate/v2\nkind: Module\nname: b\n")
    found = problems(tmp_path)
    assert any(p.startswith("modules/a.yaml:") and ": yaml: " in p for p in found), found
    assert any(p.startswith("modules/b.yaml:1: apiVersion:") for p in found), found


def test_unknown_provider_and_unconfigured_provider(tmp_path: Path) -> None:
    write_stack(
        tmp_path,
        providers={"data": {}},
        modules={
            "m": [
                {"type": "nope.thing", "name": "x"},
                {"type": "file.file", "name": "y", "spec": {"path": "p"}},
            ]
        },
    )
    text = "\n".join(problems(tmp_path))
    assert "m/nope.thing.x.type: unknown provider 'nope'" in text
    assert "m/file.file.y.type: provider 'file' is not configured in stack.yaml" in text


def test_module_paths_in_stack_are_contained(tmp_path: Path) -> None:
    write_stack(tmp_path, modules={})
    (tmp_path / "stack.yaml").write_text(
        "apiVersion: driftgate/v1\nkind: Stack\nname: s\nproviders: {}\nmodules: [../elsewhere, /etc, missing]\n"
    )
    text = "\n".join(problems(tmp_path))
    assert "stack.yaml:5: modules[0]: unsafe path '../elsewhere'" in text
    assert "modules[1]: unsafe path '/etc': must be relative" in text
    assert "modules[2]: 'missing' does not exist" in text


def test_output_reference_to_unknown_output(tmp_path: Path) -> None:
    write_stack(
        tmp_path,
        modules={
            "m": [
                {"type": "data.value", "name": "a", "spec": {"input": 1}},
                {"type": "data.value", "name": "b", "spec": {"input": "${data.value.a.nothing}"}},
            ]
        },
    )
    assert any("data.value has no output 'nothing'" in p for p in problems(tmp_path))


def test_invalid_stack_file_reports_its_problems(tmp_path: Path) -> None:
    write_stack(tmp_path, modules={})
    (tmp_path / "stack.yaml").write_text("apiVersion: driftgate/v1\nkind: Stack\nname: s\ncolour: red\n")
    assert problems(tmp_path) == ["stack.yaml:4: colour: unknown field"]


def test_heal_on_a_stateful_module_is_a_configuration_error(tmp_path: Path) -> None:
    write_stack(tmp_path, modules={"db": [{"type": "data.value", "name": "v"}]}, stateful=["db"])
    module = tmp_path / "modules" / "db.yaml"
    module.write_text(module.read_text().replace("stateful: true", "stateful: true\ndrift: heal"))
    assert any("drift: heal is not allowed on a stateful module" in p for p in problems(tmp_path))
