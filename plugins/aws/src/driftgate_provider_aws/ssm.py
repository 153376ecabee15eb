"""``aws.ssm_parameter``: a String, StringList or SecureString; a SecureString's value is a
``secret://`` reference, never read back: the provider only tells whether the live value is still
the secret (it decrypts and compares; the value never leaves the plugin)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from driftgate.errors import ProviderError
from driftgate.providers.base import Observed
from driftgate.spec.schema import AttributeSchema, KindSchema
from driftgate_provider_aws.session import Clients, code_of, errors

PARAMETER = "aws.ssm_parameter"
TYPES = ("String", "StringList", "SecureString")
CHANGED_ELSEWHERE = "(changed outside driftgate)"
KIND = KindSchema(
    type=PARAMETER,
    description="An SSM parameter.",
    attributes={
        "name": AttributeSchema(required=True, force_new=True),
        "type": AttributeSchema(default="String", force_new=True, description=" | ".join(TYPES)),
        "value": AttributeSchema(
            required=True, sensitive=True, description="A secret:// reference for SecureString."
        ),
        "description": AttributeSchema(default=""),
        "tags": AttributeSchema(type="map", default={}),
    },
    outputs=("arn", "version"),
)


def read(aws: Clients, attributes: Mapping[str, Any]) -> Observed | None:
    ssm, name = aws.get("ssm"), str(attributes["name"])
    with errors(f"reading parameter {name!r}"):
        try:
            found = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
        except ClientError as exc:
            if code_of(exc) == "ParameterNotFound":
                return None
            raise
        described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])[
            "Parameters"
        ]
        tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name).get("TagList", [])
    value = found["Value"]
    if found["Type"] == "SecureString":  # never returned: only whether it is still the recorded secret
        value = attributes.get("value") if value == attributes.get("value") else CHANGED_ELSEWHERE
    live = {
        "name": name,
        "type": found["Type"],
        "value": value,
        "description": described[0].get("Description", "") if described else "",
        "tags": {t["Key"]: t["Value"] for t in tags},
    }
    return Observed(live, {"arn": found.get("ARN", ""), "version": int(found.get("Version", 1))})


def put(aws: Clients, attributes: Mapping[str, Any], current: Observed | None) -> dict[str, Any]:
    ssm, name = aws.get("ssm"), str(attributes["name"])
    kind = str(attributes.get("type", "String"))
    if kind not in TYPES:
        raise ProviderError(f"parameter {name!r}: type must be one of {', '.join(TYPES)}")
    with errors(f"writing parameter {name!r}"):
        ssm.put_parameter(
            Name=name,
            Value=str(attributes["value"]),
            Type=kind,
            Description=str(attributes.get("description") or ""),
            Overwrite=current is not None,
        )
        want = {k: str(v) for k, v in (attributes.get("tags") or {}).items()}
        have = current.attributes["tags"] if current is not None else {}
        gone = [k for k in have if k not in want]
        if gone:
            ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=name, TagKeys=gone)
        if want and want != have:
            tags = [{"Key": k, "Value": v} for k, v in sorted(want.items())]
            ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name, Tags=tags)
    found = read(aws, attributes)
    return dict(found.outputs) if found is not None else {}


def delete(aws: Clients, attributes: Mapping[str, Any]) -> None:
    name = str(attributes["name"])
    with errors(f"deleting parameter {name!r}"):
        try:
            aws.get("ssm").delete_parameter(Name=name)
        except ClientError as exc:
            if code_of(exc) != "ParameterNotFound":
                raise


def names(aws: Clients) -> set[str]:
    ssm, path = aws.get("ssm"), aws.config.parameter_path
    found: set[str] = set()
    with errors(f"listing parameters under {path!r}"):
        for page in ssm.get_paginator("describe_parameters").paginate():
            found |= {p["Name"] for p in page.get("Parameters", []) if p["Name"].startswith(path)}
    return found
