from __future__ import annotations

import time
from pathlib import Path

import pytest

from driftgate.spec.yamlsafe import ParseCache, YamlError, YamlLimits, load_yaml, load_yaml_cached

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
    first = load_yaml_cached(text, limits=YamlLimits(max_bytes=1000), cache=cache)
    assert first.root is not None and list(tmp_path.iterdir())
    second = load_yaml_cached(text, limits=YamlLimits(max_bytes=1000), cache=cache)
    assert second.data == {"a": 1, "b": ["x", "y"]} and second.root is None
    assert second.line_of(("b", 1)) == 2  # lines still available: parsed on demand
    (next(tmp_path.iterdir())).write_bytes(b"corrupt")
    assert load_yaml_cached(text, limits=YamlLimits(max_bytes=1000), cache=cache).data == first.data


# -- bounded inputs (issue 8: defects 13 to 17) ---------------------------------


def test_alias_bomb_by_bytes_is_rejected_naming_the_setting() -> None:
    """One 100 KB scalar behind 1,000 aliases is few nodes but 100 MB of text."""
    big = "x" * 100_000
    document = f"a: &a {big}\nb: [{', '.join(['*a'] * 1000)}]\n"
    with pytest.raises(YamlError, match="DRIFTGATE_MAX_SPEC_EXPANDED_BYTES") as info:
        load_yaml(document, max_bytes=1 << 20)
    assert info.value.line == 2


def test_modest_aliases_of_large_scalars_pass_under_the_byte_limit() -> None:
    document = f"a: &a {'x' * 1000}\nb: [{', '.join(['*a'] * 10)}]\n"
    assert len(load_yaml(document, max_bytes=1 << 20).data["b"]) == 10


def test_deep_nesting_is_refused_with_a_line() -> None:
    deep = "".join("  " * i + "k:\n" for i in range(80)) + "  " * 80 + "v\n"
    with pytest.raises(YamlError, match="nested more than 64 levels") as info:
        load_yaml(deep, max_bytes=1 << 20)
    assert info.value.line > 60
    flow = "x: " + "[" * 600 + "]" * 600
    with pytest.raises(YamlError, match="nested more than 64 levels"):
        load_yaml(flow, max_bytes=1 << 20)
    assert load_yaml("x: " + "[" * 60 + "]" * 60, max_bytes=1 << 20).data is not None


def test_nesting_limit_is_a_setting() -> None:
    with pytest.raises(YamlError, match="nested more than 8 levels"):
        load_yaml("x: " + "[" * 10 + "]" * 10, max_bytes=1000, limits=YamlLimits(1000, max_depth=8))


def test_duplicate_keys_are_refused_with_the_line() -> None:
    with pytest.raises(YamlError, match="duplicate key 'content'") as info:
        load_yaml("path: a.txt\ncontent: reviewed\nmode: '0644'\ncontent: applied\n", max_bytes=1000)
    assert info.value.line == 4
    nested = "resources:\n  - name: a\n    spec: {x: 1, x: 2}\n"
    with pytest.raises(YamlError, match="duplicate key 'x'"):
        load_yaml(nested, max_bytes=1000)


def test_merge_keys_are_not_duplicates() -> None:
    loaded = load_yaml("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", max_bytes=1000)
    assert loaded.data["other"] == {"x": 1, "y": 2}


@pytest.mark.parametrize("value", [".nan", ".NaN", ".inf", "-.inf", "+.Inf", "1.0e+999"])
def test_non_finite_numbers_are_refused(value: str) -> None:
    with pytest.raises(YamlError, match="non-finite number") as info:
        load_yaml(f"a: 1\nb: {value}\n", max_bytes=1000)
    assert info.value.line == 2


def test_quoted_nan_is_just_a_string() -> None:
    assert load_yaml("b: '.nan'\nc: 1.5\n", max_bytes=1000).data == {"b": ".nan", "c": 1.5}
