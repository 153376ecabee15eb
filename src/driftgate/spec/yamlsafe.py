"""Safe YAML loading on libyaml, with a size limit, alias-bomb defence and line lookup.

PyYAML's C loader composes a node graph, then ``SafeConstructor`` builds plain
data from it. We keep the node graph so that a validation problem found later
can be reported at ``file:line`` without re-parsing, and we measure how large
the document would be once aliases are expanded before anything consumes it.
"""

from __future__ import annotations

import hashlib
import marshal
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from driftgate.security.limits import MAX_DEPTH

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_NOT_JSON = ("binary", "set", "omap", "pairs", "timestamp")


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """The C safe loader, producing only JSON-shaped data: an unquoted date stays a string,
    and tags for bytes, sets, ordered pairs and timestamps are refused."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
        for first, resolvers in _Base.yaml_implicit_resolvers.items()
    }


def _refuse(loader: yaml.SafeLoader, node: yaml.Node) -> None:
    raise yaml.constructor.ConstructorError(
        None, None, f"tag {node.tag} is not allowed (specs hold JSON-shaped data only)", node.start_mark
    )


for _name in _NOT_JSON:
    _Loader.add_constructor(f"tag:yaml.org,2002:{_name}", _refuse)

MAX_EXPANDED_NODES = 5_000_000
MAX_ALIAS_RATIO = 100
DEFAULT_MAX_EXPANDED_BYTES = 32 * 1024 * 1024
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class YamlLimits:
    """The bounds a document must stay within (the settings ``DRIFTGATE_MAX_SPEC_*`` choose them)."""

    max_bytes: int = 16 * 1024 * 1024
    max_depth: int = MAX_DEPTH
    max_expanded_bytes: int = DEFAULT_MAX_EXPANDED_BYTES


class YamlError(ValueError):
    """The document cannot be loaded; ``line`` is 1-based (0 when unknown)."""

    def __init__(self, reason: str, line: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass
class LoadedYaml:
    data: Any
    root: yaml.Node | None
    source: str | bytes | None = None
    max_bytes: int = 0

    def line_of(self, location: tuple[str | int, ...]) -> int:
        """The 1-based line of the node at ``location`` (or of its nearest ancestor)."""
        if self.root is None and self.source is not None:
            self.root = load_yaml(self.source, max_bytes=self.max_bytes).root  # a cache hit: parse now
            self.source = None
        node = self.root
        line = node.start_mark.line + 1 if node is not None else 0
        for step in location:
            node = _child(node, step)
            if node is None:
                break
            line = node.start_mark.line + 1
        return line


def _child(node: yaml.Node | None, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == step:
                found: yaml.Node = value
                return found
    elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
        if 0 <= step < len(node.value):
            child: yaml.Node = node.value[step]
            return child
    return None


def load_yaml(text: str | bytes, *, max_bytes: int, limits: YamlLimits | None = None) -> LoadedYaml:
    """Load one YAML document safely; raise YamlError with a line on any problem.

    Besides the size limit, the node graph is checked before anything is
    constructed: nesting depth, the size once aliases are expanded (in nodes
    and in bytes of scalars), duplicate keys and non-finite numbers.
    """
    limits = limits or YamlLimits(max_bytes=max_bytes)
    if len(text) > max_bytes:
        raise YamlError(f"file is larger than the limit of {max_bytes} bytes")
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return LoadedYaml(None, None)
        _check_nodes(root, limits)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YamlError(_one_line(exc.problem or str(exc)), line) from None
    except yaml.YAMLError as exc:
        raise YamlError(_one_line(str(exc))) from None
    finally:
        loader.dispose()
    return LoadedYaml(data, root)


class ParseCache:
    """Parsed documents by content hash, so an unchanged repository is not re-parsed.

    Only documents that loaded cleanly are cached, as ``marshal`` data (plain
    dicts, lists and scalars). A hit has no node tree: callers that need line
    numbers for a problem re-parse that one file.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, text: str | bytes, limits: YamlLimits) -> Path:
        raw = text.encode() if isinstance(text, str) else text
        digest = hashlib.sha256(raw)
        digest.update(f"|{limits.max_depth}|{limits.max_expanded_bytes}".encode())
        return self.directory / digest.hexdigest()

    def get(self, text: str | bytes, limits: YamlLimits) -> Any:
        try:
            return marshal.loads(self._path(text, limits).read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            return _MISS

    def put(self, text: str | bytes, limits: YamlLimits, data: Any) -> None:
        try:
            payload = marshal.dumps(data)
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
            os.replace(tmp, self._path(text, limits))
        except (OSError, ValueError):
            return  # a cache that cannot be written is just a slower load


_MISS = object()


def load_yaml_cached(text: str | bytes, *, limits: YamlLimits, cache: ParseCache | None) -> LoadedYaml:
    """Like load_yaml, from the cache when this exact content was parsed before.

    Only documents that passed every check are cached, and the cache key covers
    the limits, so a stricter setting is never bypassed by an older cache entry.
    """
    if cache is not None and len(text) <= limits.max_bytes:
        data = cache.get(text, limits)
        if data is not _MISS:
            return LoadedYaml(data, None, source=text, max_bytes=limits.max_bytes)
    loaded = load_yaml(text, max_bytes=limits.max_bytes, limits=limits)
    if cache is not None:
        cache.put(text, limits, loaded.data)
    return loaded


def _check_nodes(root: yaml.Node, limits: YamlLimits) -> None:
    """One walk over the node graph (each distinct node once, aliases shared).

    Refuses duplicate keys, non-finite floats, nesting deeper than the limit, and
    documents whose alias-expanded size explodes ("billion laughs") in node count
    or in bytes of scalars, or that recurse.
    """
    sizes: dict[int, tuple[int, int, int]] = {}  # id -> (nodes, scalar bytes, height)
    stack: list[tuple[yaml.Node, bool, int]] = [(root, False, 1)]
    in_progress: set[int] = set()
    while stack:
        node, children_done, depth = stack.pop()
        key = id(node)
        if children_done:
            in_progress.discard(key)
            sizes[key] = _combine(node, sizes, limits)
            continue
        if key in sizes:
            continue
        if key in in_progress:
            raise YamlError("recursive alias", node.start_mark.line + 1)
        if depth > limits.max_depth:
            raise YamlError(f"nested more than {limits.max_depth} levels deep", node.start_mark.line + 1)
        _check_node(node)
        in_progress.add(key)
        stack.append((node, True, depth))
        stack.extend((c, False, depth + 1) for c in _children(node) if id(c) not in sizes)
    nodes = sizes[id(root)][0]
    if nodes > max(100_000, len(sizes) * MAX_ALIAS_RATIO):
        raise YamlError("document expands too much through aliases (alias bomb)")


def _combine(
    node: yaml.Node, sizes: dict[int, tuple[int, int, int]], limits: YamlLimits
) -> tuple[int, int, int]:
    if isinstance(node, yaml.ScalarNode):
        return 1, len(node.value), 0
    parts = [sizes[id(c)] for c in _children(node)]
    nodes = 1 + sum(p[0] for p in parts)
    size = sum(p[1] for p in parts)
    height = 1 + max((p[2] for p in parts), default=0)
    line = node.start_mark.line + 1
    if nodes > MAX_EXPANDED_NODES:
        raise YamlError("document expands to too many nodes through aliases (alias bomb)", line)
    if size > limits.max_expanded_bytes:
        raise YamlError(
            f"document expands to more than {limits.max_expanded_bytes} bytes through aliases "
            "(alias bomb; setting DRIFTGATE_MAX_SPEC_EXPANDED_BYTES)",
            line,
        )
    if height > limits.max_depth:
        raise YamlError(f"nested more than {limits.max_depth} levels deep", line)
    return nodes, size, height


def _check_node(node: yaml.Node) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE:
                continue
            if key.value in seen:
                raise YamlError(f"duplicate key {key.value!r}", key.start_mark.line + 1)
            seen.add(key.value)
    elif isinstance(node, yaml.ScalarNode) and node.tag == _FLOAT and not _is_finite(node.value):
        raise YamlError(f"non-finite number {node.value!r} is not allowed", node.start_mark.line + 1)


def _is_finite(text: str) -> bool:
    plain = text.lower().replace("_", "").lstrip("+-")
    if plain in (".inf", ".nan"):
        return False
    try:
        return math.isfinite(float(plain))
    except ValueError:
        return True


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _one_line(text: str) -> str:
    return " ".join(text.split())
