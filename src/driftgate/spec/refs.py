"""References inside spec values.

Two kinds of reference may appear in a resource's ``spec``:

- an output reference ``${[module/]provider.kind.name.output}``, resolved just
  in time at apply from the referenced resource's outputs (``$${`` escapes it);
- a secret reference ``secret://<backend>/<key>``, a whole string value,
  resolved only when a provider needs the value. Its text is what is stored,
  serialized and shown.

When a secret-backed output is interpolated into a longer string, the secret
travels inside that string as an embedded token ``${secret://<backend>/<key>}``:
state and plans keep the token, and the provider gets the string with the value
in its place (``SecretResolver.resolve_all``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftgate.errors import SecretError, UnsafePathError
from driftgate.security.limits import InputTooLarge, read_bounded
from driftgate.security.paths import check_relative_path, contain
from driftgate.security.redact import register_secret

NAME_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_-]*"
TYPE_PATTERN = r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*"
OUTPUT_REF = re.compile(
    rf"(?<!\$)\$\{{(?:(?P<module>{NAME_PATTERN})/)?(?P<type>{TYPE_PATTERN})"
    rf"\.(?P<name>{NAME_PATTERN})\.(?P<output>(?:output\.)?[A-Za-z_][A-Za-z0-9_]*)\}}"
)
ANY_INTERPOLATION = re.compile(r"(?<!\$)\$\{([^}]*)\}")
SECRET_PREFIX = "secret://"
SECRET_BACKENDS = ("env", "file")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
EMBEDDED_SECRET = re.compile(r"\$\{(secret://(?:env|file)/[^}\s]+)\}")
MAX_SECRET_FILE_BYTES = 64 * 1024


@dataclass(frozen=True)
class OutputRef:
    address: str
    output: str


def iter_strings(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string inside a nested spec value, with its location."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from iter_strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from iter_strings(item, (*path, index))


def output_refs(text: str, module: str) -> list[OutputRef]:
    if "${" not in text:
        return []
    return [
        OutputRef(f"{m['module'] or module}/{m['type']}.{m['name']}", m["output"])
        for m in OUTPUT_REF.finditer(text)
    ]


def malformed_interpolations(text: str) -> list[str]:
    """``${...}`` expressions that are not valid output references."""
    if "${" not in text:
        return []
    return [m.group(0) for m in ANY_INTERPOLATION.finditer(text) if not OUTPUT_REF.fullmatch(m.group(0))]


def substitute_outputs(value: Any, lookup: Callable[[OutputRef], Any], module: str) -> Any:
    """Replace output references with values; a whole-string reference keeps the value's type."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        whole = OUTPUT_REF.fullmatch(value)
        if whole is not None:
            return lookup(output_refs(value, module)[0])
        replaced = OUTPUT_REF.sub(lambda m: _embedded(lookup(output_refs(m.group(0), module)[0])), value)
        return replaced.replace("$${", "${")
    if isinstance(value, Mapping):
        return {k: substitute_outputs(v, lookup, module) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_outputs(v, lookup, module) for v in value]
    return value


def _embedded(value: Any) -> str:
    """An output's value as text inside a longer string; a secret reference becomes a token."""
    return "${" + value + "}" if is_secret_ref(value) else str(value)


def is_secret_ref(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SECRET_PREFIX)


def holds_secret(value: Any) -> bool:
    """A whole secret reference, or a string carrying an embedded secret token, anywhere in ``value``."""
    if isinstance(value, str):
        return value.startswith(SECRET_PREFIX) or (
            "${secret://" in value and bool(EMBEDDED_SECRET.search(value))
        )
    if isinstance(value, Mapping):
        return any(holds_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_secret(v) for v in value)
    return False


def secret_refs_in(value: Any) -> list[str]:
    """Every secret reference in ``value``: whole-string ones and embedded tokens."""
    found: list[str] = []
    _collect_refs(value, found)
    return found


def _collect_refs(value: Any, found: list[str]) -> None:
    if isinstance(value, str):
        if SECRET_PREFIX not in value:
            return
        if value.startswith(SECRET_PREFIX):
            found.append(value)
        else:
            found.extend(m.group(1) for m in EMBEDDED_SECRET.finditer(value))
    elif isinstance(value, Mapping):
        for item in value.values():
            _collect_refs(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect_refs(item, found)


def check_secret_ref(value: str) -> str | None:
    """Why ``value`` is not a valid secret reference, or None."""
    rest = value[len(SECRET_PREFIX) :]
    backend, _, key = rest.partition("/")
    if backend not in SECRET_BACKENDS:
        return f"unknown secret backend {backend!r} (expected one of {', '.join(SECRET_BACKENDS)})"
    if not key:
        return "secret reference has no key"
    if backend == "env" and not _ENV_KEY.match(key):
        return f"invalid environment variable name {key!r}"
    if backend == "file":
        reason = check_relative_path(key)
        if reason is not None:
            return f"unsafe secret file path {key!r}: {reason}"
    return None


class SecretResolver:
    """Resolves ``secret://`` references on demand and registers each value for redaction.

    ``env_allowed`` is the trust boundary of ``secret://env``: a stack author may
    read only the variables it admits (see ``config.Settings.secret_env_allowed``).
    """

    def __init__(
        self,
        *,
        env: Callable[[str], str | None],
        files_root: Path,
        env_allowed: Callable[[str], bool] = lambda _name: True,
    ) -> None:
        self._env = env
        self._files_root = files_root
        self._env_allowed = env_allowed

    def resolve(self, ref: str) -> str:
        reason = check_secret_ref(ref)
        if reason is not None:
            raise SecretError(f"{ref}: {reason}")
        backend, _, key = ref[len(SECRET_PREFIX) :].partition("/")
        value = self._read_env(key, ref) if backend == "env" else self._read_file(key, ref)
        register_secret(value)
        return value

    def _read_env(self, key: str, ref: str) -> str:
        if not self._env_allowed(key):
            raise SecretError(
                f"{ref}: environment variable {key} may not be read by specs "
                "(name it DRIFTGATE_SECRET_..., or allow it in DRIFTGATE_SECRET_ENV_ALLOW)"
            )
        value = self._env(key)
        if value is None:
            raise SecretError(f"{ref}: environment variable {key} is not set")
        return value

    def _read_file(self, key: str, ref: str) -> str:
        try:
            path = contain(self._files_root, key)
            raw = read_bounded(path, MAX_SECRET_FILE_BYTES)
        except UnsafePathError as exc:
            raise SecretError(f"{ref}: {exc}") from None
        except InputTooLarge as exc:
            raise SecretError(f"{ref}: cannot read secret file: {exc}") from None
        except OSError as exc:
            raise SecretError(f"{ref}: cannot read secret file: {exc.strerror}") from None
        try:
            return raw.decode("utf-8").rstrip("\n")
        except UnicodeDecodeError:
            raise SecretError(f"{ref}: secret file is not UTF-8 text") from None

    def resolve_all(self, value: Any) -> Any:
        """A copy of ``value`` with every secret reference (whole or embedded) replaced by its value."""
        if is_secret_ref(value):
            return self.resolve(value)
        if isinstance(value, str):
            if "${secret://" not in value:
                return value
            return EMBEDDED_SECRET.sub(lambda m: self.resolve(m.group(1)), value)
        if isinstance(value, Mapping):
            return {k: self.resolve_all(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve_all(v) for v in value]
        return value
