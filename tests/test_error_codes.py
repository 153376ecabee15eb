"""Every exposed error code lives in driftgate.errors and maps to an HTTP status and an exit code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from driftgate import errors
from driftgate.api.errors import STATUS
from driftgate.cli import exitcodes

SRC = Path(errors.__file__).parent


def test_every_code_has_an_http_status_and_an_exit_code() -> None:
    assert errors.CODES, "no codes found"
    assert set(STATUS) == set(errors.CODES), "api/errors.py STATUS must cover exactly errors.CODES"
    assert set(exitcodes.BY_CODE) == set(errors.CODES), "cli/exitcodes.py BY_CODE must cover errors.CODES"
    assert all(100 <= status < 600 for status in STATUS.values())
    assert exitcodes.BY_CODE[errors.GATE_REFUSED] == exitcodes.REFUSED
    assert exitcodes.BY_CODE[errors.USAGE] == exitcodes.USAGE


def test_every_error_class_exposes_a_known_code() -> None:
    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(c) for c in found)) if found else found

    import driftgate.forge.base  # noqa: F401 - the classes register as subclasses on import
    import driftgate.gitops.gitcmd  # noqa: F401
    import driftgate.services.proposals.open_pr  # noqa: F401
    import driftgate.services.stacks.backups  # noqa: F401

    for cls in subclasses(errors.DriftgateError):
        code = cls.__dict__.get("code")
        if isinstance(code, str):
            assert code in errors.CODES, f"{cls.__name__}.code {code!r} is not in driftgate.errors"


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_but_errors_defines_a_code(path: Path) -> None:
    """A module-level constant whose value is an existing code, defined anywhere but errors.py, or a
    ``code = "LITERAL"`` in a class: both would let codes drift apart again."""
    if path.name == "errors.py" and path.parent == SRC:
        return
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            value = node.value.value
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if (
                isinstance(value, str)
                and value in errors.CODES
                and any(n.isupper() or n == "code" for n in names)
            ):
                pytest.fail(
                    f"{path.relative_to(SRC)}:{node.lineno}: {names[0]} = {value!r} belongs in errors.py"
                )
