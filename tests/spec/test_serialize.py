from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from driftgate.spec.model import ModuleSpec, ResourceSpec, StackSpec
from driftgate.spec.serialize import dump_module, dump_stack, load_module, load_stack_spec

names = st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_-]{0,15}\Z")
types = st.sampled_from(["data.value", "file.file", "file.directory", "postgres.database"])
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not math.isnan(f))
    | text
    | st.builds(lambda k: f"secret://env/{k}", st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,10}\Z"))
)
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
resources = st.builds(
    ResourceSpec,
    type=types,
    name=names,
    spec=st.dictionaries(text, values, max_size=5),
    depends_on=st.lists(names.map(lambda n: f"data.value.{n}"), max_size=3),
)
modules = st.builds(
    ModuleSpec,
    apiVersion=st.just("driftgate/v1"),
    kind=st.just("Module"),
    name=names,
    description=text,
    stateful=st.booleans(),
    stateful_mode=st.sampled_from(["backup-required", "noop-only"]),
    backup_max_age_hours=st.none() | st.floats(min_value=0.5, max_value=1000),
    drift=st.sampled_from(["pr", "heal", "ignore"]),
    resources=st.lists(resources, max_size=5),
)


@settings(max_examples=300, deadline=None)
@given(modules)
def test_module_round_trips(module: ModuleSpec) -> None:
    text_out = dump_module(module)
    assert load_module(text_out) == module
    assert dump_module(load_module(text_out)) == text_out  # stable


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(names, st.dictionaries(text, values, max_size=3), max_size=3), st.lists(names, min_size=1)
)
def test_stack_round_trips(providers: dict[str, dict[str, Any]], mods: list[str]) -> None:
    stack = StackSpec(apiVersion="driftgate/v1", kind="Stack", name="s", providers=providers, modules=mods)
    assert load_stack_spec(dump_stack(stack)) == stack


def test_secret_references_are_written_verbatim_and_keys_sorted() -> None:
    module = ModuleSpec(
        apiVersion="driftgate/v1",
        kind="Module",
        name="app",
        resources=[
            ResourceSpec(type="file.file", name="f", spec={"path": "a", "content": "secret://env/TOKEN"})
        ],
    )
    dumped = dump_module(module)
    assert "content: secret://env/TOKEN" in dumped
    assert dumped.index("content:") < dumped.index("path:")
    assert dumped.startswith("apiVersion: driftgate/v1\nkind: Module\nname: app\n")
