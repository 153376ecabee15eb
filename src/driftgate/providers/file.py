"""The ``file`` provider: real files and directories under a configured root.

Every path is contained under the root after resolution, so neither ``..``
nor a symlink can make driftgate write outside it. Writes are atomic
(temporary file, then rename), so a failed update leaves the old file whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Mapping
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
from driftgate.security.paths import check_relative_path, contain
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
        self._dirs: dict[str, Path] = {}

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

    @property
    def root(self) -> Path:
        if self._root is None:
            raise ProviderConfigError("file provider is not configured")
        return self._root

    def _resolved_root(self) -> Path:
        if self._real_root is None:
            self._real_root = self.root.resolve()
        return self._real_root

    def _path(self, relative: Any) -> Path:
        """Contained after resolution. Directories are resolved once and cached; a final
        component that is a symlink is resolved and must stay under the root too."""
        rel = str(relative)
        reason = check_relative_path(rel)
        if reason is not None:
            raise ProviderError(f"{rel!r}: {reason}")
        parent_rel, _, name = rel.rstrip("/").rpartition("/")
        parent = self._dirs.get(parent_rel)
        try:
            if parent is None:
                parent = contain(self.root, parent_rel or ".")
                if parent.is_dir():
                    self._dirs[parent_rel] = parent
            target = parent / name
            if target.is_symlink():
                target = target.resolve()
                if not target.is_relative_to(self._resolved_root()):
                    raise UnsafePathError(f"{rel!r}: resolves outside {self._resolved_root()}")
            return target
        except UnsafePathError as exc:
            raise ProviderError(str(exc)) from None

    def read(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> Observed | None:
        return self.import_resource(type_, str(attributes["path"]))

    def import_resource(self, type_: str, resource_id: str) -> Observed | None:
        path = self._path(resource_id)
        try:
            info = path.lstat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ProviderError(f"{resource_id}: cannot stat: {exc.strerror}") from None
        if type_ == DIRECTORY:
            if not stat.S_ISDIR(info.st_mode):
                return None
            return Observed({"path": resource_id, "mode": _mode_text(info.st_mode)}, {"path": str(path)})
        if not stat.S_ISREG(info.st_mode):
            return None
        data = path.read_bytes()
        try:
            content: str | None = data.decode("utf-8")
        except UnicodeDecodeError:
            content = None
        attrs: dict[str, Any] = {"path": resource_id, "content": content, "mode": _mode_text(info.st_mode)}
        return Observed(attrs, _file_outputs(path, data))

    def create(self, type_: str, name: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        path = self._path(attributes["path"])
        mode = _parse_mode(attributes.get("mode", "0755" if type_ == DIRECTORY else "0644"))
        try:
            if type_ == DIRECTORY:
                path.mkdir(parents=True, exist_ok=True)
                path.chmod(mode)
                return {"path": str(path)}
            return _write_atomic(path, str(attributes.get("content", "")), mode)
        except OSError as exc:
            raise ProviderError(f"{attributes['path']}: {exc.strerror}") from None

    def update(
        self, type_: str, name: str, attributes: Mapping[str, Any], prior_outputs: Mapping[str, Any]
    ) -> dict[str, Any]:
        return self.create(type_, name, attributes)

    def backup_resource(
        self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> dict[str, bytes] | None:
        return _backup_file(self, type_, attributes)

    def resource_id(self, type_: str, attributes: Mapping[str, Any]) -> str | None:
        return str(attributes.get("path")) if attributes.get("path") else None

    def list_ids(self, type_: str) -> set[str] | None:
        """Regular files under the root (directories are not listed: parents appear on their own)."""
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
                if name.startswith(".") and name.endswith(".tmp"):
                    continue  # an atomic write in progress
                path = os.path.join(dirpath, name)
                if os.path.isfile(path) and not os.path.islink(path):
                    found.add(name if rel_dir == "." else f"{rel_dir}/{name}")
        return found

    def restore_resource(
        self, type_: str, attributes: Mapping[str, Any], files: Mapping[str, bytes]
    ) -> Observed:
        path = self._path(attributes["path"])
        if "meta.json" not in files:
            self.delete(type_, attributes, {})
        else:
            mode = _parse_mode(json.loads(files["meta.json"])["mode"])
            try:
                if type_ == DIRECTORY:
                    path.mkdir(parents=True, exist_ok=True)
                    path.chmod(mode)
                else:
                    _write_bytes_atomic(path, files["content"], mode)
            except OSError as exc:
                raise ProviderError(f"{attributes['path']}: cannot restore: {exc.strerror}") from None
        found = self.import_resource(type_, str(attributes["path"]))
        return found or Observed({}, {})

    def delete(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
        path = self._path(attributes["path"])
        try:
            if type_ == DIRECTORY:
                path.rmdir()
            else:
                path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise ProviderError(f"{attributes['path']}: cannot delete: {exc.strerror}") from None


def _backup_file(
    provider: FileProvider, type_: str, attributes: Mapping[str, Any]
) -> dict[str, bytes] | None:
    observed = provider.import_resource(type_, str(attributes["path"]))
    if observed is None:
        return {}  # nothing live to back up; restore will leave it absent
    meta = json.dumps({"mode": observed.attributes["mode"]}).encode()
    if type_ == DIRECTORY:
        return {"meta.json": meta}
    return {"meta.json": meta, "content": provider._path(attributes["path"]).read_bytes()}


def _file_outputs(path: Path, data: bytes) -> dict[str, Any]:
    return {"path": str(path), "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _write_atomic(path: Path, content: str, mode: int) -> dict[str, Any]:
    return _write_bytes_atomic(path, content.encode("utf-8"), mode)


def _write_bytes_atomic(path: Path, data: bytes, mode: int) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return _file_outputs(path, data)
