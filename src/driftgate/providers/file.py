"""The ``file`` provider: real files and directories under a configured root.

Every operation descends from the root by directory descriptors without
following symlinks (``fsroot.ConfinedRoot``), so neither ``..`` nor a symlink -
even one swapped in between plan and apply - can make driftgate read or write
outside it. Writes are atomic (temporary file, then rename), so a failed update
leaves the old file whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from driftgate.errors import ProviderConfigError, ProviderError, UnsafePathError
from driftgate.providers.base import (
    CAP_BACKUP,
    CAP_IMPORT,
    CAP_LIST,
    CAP_READ,
    BaseProvider,
    Observed,
    ProviderContext,
)
from driftgate.providers.fsroot import ConfinedRoot, is_temp_name, remove_stale_temp
from driftgate.security.paths import check_canonical_path
from driftgate.spec.schema import AttributeSchema, KindSchema

FILE = "file.file"
DIRECTORY = "file.directory"


def _mode_text(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}"


def _parse_mode(value: Any) -> int:
    try:
        mode = int(str(value), 8)
    except ValueError:
        raise ProviderError(f"invalid mode {value!r}: expected an octal string such as '0644'") from None
    if not 0 <= mode <= 0o7777:
        raise ProviderError(f"invalid mode {value!r}")
    return mode


class FileProvider(BaseProvider):
    name = "file"
    capabilities = frozenset({CAP_READ, CAP_IMPORT, CAP_BACKUP, CAP_LIST})
    KINDS: tuple[KindSchema, ...] = (
        KindSchema(
            type=FILE,
            description="A regular file with text content.",
            attributes={
                "path": AttributeSchema(required=True, force_new=True, path=True),
                "content": AttributeSchema(default=""),
                "mode": AttributeSchema(default="0644"),
            },
            outputs=("path", "sha256", "size"),
        ),
        KindSchema(
            type=DIRECTORY,
            description="A directory.",
            attributes={
                "path": AttributeSchema(required=True, force_new=True, path=True),
                "mode": AttributeSchema(default="0755"),
            },
            outputs=("path",),
        ),
    )

    def __init__(self) -> None:
        self._root: Path | None = None
        self._real_root: Path | None = None
        self._fs: ConfinedRoot | None = None

    def configure(self, config: Mapping[str, Any], ctx: ProviderContext) -> None:
        unknown = set(config) - {"root"}
        if unknown:
            raise ProviderConfigError(f"file provider: unknown field(s) {', '.join(sorted(unknown))}")
        root = config.get("root")
        if not isinstance(root, str) or not root:
            raise ProviderConfigError("file provider: 'root' is required (a directory path)")
        path = Path(root)
        if ".." in path.parts:
            raise ProviderConfigError("file provider: 'root' must not contain '..'")
        self._root = path if path.is_absolute() else ctx.stack_dir / path
        self._fs = ConfinedRoot(self._root)

    @property
    def root(self) -> Path:
        if self._root is None:
            raise ProviderConfigError("file provider is not configured")
        return self._root

    @property
    def fs(self) -> ConfinedRoot:
        if self._fs is None:
            raise ProviderConfigError("file provider is not configured")
        return self._fs

    def _resolved_root(self) -> Path:
        if self._real_root is None:
            self._real_root = self.root.resolve()
        return self._real_root

    def _checked(self, relative: Any) -> str:
        rel = str(relative)
        reason = check_canonical_path(rel)
        if reason is not None:
            raise ProviderError(f"{ascii(rel)}: {reason}")
        return rel

    @contextmanager
    def _errors(self, relative: str, doing: str) -> Iterator[None]:
        """Containment refusals and OS errors as one-line provider errors."""
        try:
            yield
        except UnsafePathError as exc:
            raise ProviderError(str(exc)) from None
        except OSError as exc:
            raise ProviderError(f"{relative}: {doing}{exc.strerror}") from None

    def read(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> Observed | None:
        return self.import_resource(type_, str(attributes["path"]))

    def import_resource(self, type_: str, resource_id: str) -> Observed | None:
        rel = self._checked(resource_id)
        with self._errors(rel, "cannot read: "):
            found = self.fs.read(rel)
        if found is None:
            return None
        info, data = found
        if type_ == DIRECTORY:
            if not stat.S_ISDIR(info.st_mode):
                return None
            return Observed({"path": rel, "mode": _mode_text(info.st_mode)}, {"path": self._live_path(rel)})
        if data is None:
            return None
        try:
            content: str | None = data.decode("utf-8")
        except UnicodeDecodeError:
            content = None
        attrs: dict[str, Any] = {"path": rel, "content": content, "mode": _mode_text(info.st_mode)}
        return Observed(attrs, self._file_outputs(rel, data))

    def _live_path(self, rel: str) -> str:
        return f"{self._resolved_root()}/{rel}"

    def _file_outputs(self, rel: str, data: bytes) -> dict[str, Any]:
        return {"path": self._live_path(rel), "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    def create(self, type_: str, name: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        rel = self._checked(attributes["path"])
        mode = _parse_mode(attributes.get("mode", "0755" if type_ == DIRECTORY else "0644"))
        with self._errors(rel, ""):
            if type_ == DIRECTORY:
                self.fs.make_directory(rel, mode)
                return {"path": self._live_path(rel)}
            data = str(attributes.get("content", "")).encode("utf-8")
            self.fs.write(rel, data, mode)
        return self._file_outputs(rel, data)

    def update(
        self, type_: str, name: str, attributes: Mapping[str, Any], prior_outputs: Mapping[str, Any]
    ) -> dict[str, Any]:
        return self.create(type_, name, attributes)

    def backup_resource(
        self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> dict[str, bytes] | None:
        rel = self._checked(attributes["path"])
        observed = self.import_resource(type_, rel)
        if observed is None:
            return {}  # nothing live to back up; restore will leave it absent
        meta = json.dumps({"mode": observed.attributes["mode"]}).encode()
        if type_ == DIRECTORY:
            return {"meta.json": meta}
        with self._errors(rel, "cannot read: "):
            found = self.fs.read(rel)
        content = found[1] if found is not None else None
        return {"meta.json": meta, "content": content or b""}

    def resource_id(self, type_: str, attributes: Mapping[str, Any]) -> str | None:
        return str(attributes.get("path")) if attributes.get("path") else None

    def list_ids(self, type_: str) -> set[str] | None:
        """Regular files under the root (directories are not listed: parents appear on their own).

        driftgate's own temporary files are never listed; those a killed run left
        behind are removed on the way.
        """
        if type_ != FILE:
            return None
        root = self._resolved_root()
        if not root.is_dir():
            return set()
        found: set[str] = set()
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
            rel_dir = os.path.relpath(dirpath, root)
            for name in filenames:
                path = os.path.join(dirpath, name)
                if is_temp_name(name):
                    _remove_leftover(dirpath, name)
                    continue
                if name.startswith(".") and name.endswith(".tmp"):
                    continue  # an atomic write of an earlier driftgate version
                if os.path.isfile(path) and not os.path.islink(path):
                    found.add(name if rel_dir == "." else f"{rel_dir}/{name}")
        return found

    def restore_resource(
        self, type_: str, attributes: Mapping[str, Any], files: Mapping[str, bytes]
    ) -> Observed:
        rel = self._checked(attributes["path"])
        if "meta.json" not in files:
            self.delete(type_, attributes, {})
        else:
            mode = _parse_mode(json.loads(files["meta.json"])["mode"])
            with self._errors(rel, "cannot restore: "):
                if type_ == DIRECTORY:
                    self.fs.make_directory(rel, mode)
                else:
                    self.fs.write(rel, files["content"], mode)
        found = self.import_resource(type_, rel)
        return found or Observed({}, {})

    def delete(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
        rel = self._checked(attributes["path"])
        with self._errors(rel, "cannot delete: "):
            self.fs.remove(rel, directory=type_ == DIRECTORY)


def _remove_leftover(directory: str, name: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        remove_stale_temp(fd, name)
    finally:
        os.close(fd)
