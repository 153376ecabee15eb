"""Validate bodies against ``shared/contracts/github/rest-subset.json`` (OpenAPI 3.0, nullable-aware)."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

URI = "urn:github:rest-subset"


def contract_path() -> Path:
    """The published contract: ``$DRIFTGATE_CONTRACTS/github/...``, else ``shared/`` beside the checkout."""
    root = (
        os.environ.get("DRIFTGATE_CONTRACTS") or Path(__file__).resolve().parents[3] / "shared" / "contracts"
    )
    path = Path(root) / "github" / "rest-subset.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"GitHub's REST contract is not at {path}: keep shared/ beside the checkout "
            "(as CI does) or set DRIFTGATE_CONTRACTS to its contracts/ directory"
        )
    return path


@cache
def document() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(contract_path().read_text())
    return data


@cache
def _registry() -> Registry:  # type: ignore[type-arg]
    return Registry().with_resource(URI, Resource.from_contents(document(), default_specification=DRAFT4))


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def response_schema_ref(path: str, method: str, status: int) -> str:
    op = document()["paths"][path][method.lower()]
    response = op["responses"][str(status)]
    if "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[1]
        return f"{URI}#/components/responses/{_pointer(name)}/content/application~1json/schema"
    return (
        f"{URI}#/paths/{_pointer(path)}/{method.lower()}/responses/{status}/content/application~1json/schema"
    )


def validate_response(path: str, method: str, status: int, body: Any) -> None:
    """Raise jsonschema.ValidationError unless ``body`` fits the contract's response schema."""
    OAS30Validator({"$ref": response_schema_ref(path, method, status)}, registry=_registry()).validate(body)


def has_json_body(path: str, method: str, status: int) -> bool:
    op = document()["paths"][path][method.lower()]
    response = op["responses"].get(str(status))
    if response is None:
        return False
    if "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[1]
        response = document()["components"]["responses"][name]
    return "application/json" in response.get("content", {})


def validate_request(path: str, method: str, body: Any) -> None:
    op = document()["paths"][path][method.lower()]
    ref = f"{URI}#/paths/{_pointer(path)}/{method.lower()}/requestBody/content/application~1json/schema"
    assert "requestBody" in op
    OAS30Validator({"$ref": ref}, registry=_registry()).validate(body)
