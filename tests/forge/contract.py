"""Validate bodies against GitHub's published OpenAPI description of its REST API (OpenAPI 3.0).

The description comes from its package registry at set-up time (``scripts/test-data`` fetches the
npm package ``@octokit/openapi``; ``scripts/test`` exports its path as ``DRIFTGATE_GITHUB_OPENAPI``).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.testdata import fetched

URI = "urn:github:api.github.com"


def contract_path() -> Path:
    """GitHub's OpenAPI description: ``$DRIFTGATE_GITHUB_OPENAPI``, else what scripts/test-data fetched."""
    found = fetched("DRIFTGATE_GITHUB_OPENAPI", "octokit-openapi-*/package/generated/api.github.com.json")
    if found is None:
        raise FileNotFoundError(
            "GitHub's OpenAPI description is not here: run ./scripts/test (scripts/test-data fetches the "
            "npm package @octokit/openapi) or set DRIFTGATE_GITHUB_OPENAPI to its api.github.com.json"
        )
    return found


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
