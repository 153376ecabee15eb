"""``/openapi.json`` types every route: a client (the dashboard to come) gets a schema for each answer."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from driftgate.api.app import create_app
from driftgate.services.workspace import Workspace

NOT_JSON = {("get", "/metrics"), ("delete", "/api/v1/config-repos/{repo_id}")}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = spec["components"]["schemas"][name]
    return schema


def _success(operation: dict[str, Any]) -> dict[str, Any]:
    codes = sorted(code for code in operation["responses"] if code.startswith("2"))
    return dict(operation["responses"][codes[0]])


def test_every_json_answer_has_a_closed_object_schema(ws: Workspace) -> None:
    spec = TestClient(create_app(ws)).get("/openapi.json").json()
    checked = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if (method, path) in NOT_JSON:
                continue
            schema = _resolve(spec, _success(operation)["content"]["application/json"]["schema"])
            assert schema.get("type") == "object", (method, path, schema)
            assert schema["properties"], (method, path)
            assert schema.get("additionalProperties") is False, (method, path)
            checked += 1
    assert checked == 18


def test_nested_documents_are_typed_too(ws: Workspace) -> None:
    spec = TestClient(create_app(ws)).get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    apply = schemas["ApplyOut"]["properties"]
    assert _resolve(spec, apply["result"])["properties"]["actions"]["items"] == {
        "$ref": "#/components/schemas/Outcome"
    }
    assert schemas["PlannedAction"]["properties"]["action"]["enum"] == [
        "create",
        "update",
        "replace",
        "delete",
        "noop",
    ]
    assert schemas["Proposal"]["properties"]["status"]["enum"] == ["pending", "pr_opened", "rejected"]
    assert "from" in schemas["Edit"]["properties"]
    partial = spec["paths"]["/api/v1/stacks/apply"]["post"]["responses"]["207"]
    assert partial["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ApplyOut"}


def test_the_webhook_route_takes_exactly_the_forge_kinds_the_seam_registers(ws: Workspace) -> None:
    from driftgate.forge import KINDS

    client = TestClient(create_app(ws))
    spec = client.get("/openapi.json").json()
    (forge,) = spec["paths"]["/api/v1/webhooks/{forge}"]["post"]["parameters"][:1]
    assert forge["name"] == "forge" and forge["schema"]["pattern"] == "^(" + "|".join(sorted(KINDS)) + ")$"
    assert client.post("/api/v1/webhooks/nope", content=b"{}").status_code == 422
