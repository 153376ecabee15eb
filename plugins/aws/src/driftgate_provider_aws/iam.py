"""``aws.iam_role`` and ``aws.iam_policy``: policy documents compared normalized; a policy's
document change makes a new default version and prunes the oldest beyond four."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from driftgate.providers.base import Observed
from driftgate.spec.schema import AttributeSchema, KindSchema
from driftgate_provider_aws.s3 import normal_policy
from driftgate_provider_aws.session import Clients, code_of, errors

ROLE = "aws.iam_role"
POLICY = "aws.iam_policy"
ROLE_KIND = KindSchema(
    type=ROLE,
    description="An IAM role.",
    attributes={
        "name": AttributeSchema(required=True, force_new=True),
        "path": AttributeSchema(default="/", force_new=True),
        "assume_role_policy": AttributeSchema(type="any", required=True, description="A JSON document."),
        "managed_policy_arns": AttributeSchema(type="list", default=[]),
        "max_session_duration": AttributeSchema(type="integer", default=3600),
        "tags": AttributeSchema(type="map", default={}),
    },
    outputs=("arn",),
)
POLICY_KIND = KindSchema(
    type=POLICY,
    description="A customer-managed IAM policy.",
    attributes={
        "name": AttributeSchema(required=True, force_new=True),
        "path": AttributeSchema(default="/", force_new=True),
        "document": AttributeSchema(type="any", required=True, description="A JSON document."),
        "tags": AttributeSchema(type="map", default={}),
    },
    outputs=("arn",),
)
KEEP_VERSIONS = 4


def _document(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(unquote(value))
    return value


def read_role(aws: Clients, attributes: Mapping[str, Any]) -> Observed | None:
    iam, name = aws.get("iam"), str(attributes["name"])
    with errors(f"reading role {name!r}"):
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except ClientError as exc:
            if code_of(exc) == "NoSuchEntity":
                return None
            raise
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        tags = iam.list_role_tags(RoleName=name).get("Tags", [])
    live = {
        "name": name,
        "path": role.get("Path", "/"),
        "assume_role_policy": _document(role["AssumeRolePolicyDocument"]),
        "managed_policy_arns": sorted(p["PolicyArn"] for p in attached),
        "max_session_duration": int(role.get("MaxSessionDuration", 3600)),
        "tags": {t["Key"]: t["Value"] for t in tags},
    }
    return Observed(live, {"arn": role["Arn"]})


def put_role(aws: Clients, attributes: Mapping[str, Any], current: Observed | None) -> dict[str, Any]:
    iam, name = aws.get("iam"), str(attributes["name"])
    trust = normal_policy(attributes["assume_role_policy"]) or "{}"
    duration = int(attributes.get("max_session_duration", 3600))
    want_tags = {k: str(v) for k, v in (attributes.get("tags") or {}).items()}
    with errors(f"writing role {name!r}"):
        if current is None:
            tags = [{"Key": k, "Value": v} for k, v in sorted(want_tags.items())]
            iam.create_role(
                RoleName=name,
                Path=str(attributes.get("path") or "/"),
                AssumeRolePolicyDocument=trust,
                MaxSessionDuration=duration,
                Tags=tags,
            )
            have_arns: set[str] = set()
        else:
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
            iam.update_role(RoleName=name, MaxSessionDuration=duration)
            have = current.attributes["tags"]
            gone = [k for k in have if k not in want_tags]
            if gone:
                iam.untag_role(RoleName=name, TagKeys=gone)
            if want_tags and want_tags != have:
                iam.tag_role(
                    RoleName=name, Tags=[{"Key": k, "Value": v} for k, v in sorted(want_tags.items())]
                )
            have_arns = set(current.attributes["managed_policy_arns"])
        want_arns = {str(a) for a in attributes.get("managed_policy_arns") or []}
        for arn in sorted(want_arns - have_arns):
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        for arn in sorted(have_arns - want_arns):
            iam.detach_role_policy(RoleName=name, PolicyArn=arn)
        return {"arn": iam.get_role(RoleName=name)["Role"]["Arn"]}


def delete_role(aws: Clients, attributes: Mapping[str, Any]) -> None:
    iam, name = aws.get("iam"), str(attributes["name"])
    with errors(f"deleting role {name!r}"):
        try:
            for policy in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
                iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
            iam.delete_role(RoleName=name)
        except ClientError as exc:
            if code_of(exc) != "NoSuchEntity":
                raise


def role_names(aws: Clients) -> set[str]:
    """The roles under the provider's ``iam_path_prefix``."""
    prefix = aws.config.iam_path_prefix
    with errors("listing roles"):
        return {
            r["RoleName"]
            for page in aws.get("iam").get_paginator("list_roles").paginate(PathPrefix=prefix)
            for r in page["Roles"]
        }


def _local_policies(aws: Clients, prefix: str = "/") -> Iterator[Mapping[str, Any]]:
    for page in aws.get("iam").get_paginator("list_policies").paginate(Scope="Local", PathPrefix=prefix):
        yield from page["Policies"]


def _policy_arn(aws: Clients, name: str) -> str | None:
    return next((str(p["Arn"]) for p in _local_policies(aws) if p["PolicyName"] == name), None)


def read_policy(aws: Clients, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> Observed | None:
    iam, name = aws.get("iam"), str(attributes["name"])
    with errors(f"reading policy {name!r}"):
        arn = outputs.get("arn") or _policy_arn(aws, name)
        if not arn:
            return None
        try:
            policy = iam.get_policy(PolicyArn=arn)["Policy"]
        except ClientError as exc:
            if code_of(exc) == "NoSuchEntity":
                return None
            raise
        version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
        tags = iam.list_policy_tags(PolicyArn=arn).get("Tags", [])
    live = {
        "name": name,
        "path": policy.get("Path", "/"),
        "document": _document(version["Document"]),
        "tags": {t["Key"]: t["Value"] for t in tags},
    }
    return Observed(live, {"arn": arn})


def put_policy(aws: Clients, attributes: Mapping[str, Any], current: Observed | None) -> dict[str, Any]:
    iam, name = aws.get("iam"), str(attributes["name"])
    document = normal_policy(attributes["document"]) or "{}"
    want_tags = {k: str(v) for k, v in (attributes.get("tags") or {}).items()}
    with errors(f"writing policy {name!r}"):
        if current is None:
            tags = [{"Key": k, "Value": v} for k, v in sorted(want_tags.items())]
            path = str(attributes.get("path") or "/")
            made = iam.create_policy(PolicyName=name, Path=path, PolicyDocument=document, Tags=tags)
            return {"arn": made["Policy"]["Arn"]}
        arn = current.outputs["arn"]
        if normal_policy(current.attributes["document"]) != document:
            versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
            old = sorted((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
            for version in old[: max(0, len(versions) - KEEP_VERSIONS)]:  # room for the new one
                iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
            iam.create_policy_version(PolicyArn=arn, PolicyDocument=document, SetAsDefault=True)
        have = current.attributes["tags"]
        gone = [k for k in have if k not in want_tags]
        if gone:
            iam.untag_policy(PolicyArn=arn, TagKeys=gone)
        if want_tags and want_tags != have:
            iam.tag_policy(PolicyArn=arn, Tags=[{"Key": k, "Value": v} for k, v in sorted(want_tags.items())])
        return {"arn": arn}


def delete_policy(aws: Clients, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
    iam, name = aws.get("iam"), str(attributes["name"])
    with errors(f"deleting policy {name!r}"):
        arn = outputs.get("arn") or _policy_arn(aws, name)
        if not arn:
            return
        for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
            if not version["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
        iam.delete_policy(PolicyArn=arn)


def policy_names(aws: Clients) -> set[str]:
    """The customer-managed policies under the provider's ``iam_path_prefix``."""
    with errors("listing policies"):
        return {p["PolicyName"] for p in _local_policies(aws, aws.config.iam_path_prefix)}
