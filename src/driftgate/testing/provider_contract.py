"""The contract every provider must pass, exercised the same way for each.

Call ``check_provider_contract`` from a test with a configured provider and
one ``ContractCase`` per kind. It creates, reads, diffs, updates, imports and
deletes a real resource and asserts what the planner and executor rely on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from driftgate.providers.base import CAP_IMPORT, CAP_READ, Provider
from driftgate.spec.schema import KindSchema


@dataclass(frozen=True)
class ContractCase:
    type: str
    name: str
    attributes: dict[str, Any]
    changed: dict[str, Any] = field(default_factory=dict)
    import_id: str | None = None
    live_world: bool = True  # False: the provider's live state is what driftgate recorded


def _check_schema(provider: Provider) -> Mapping[str, KindSchema]:
    kinds = provider.kinds()
    assert kinds, f"{provider.name}: declares no kinds"
    for type_, schema in kinds.items():
        assert type_ == schema.type, f"{type_}: key and schema type differ"
        assert type_.startswith(provider.name + "."), f"{type_}: not in provider {provider.name!r}"
        for attr_name in schema.outputs:
            assert isinstance(attr_name, str) and attr_name
    assert CAP_READ in provider.capabilities, f"{provider.name}: every provider must be able to read"
    return kinds


def check_provider_contract(provider: Provider, case: ContractCase) -> None:
    kinds = _check_schema(provider)
    schema = kinds[case.type]
    attrs = schema.with_defaults(case.attributes)
    outputs = provider.create(case.type, case.name, attrs)
    assert set(outputs) <= set(schema.outputs), (
        f"{case.type}: undeclared outputs {set(outputs) - set(schema.outputs)}"
    )
    observed = provider.read(case.type, attrs, outputs)
    assert observed is not None, f"{case.type}: read after create found nothing"
    assert provider.diff(case.type, observed.attributes, attrs) == [], f"{case.type}: diff after create"

    if case.changed:
        new_attrs = {**attrs, **case.changed}
        changed = provider.diff(case.type, observed.attributes, new_attrs)
        assert set(changed) == set(case.changed), f"{case.type}: diff {changed} != {sorted(case.changed)}"
        outputs = provider.update(case.type, case.name, new_attrs, outputs)
        observed = provider.read(case.type, new_attrs, outputs)
        assert observed is not None and provider.diff(case.type, observed.attributes, new_attrs) == []
        attrs = new_attrs

    if case.import_id is not None and CAP_IMPORT in provider.capabilities:
        imported = provider.import_resource(case.type, case.import_id)
        assert imported is not None, f"{case.type}: import by id found nothing"
        assert provider.diff(case.type, imported.attributes, attrs) == []

    provider.delete(case.type, attrs, outputs)
    if case.live_world:
        assert provider.read(case.type, attrs, outputs) is None, f"{case.type}: still there after delete"
        provider.delete(case.type, attrs, outputs)  # deleting what is gone is not an error
