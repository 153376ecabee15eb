"""Safe YAML loading on libyaml, with a size limit, alias-bomb defence and line lookup.

PyYAML's C loader composes a node graph, then ``SafeConstructor`` builds plain
data from it. We keep the node graph so that a validation problem found later
can be reported at ``file:line`` without re-parsing, and we measure how large
the document would be once aliases are expanded before anything consumes it.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

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


def load_yaml(text: str | bytes, *, max_bytes: int) -> LoadedYaml:
    """Load one YAML document safely; raise YamlError with a line on any problem."""
    if len(text) > max_bytes:
        raise YamlError(f"file is larger than the limit of {max_bytes} bytes")
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return LoadedYaml(None, None)
        if _may_have_aliases(text):
            _check_expansion(root)
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

    def _path(self, text: str | bytes) -> Path:
        raw = text.encode() if isinstance(text, str) else text
        return self.directory / hashlib.sha256(raw).hexdigest()

    def get(self, text: str | bytes) -> Any:
        try:
            return marshal.loads(self._path(text).read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            return _MISS

    def put(self, text: str | bytes, data: Any) -> None:
        try:
            payload = marshal.dumps(data)
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
            os.replace(tmp, self._path(text))
        except (OSError, ValueError):
            return  # a cache that cannot be written is just a slower load


_MISS = object()


def load_yaml_cached(text: str | bytes, *, max_bytes: int, cache: ParseCache | None) -> LoadedYaml:
    """Like load_yaml, from the cache when this exact content was parsed before."""
    if cache is not None and len(text) <= max_bytes:
        data = cache.get(text)
        if data is not _MISS:
            return LoadedYaml(data, None, source=text, max_bytes=max_bytes)
    loaded = load_yaml(text, max_bytes=max_bytes)
    if cache is not None:
        cache.put(text, loaded.data)
    return loaded


def _may_have_aliases(text: str | bytes) -> bool:
    star = b"*" if isinstance(text, bytes) else "*"
    return star in text  # type: ignore[operator]


def _check_expansion(root: yaml.Node) -> None:
    """Reject documents whose alias-expanded size explodes ("billion laughs") or recurses."""
    sizes: dict[int, int] = {}
    distinct = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    in_progress: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            in_progress.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            if sizes[key] > MAX_EXPANDED_NODES:
                raise YamlError(
                    "document expands to too many nodes through aliases (alias bomb)",
                    node.start_mark.line + 1,
                )
            continue
        if key in sizes:
            continue
        if key in in_progress:
            raise YamlError("recursive alias", node.start_mark.line + 1)
        in_progress.add(key)
        distinct += 1
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    if sizes[id(root)] > max(100_000, distinct * MAX_ALIAS_RATIO):
        raise YamlError("document expands too much through aliases (alias bomb)")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _one_line(text: str) -> str:
    return " ".join(text.split())
