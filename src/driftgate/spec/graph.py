"""Dependency graphs over resource addresses: cycle finding and topological order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def find_cycle(edges: Mapping[str, Sequence[str]]) -> list[str]:
    """One dependency cycle as ``[a, b, ..., a]``, or an empty list when there is none."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in edges:
        if state.get(start):
            continue
        path: list[str] = []
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            node, index = stack.pop()
            if index == 0:
                state[node] = 1
                path.append(node)
            targets = edges.get(node, ())
            if index < len(targets):
                stack.append((node, index + 1))
                nxt = targets[index]
                if state.get(nxt) == 1:
                    return [*path[path.index(nxt) :], nxt]
                if not state.get(nxt):
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                path.pop()
    return []


def topological_order(edges: Mapping[str, Sequence[str]]) -> list[str]:
    """Nodes with every dependency before its dependents (Kahn; ties keep input order)."""
    pending = {node: sum(1 for d in deps if d in edges) for node, deps in edges.items()}
    dependents: dict[str, list[str]] = {node: [] for node in edges}
    for node, deps in edges.items():
        for dep in deps:
            if dep in dependents:
                dependents[dep].append(node)
    ready = [node for node, count in pending.items() if count == 0]
    order: list[str] = []
    while ready:
        node = ready.pop(0) if len(ready) < 64 else ready.pop()
        order.append(node)
        for child in dependents[node]:
            pending[child] -= 1
            if pending[child] == 0:
                ready.append(child)
    return order
