"""File operations confined to one root directory, by descent from directory descriptors.

A path string is never re-resolved between a check and a write: each operation
opens the root, then each parent component with ``O_NOFOLLOW`` relative to the
descriptor of the one before (``openat``), and acts on the last component
relative to its parent's descriptor. A directory swapped for a symlink at any
moment - between plan and apply, or mid-operation - makes the operation fail;
it can never make it act outside the root.

Writes go to a temporary file in the target's own directory, then ``os.replace``
within that directory. Temporary files are named ``.driftgate-tmp-<pid>-<hex>``,
so a later run recognises the leftovers of a killed process and removes them.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from driftgate.errors import UnsafePathError
from driftgate.liveness import pid_alive

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
TEMP_PREFIX = ".driftgate-tmp-"
_TEMP = re.compile(rf"^{re.escape(TEMP_PREFIX)}(\d+)-[0-9a-f]+$")


def is_temp_name(name: str) -> bool:
    return name.startswith(TEMP_PREFIX)


class ConfinedRoot:
    """Operations on relative paths under ``root`` that cannot follow a symlink anywhere under it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._swept: set[tuple[int, int]] = set()
        self._root_fd: int | None = None

    # -- descent ---------------------------------------------------------------

    def _root(self, *, create: bool) -> int:
        """The root's descriptor, opened once (the root is configuration; what is under it is not)."""
        if self._root_fd is None:
            if create:
                self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            self._root_fd = fd
            weakref.finalize(self, os.close, fd)
        return self._root_fd

    @contextmanager
    def parent(self, relative: str, *, create: bool = False) -> Iterator[tuple[int, str]]:
        """(descriptor of the parent directory, last component); parents are made when ``create``."""
        parts = relative.split("/")
        root = fd = self._root(create=create)
        try:
            for depth, part in enumerate(parts[:-1]):
                child = self._descend(fd, part, relative, parts[: depth + 1], create)
                if fd != root:
                    os.close(fd)
                fd = child
            yield fd, parts[-1]
        finally:
            if fd != root:
                os.close(fd)

    def _descend(self, fd: int, part: str, relative: str, prefix: list[str], create: bool) -> int:
        """The descriptor of ``part`` under ``fd`` (which stays open: the caller owns it)."""
        try:
            return os.open(part, _DIR, dir_fd=fd)
        except FileNotFoundError:
            if not create:
                raise
        except OSError as exc:
            raise self._refusal(relative, prefix, exc) from None
        try:
            os.mkdir(part, 0o755, dir_fd=fd)
        except FileExistsError:
            pass
        return self._open_dir(fd, part, relative, prefix)

    def _open_dir(self, fd: int, part: str, relative: str, prefix: list[str]) -> int:
        try:
            return os.open(part, _DIR, dir_fd=fd)
        except OSError as exc:
            raise self._refusal(relative, prefix, exc) from None

    def _refusal(self, relative: str, prefix: list[str], exc: OSError) -> OSError | UnsafePathError:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            return exc
        link = self.root / "/".join(prefix)
        if not link.is_symlink():
            return exc
        return self.symlink_error(relative, "/".join(prefix))

    def symlink_error(self, relative: str, component: str) -> UnsafePathError:
        target = (self.root / component).resolve()
        if not target.is_relative_to(self.root.resolve()):
            where = f"{component} is a symlink that resolves outside {self.root}"
            return UnsafePathError(f"{relative!r}: {where}")
        return UnsafePathError(f"{relative!r}: {component} is a symlink; driftgate does not follow symlinks")

    # -- operations --------------------------------------------------------------

    def lstat(self, relative: str) -> os.stat_result | None:
        try:
            with self.parent(relative) as (fd, name):
                return os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            return None

    def read(self, relative: str) -> tuple[os.stat_result, bytes | None] | None:
        """(status, content of a regular file or None for anything else); None when absent."""
        try:
            with self.parent(relative) as (dir_fd, name):
                try:
                    fd = os.open(name, _READ, dir_fd=dir_fd)
                except OSError as exc:
                    if exc.errno == errno.ELOOP:
                        raise self.symlink_error(relative, relative) from None
                    raise
                try:
                    info = os.fstat(fd)
                    if not stat.S_ISREG(info.st_mode):
                        return info, None
                    os.set_blocking(fd, True)
                    return info, _read_all(fd)
                finally:
                    os.close(fd)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def write(self, relative: str, data: bytes, mode: int) -> None:
        """Atomically replace the file: a temporary file in the same directory, then rename."""
        with self.parent(relative, create=True) as (dir_fd, name):
            self._refuse_symlink(dir_fd, name, relative)
            self._sweep(dir_fd)
            temp = f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(6)}"
            fd = os.open(temp, _CREATE, 0o600, dir_fd=dir_fd)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    os.fchmod(handle.fileno(), mode)
                os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except BaseException:
                try:
                    os.unlink(temp, dir_fd=dir_fd)
                except OSError:
                    pass
                raise

    def make_directory(self, relative: str, mode: int) -> None:
        with self.parent(relative, create=True) as (dir_fd, name):
            try:
                os.mkdir(name, mode, dir_fd=dir_fd)
            except FileExistsError:
                self._refuse_symlink(dir_fd, name, relative)
            fd = self._open_dir(dir_fd, name, relative, relative.split("/"))
            try:
                os.fchmod(fd, mode)
            finally:
                os.close(fd)

    def remove(self, relative: str, *, directory: bool) -> None:
        try:
            with self.parent(relative) as (dir_fd, name):
                self._refuse_symlink(dir_fd, name, relative)
                if directory:
                    os.rmdir(name, dir_fd=dir_fd)
                else:
                    os.unlink(name, dir_fd=dir_fd)
        except (FileNotFoundError, NotADirectoryError):
            return

    def _refuse_symlink(self, dir_fd: int, name: str, relative: str) -> None:
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(info.st_mode):
            raise self.symlink_error(relative, relative)

    # -- leftovers of killed runs -------------------------------------------------

    def _sweep(self, dir_fd: int) -> None:
        """Once per directory per process: remove temporary files of processes that are gone."""
        info = os.fstat(dir_fd)
        key = (info.st_dev, info.st_ino)
        if key in self._swept:
            return
        self._swept.add(key)
        with os.scandir(dir_fd) as entries:
            names = [e.name for e in entries if is_temp_name(e.name)]
        for name in names:
            remove_stale_temp(dir_fd, name)


def remove_stale_temp(dir_fd: int, name: str) -> bool:
    """Remove one leftover temporary file if the process that made it is gone."""
    match = _TEMP.match(name)
    if match is None or int(match.group(1)) == os.getpid() or pid_alive(int(match.group(1))):
        return False
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        return False
    return True


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
