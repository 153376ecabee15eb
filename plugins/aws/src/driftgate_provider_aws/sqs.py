"""``aws.sqs_queue``: timeouts, retention, delay, a redrive policy, tags; outputs ``url``, ``arn``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from driftgate.errors import ProviderError
from driftgate.providers.base import Observed
from driftgate.spec.schema import AttributeSchema, KindSchema
from driftgate_provider_aws.session import Clients, code_of, errors

QUEUE = "aws.sqs_queue"
KIND = KindSchema(
    type=QUEUE,
    description="An SQS queue (a name ending in .fifo makes a FIFO queue).",
    attributes={
        "name": AttributeSchema(required=True, force_new=True),
        "visibility_timeout": AttributeSchema(type="integer", default=30),
        "message_retention_seconds": AttributeSchema(type="integer", default=345600),
        "delay_seconds": AttributeSchema(type="integer", default=0),
        "redrive_policy": AttributeSchema(
            type="map", description="{dead_letter_target_arn, max_receive_count}"
        ),
        "tags": AttributeSchema(type="map", default={}),
    },
    outputs=("url", "arn"),
)
NUMBERS = {
    "visibility_timeout": "VisibilityTimeout",
    "message_retention_seconds": "MessageRetentionPeriod",
    "delay_seconds": "DelaySeconds",
}
GONE = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})


def _redrive(value: Any) -> str | None:
    if not value:
        return None
    return json.dumps(
        {
            "deadLetterTargetArn": value["dead_letter_target_arn"],
            "maxReceiveCount": int(value["max_receive_count"]),
        },
        separators=(",", ":"),
    )


def _check_name(name: str) -> None:
    if not name or len(name) > 80:
        raise ProviderError(f"queue {name!r}: a name has 1 to 80 characters")


def read(aws: Clients, attributes: Mapping[str, Any]) -> Observed | None:
    sqs, name = aws.get("sqs"), str(attributes["name"])
    with errors(f"reading queue {name!r}"):
        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError as exc:
            if code_of(exc) in GONE:
                return None
            raise
        found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
    live: dict[str, Any] = {"name": name, "tags": tags}
    for ours, theirs in NUMBERS.items():
        live[ours] = int(found.get(theirs, KIND.attributes[ours].default))
    redrive = json.loads(found["RedrivePolicy"]) if found.get("RedrivePolicy") else None
    live["redrive_policy"] = (
        {
            "dead_letter_target_arn": redrive["deadLetterTargetArn"],
            "max_receive_count": int(redrive["maxReceiveCount"]),
        }
        if redrive
        else None
    )
    return Observed(live, {"url": url, "arn": found.get("QueueArn", "")})


def _attributes(attributes: Mapping[str, Any]) -> dict[str, str]:
    found = {
        theirs: str(int(attributes.get(ours, KIND.attributes[ours].default)))
        for ours, theirs in NUMBERS.items()
    }
    found["RedrivePolicy"] = _redrive(attributes.get("redrive_policy")) or ""
    return found


def create(aws: Clients, attributes: Mapping[str, Any]) -> dict[str, Any]:
    sqs, name = aws.get("sqs"), str(attributes["name"])
    _check_name(name)
    queue_attributes = {k: v for k, v in _attributes(attributes).items() if v}
    if name.endswith(".fifo"):
        queue_attributes["FifoQueue"] = "true"
    options: dict[str, Any] = {"QueueName": name, "Attributes": queue_attributes}
    if attributes.get("tags"):
        options["tags"] = {k: str(v) for k, v in attributes["tags"].items()}
    with errors(f"creating queue {name!r}"):
        url = sqs.create_queue(**options)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"url": url, "arn": arn}


def update(aws: Clients, attributes: Mapping[str, Any], current: Observed) -> dict[str, Any]:
    sqs, name = aws.get("sqs"), str(attributes["name"])
    url = current.outputs["url"]
    with errors(f"changing queue {name!r}"):
        sqs.set_queue_attributes(QueueUrl=url, Attributes=_attributes(attributes))
        want = {k: str(v) for k, v in (attributes.get("tags") or {}).items()}
        have = current.attributes["tags"]
        gone = [k for k in have if k not in want]
        if gone:
            sqs.untag_queue(QueueUrl=url, TagKeys=gone)
        if want and want != have:
            sqs.tag_queue(QueueUrl=url, Tags=want)
    return dict(current.outputs)


def delete(aws: Clients, attributes: Mapping[str, Any]) -> None:
    current = read(aws, attributes)
    if current is None:
        return
    with errors(f"deleting queue {attributes['name']!r}"):
        aws.get("sqs").delete_queue(QueueUrl=current.outputs["url"])


def names(aws: Clients) -> set[str]:
    with errors("listing queues"):
        urls = aws.get("sqs").list_queues().get("QueueUrls", [])
    return {url.rsplit("/", 1)[1] for url in urls}
