"""Golden tests: edits change exactly the value, and nothing else of the file."""

from __future__ import annotations

import pytest

from driftgate.proposals.edits import (
    FILE_INVALID,
    PATH_INVALID,
    PATH_NOT_FOUND,
    VALUE_DRIFT,
    Edit,
    EditError,
    apply_edits,
)

YAML_BEFORE = """\
# service settings, owned by the platform team
service:
  name: api   # do not rename
  replicas: 3
  limits: {cpu: "500m", memory: 512Mi}
  zones:
    - eu-west-1a
    - eu-west-1b
"""
YAML_AFTER = """\
# service settings, owned by the platform team
service:
  name: api   # do not rename
  replicas: 5
  limits: {cpu: "750m", memory: 512Mi}
  zones:
    - eu-west-1a
    - eu-west-1c
"""

JSON_BEFORE = """{
    "zeta": 1,
    "alpha": {
        "threshold": 0.25,
        "enabled": true
    },
    "ünïcode": "ok"
}
"""
JSON_AFTER = """{
    "zeta": 1,
    "alpha": {
        "threshold": 0.3,
        "enabled": false
    },
    "ünïcode": "ok"
}
"""

TOML_BEFORE = """\
# tuning knobs
[cache]
ttl_seconds = 300 # five minutes
size = "1GiB"

[cache.eviction]
policy = "lru"
"""
TOML_AFTER = """\
# tuning knobs
[cache]
ttl_seconds = 600 # five minutes
size = "1GiB"

[cache.eviction]
policy = "lfu"
"""


def test_yaml_keeps_comments_order_and_style() -> None:
    edits = [
        Edit("svc.yaml", "yaml", "/service/replicas", 3, 5),
        Edit("svc.yaml", "yaml", "/service/limits/cpu", "500m", "750m"),
        Edit("svc.yaml", "yaml", "/service/zones/1", "eu-west-1b", "eu-west-1c"),
    ]
    assert apply_edits({"svc.yaml": YAML_BEFORE.encode()}, edits)["svc.yaml"].decode() == YAML_AFTER


def test_json_keeps_indentation_and_key_order() -> None:
    edits = [
        Edit("a.json", "json", "/alpha/threshold", 0.25, 0.3),
        Edit("a.json", "json", "/alpha/enabled", True, False),
    ]
    assert apply_edits({"a.json": JSON_BEFORE.encode()}, edits)["a.json"].decode() == JSON_AFTER


def test_toml_keeps_comments() -> None:
    edits = [
        Edit("c.toml", "toml", "/cache/ttl_seconds", 300, 600),
        Edit("c.toml", "toml", "/cache/eviction/policy", "lru", "lfu"),
    ]
    assert apply_edits({"c.toml": TOML_BEFORE.encode()}, edits)["c.toml"].decode() == TOML_AFTER


def test_pointer_escapes() -> None:
    doc = b'{"a/b": {"m~n": 1}}'
    out = apply_edits({"x.json": doc}, [Edit("x.json", "json", "/a~1b/m~0n", 1, 2)])
    assert out["x.json"] == b'{"a/b": {"m~n": 2}}'


@pytest.mark.parametrize(
    ("files", "edit", "code", "fragment"),
    [
        (
            {"a.json": JSON_BEFORE.encode()},
            Edit("a.json", "json", "/alpha/threshold", 0.5, 0.3),
            VALUE_DRIFT,
            "expected 0.5, found 0.25",
        ),
        (
            {"a.json": JSON_BEFORE.encode()},
            Edit("a.json", "json", "/alpha/enabled", 1, 0),
            VALUE_DRIFT,
            "expected 1, found true",
        ),
        (
            {"a.json": JSON_BEFORE.encode()},
            Edit("a.json", "json", "/alpha/missing", 1, 2),
            PATH_NOT_FOUND,
            "does not exist",
        ),
        (
            {"s.yaml": YAML_BEFORE.encode()},
            Edit("s.yaml", "yaml", "/service/zones/7", "x", "y"),
            PATH_NOT_FOUND,
            "does not exist",
        ),
        (
            {"s.yaml": YAML_BEFORE.encode()},
            Edit("s.yaml", "yaml", "service/replicas", 3, 4),
            PATH_NOT_FOUND,
            "must start with '/'",
        ),
        ({}, Edit("nope.json", "json", "/a", 1, 2), FILE_INVALID, "no such file"),
        ({"dir": None}, Edit("dir", "json", "/a", 1, 2), FILE_INVALID, "not a regular file"),
        ({"bad.json": b"{not json"}, Edit("bad.json", "json", "/a", 1, 2), FILE_INVALID, "not valid json"),
        ({"bad.yaml": b"a: [unclosed"}, Edit("bad.yaml", "yaml", "/a", 1, 2), FILE_INVALID, "not valid yaml"),
        ({"bad.toml": b"a = = 1"}, Edit("bad.toml", "toml", "/a", 1, 2), FILE_INVALID, "not valid toml"),
        ({"bin.json": b"\xff\xfe"}, Edit("bin.json", "json", "/a", 1, 2), FILE_INVALID, "not UTF-8"),
        ({"s.json": b'"just a string"'}, Edit("s.json", "json", "/a", 1, 2), FILE_INVALID, "not a mapping"),
        ({}, Edit("../etc/passwd", "json", "/a", 1, 2), PATH_INVALID, "must not contain '..'"),
        ({}, Edit("/etc/passwd", "json", "/a", 1, 2), PATH_INVALID, "must be relative"),
        ({}, Edit("a;rm -rf.json", "json", "/a", 1, 2), PATH_INVALID, "forbidden character"),
    ],
)
def test_errors(files: dict[str, bytes | None], edit: Edit, code: str, fragment: str) -> None:
    with pytest.raises(EditError) as info:
        apply_edits(files, [edit])
    assert info.value.code == code
    assert fragment in str(info.value)


def test_one_failing_edit_fails_the_whole_proposal() -> None:
    files = {"a.json": JSON_BEFORE.encode(), "c.toml": TOML_BEFORE.encode()}
    with pytest.raises(EditError, match="VALUE_DRIFT|expected"):
        apply_edits(
            files,
            [Edit("c.toml", "toml", "/cache/ttl_seconds", 300, 600), Edit("a.json", "json", "/zeta", 2, 3)],
        )


def test_yaml_flush_list_style_is_kept_too() -> None:
    before = "app:\n    image: web:1.2\n    ports:\n    - 80\n    - 443\n"
    after = apply_edits(
        {"a.yaml": before.encode()}, [Edit("a.yaml", "yaml", "/app/image", "web:1.2", "web:1.3")]
    )
    assert after["a.yaml"].decode() == before.replace("web:1.2", "web:1.3")
