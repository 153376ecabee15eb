"""The ``data`` provider: ``data.value``, like Terraform's ``terraform_data``.

It stores its ``input`` and exposes it as the ``output`` output; a change of
``triggers_replace`` replaces it. It has no world of its own: its live state is
what driftgate recorded, so reading it returns the recorded values.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from driftgate.providers.base import CAP_BACKUP, CAP_READ, BaseProvider, Observed
from driftgate.spec.schema import AttributeSchema, KindSchema

VALUE = "data.value"


class DataProvider(BaseProvider):
    name = "data"
    capabilities = frozenset({CAP_READ, CAP_BACKUP})
    inline = True
    KINDS = (
        KindSchema(
            type=VALUE,
            description="Stores a value and exposes it as an output.",
            attributes={
                "input": AttributeSchema(type="any"),
                "triggers_replace": AttributeSchema(type="any", force_new=True),
            },
            outputs=("output", "id"),
            virtual=True,
        ),
    )

    def read(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> Observed | None:
        return Observed(dict(attributes), dict(outputs))

    def create(self, type_: str, name: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        return {"output": attributes.get("input"), "id": str(uuid.uuid4())}

    def update(
        self, type_: str, name: str, attributes: Mapping[str, Any], prior_outputs: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {
            "output": attributes.get("input"),
            "id": prior_outputs.get("id") or str(uuid.uuid4()),
        }

    def delete(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
        return None

    def import_resource(self, type_: str, resource_id: str) -> Observed | None:
        return None

    def backup_resource(
        self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> dict[str, bytes] | None:
        return {"value.json": json.dumps({"attributes": dict(attributes), "outputs": dict(outputs)}).encode()}

    def restore_resource(
        self, type_: str, attributes: Mapping[str, Any], files: Mapping[str, bytes]
    ) -> Observed:
        saved = json.loads(files["value.json"])
        return Observed(saved["attributes"], saved["outputs"])
