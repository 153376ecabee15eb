from __future__ import annotations

import time
from pathlib import Path

import pytest

from driftgate.spec.yamlsafe import ParseCache, YamlError, load_yaml, load_yaml_cached

BILLION_LAUGHS = """
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_loads_plain_yaml_and_finds_lines() -> None:
    loaded = load_yaml("a: 1\nb:\n  - x\n  - y: 2\n", max_bytes=1000)
    assert loaded.data == {"a": 1, "b": ["x", {"y": 2}]}
    assert loaded.line_of(("b", 1, "y")) == 4
    assert loaded.line_of(("a",)) == 1


def test_alias_bomb_is_rejected_quickly() -> None:
    started = time.perf_counter()
    with pytest.raises(YamlError, match="alias"):
        load_yaml(BILLION_LAUGHS, max_bytes=10_000)
    assert time.perf_counter() - started < 2.0


def test_modest_anchors_are_allowed() -> None:
    loaded = load_yaml("base: &b {x: 1}\nother: *b\n", max_bytes=1000)
    assert loaded.data == {"base": {"x": 1}, "other": {"x": 1}}


@pytest.mark.parametrize(
    "document",
    [
        "!!python/object/apply:os.system ['echo pwned']",
        "x: !!python/name:os.system\n",
        "x: !custom 1\n",
    ],
)
def test_arbitrary_tags_are_rejected(document: str) -> None:
    with pytest.raises(YamlError) as info:
        load_yaml(document, max_bytes=1000)
    assert info.value.line >= 1


def test_size_limit() -> None:
    with pytest.raises(YamlError, match="larger than the limit"):
        load_yaml("x: " + "a" * 2000, max_bytes=1024)


def test_syntax_error_has_a_line() -> None:
    with pytest.raises(YamlError) as info:
        load_yaml("a: 1\nb: [unclosed\nc: 3\n", max_bytes=1000)
    assert info.value.line >= 2


def test_only_json_shaped_data_is_produced() -> None:
    loaded = load_yaml("when: 2024-01-02\nat: 2024-01-02T03:04:05Z\n", max_bytes=1000)
    assert loaded.data == {"when": "2024-01-02", "at": "2024-01-02T03:04:05Z"}
    for tagged in ("x: !!binary aGVsbG8=\n", "x: !!set {a, b}\n", "x: !!timestamp 2024-01-02\n"):
        with pytest.raises(YamlError, match="not allowed"):
            load_yaml(tagged, max_bytes=1000)


def test_parse_cache_serves_unchanged_documents(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path)
    text = "a: 1\nb: [x, y]\n"
    first = load_yaml_cached(text, max_bytes=1000, cache=cache)
    assert first.root is not None and list(tmp_path.iterdir())
    second = load_yaml_cached(text, max_bytes=1000, cache=cache)
    assert second.data == {"a": 1, "b": ["x", "y"]} and second.root is None
    assert second.line_of(("b", 1)) == 2  # lines still available: parsed on demand
    (next(tmp_path.iterdir())).write_bytes(b"corrupt")
    assert load_yaml_cached(text, max_bytes=1000, cache=cache).data == first.data
