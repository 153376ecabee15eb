"""Rewrite files in a working tree (pure file operations; no git here).

A file whose current content is *equivalent* to the new one (the caller decides:
for specs, it parses to the same model) is left alone, so commit-back does not
strip a person's comments or formatting when nothing changed in substance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from driftgate.security.paths import contain

Equivalent = Callable[[str, str, str], bool]  # (relative path, current text, new text)


def sync_files(
    root: Path,
    files: Mapping[str, str],
    *,
    equivalent: Equivalent,
    stale_dirs: Iterable[str] = (),
    stale_suffixes: tuple[str, ...] = (".yaml", ".yml"),
) -> list[str]:
    """Write ``files`` under ``root``; remove stale files in ``stale_dirs``; return what changed."""
    changed: list[str] = []
    for rel, text in sorted(files.items()):
        target = contain(root, rel)
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current is not None and (current == text or equivalent(rel, current, text)):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        changed.append(rel)
    wanted = {contain(root, rel) for rel in files}
    for rel_dir in stale_dirs:
        directory = contain(root, rel_dir)
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if path.is_file() and path.suffix in stale_suffixes and path.resolve() not in wanted:
                path.unlink()
                changed.append(str(path.relative_to(root)))
    return changed
