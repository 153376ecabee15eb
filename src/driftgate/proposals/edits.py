"""Apply a proposal's edits to file contents, keeping each file's formatting.

Pure: contents in, contents out (the worker reads them from git objects and
commits the result from content). Each edit names a file, its format, a JSON
pointer (RFC 6901), the value expected there (``from``) and the new one
(``to``). Formatting survives: YAML comments and key order (ruamel.yaml round
trip), JSON indentation and key order, TOML comments (tomlkit).

Errors (terminal, each with a code the API exposes):
``VALUE_DRIFT`` the current value is not ``from``; ``PATH_NOT_FOUND`` the
pointer does not exist; ``FILE_INVALID`` the file is missing, not a regular
file, not UTF-8, or does not parse; ``PATH_INVALID`` an unsafe path.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import tomlkit
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from driftgate.errors import FILE_INVALID, PATH_INVALID, PATH_NOT_FOUND, VALUE_DRIFT, TerminalError
from driftgate.security.paths import check_relative_path

Format = Literal["json", "yaml", "toml"]
_MISSING = object()


class EditError(TerminalError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Edit:
    path: str
    format: Format
    pointer: str
    from_: Any
    to: Any


def parse_pointer(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise EditError(PATH_NOT_FOUND, f"pointer {pointer!r} must start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]


def _step(container: Any, token: str, pointer: str) -> tuple[Any, Any]:
    """(key, value) of ``token`` inside ``container``, or raise PATH_NOT_FOUND."""
    if isinstance(container, Mapping):
        if token in container:
            return token, container[token]
    elif isinstance(container, list) and re.fullmatch(r"0|[1-9][0-9]*", token):
        index = int(token)
        if index < len(container):
            return index, container[index]
    raise EditError(PATH_NOT_FOUND, f"pointer {pointer!r} does not exist (at {token!r})")


def _plain(value: Any) -> Any:
    """A plain, comparable value from ruamel/tomlkit wrappers."""
    if hasattr(value, "unwrap"):
        return value.unwrap()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values: ``true`` is not ``1``, but ``1`` is ``1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) and (isinstance(a, int | float) == isinstance(b, int | float))


def _set(document: Any, edit: Edit) -> None:
    tokens = parse_pointer(edit.pointer)
    if not tokens:
        raise EditError(PATH_NOT_FOUND, "an edit cannot replace the whole document")
    parent = document
    for token in tokens[:-1]:
        _, parent = _step(parent, token, edit.pointer)
    key, current = _step(parent, tokens[-1], edit.pointer)
    found = _plain(current)
    if not _same(found, edit.from_):
        where = f"{edit.path}{edit.pointer}"
        raise EditError(VALUE_DRIFT, f"{where}: expected {json.dumps(edit.from_)}, found {json.dumps(found)}")
    parent[key] = edit.to


def _json_indent(text: str) -> int | str | None:
    match = re.search(r"\n([ \t]+)\S", text)
    if match is None:
        return None
    indent = match.group(1)
    return len(indent) if set(indent) == {" "} else indent


class _Format:
    def load(self, text: str) -> Any:
        raise NotImplementedError

    def dump(self, document: Any, original: str) -> str:
        raise NotImplementedError


class _Json(_Format):
    def load(self, text: str) -> Any:
        return json.loads(text)

    def dump(self, document: Any, original: str) -> str:
        indent = _json_indent(original)
        out = json.dumps(document, indent=indent, ensure_ascii=False)
        return out + ("\n" if original.endswith("\n") else "")


def _yaml_indents(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) indentation as the file already uses it."""
    mapping, sequence, offset = 2, 2, 0
    found_map = found_seq = False
    previous: tuple[int, str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if previous is not None and previous[1].endswith(":") and indent > previous[0]:
            if stripped.startswith("- ") and not found_seq:
                offset = indent - previous[0]
                sequence, found_seq = offset + 2, True
            elif not stripped.startswith("- ") and not found_map:
                mapping, found_map = indent - previous[0], True
        previous = (indent, stripped.split("#", 1)[0].rstrip())
        if found_map and found_seq:
            break
    return mapping, max(sequence, offset + 2), offset


class _Yaml(_Format):
    def __init__(self) -> None:
        self.yaml = YAML(typ="rt")
        self.yaml.preserve_quotes = True
        self.yaml.width = 1 << 30

    def load(self, text: str) -> Any:
        mapping, sequence, offset = _yaml_indents(text)
        self.yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        return self.yaml.load(text)

    def dump(self, document: Any, original: str) -> str:
        buffer = io.StringIO()
        self.yaml.dump(document, buffer)
        return buffer.getvalue()


class _Toml(_Format):
    def load(self, text: str) -> Any:
        return tomlkit.parse(text)

    def dump(self, document: Any, original: str) -> str:
        return tomlkit.dumps(document)


def _handler(fmt: str) -> _Format:
    if fmt == "json":
        return _Json()
    if fmt == "yaml":
        return _Yaml()
    if fmt == "toml":
        return _Toml()
    raise EditError(FILE_INVALID, f"unknown format {fmt!r} (json, yaml or toml)")


def apply_edits(files: Mapping[str, bytes | None], edits: Sequence[Edit]) -> dict[str, bytes]:
    """New contents of every edited file. ``files[path]`` is None for a non-file (directory, symlink).

    All edits are checked before anything is returned: one failure fails the whole proposal.
    """
    documents: dict[str, tuple[_Format, Any, str]] = {}
    for edit in edits:
        reason = check_relative_path(edit.path)
        if reason is not None:
            raise EditError(PATH_INVALID, f"{edit.path!r}: {reason}")
        if edit.path not in documents:
            documents[edit.path] = _load(files, edit)
        elif documents[edit.path][0].__class__ is not _handler(edit.format).__class__:
            raise EditError(FILE_INVALID, f"{edit.path}: edited as two different formats")
        _set(documents[edit.path][1], edit)
    return {
        path: handler.dump(doc, original).encode() for path, (handler, doc, original) in documents.items()
    }


def _load(files: Mapping[str, bytes | None], edit: Edit) -> tuple[_Format, Any, str]:
    if edit.path not in files:
        raise EditError(FILE_INVALID, f"{edit.path}: no such file in the repository")
    raw = files[edit.path]
    if raw is None:
        raise EditError(FILE_INVALID, f"{edit.path}: not a regular file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise EditError(FILE_INVALID, f"{edit.path}: not UTF-8 text") from None
    handler = _handler(edit.format)
    try:
        document = handler.load(text)
    except (ValueError, YAMLError, tomlkit.exceptions.TOMLKitError) as exc:
        raise EditError(
            FILE_INVALID, f"{edit.path}: not valid {edit.format}: {_one_line(str(exc))}"
        ) from None
    if not isinstance(document, Mapping | list):
        raise EditError(FILE_INVALID, f"{edit.path}: the document is not a mapping or a list")
    return handler, document, text


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
