"""Safe YAML loading on libyaml, with a size limit, alias-bomb defence and line lookup.

PyYAML's C loader composes a node graph, then ``SafeConstructor`` builds plain
data from it. We keep the node graph so that a validation problem found later
can be reported at ``file:line`` without re-parsing, and we measure how large
the document would be once aliases are expanded before anything consumes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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

    def line_of(self, location: tuple[str | int, ...]) -> int:
        """The 1-based line of the node at ``location`` (or of its nearest ancestor)."""
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
