"""Exit codes (documented in the README's CLI reference)."""

from __future__ import annotations

from driftgate import errors

OK = 0
ERROR = 1
CHANGES = 2  # plan / drift: changes present (terraform -detailed-exitcode)
PARTIAL = 3  # apply finished, not every action succeeded
REFUSED = 4  # the apply gate refused, or held stateful modules back (auto lane)
LOCKED = 5  # the stack is locked by another run
STALE_PLAN = 6  # the saved plan no longer matches specs or state
DIVERGED = 7  # applied, but git could not be updated (state_diverged)
ELSEWHERE = 8  # the stack's name is bound to another config repo or path (see state move-stack)
USAGE = 64  # bad command-line usage
INTERRUPTED = 130  # Ctrl-C

BY_CODE = {  # every code in errors.CODES (a test checks it): ERROR unless named here
    **dict.fromkeys(errors.CODES, ERROR),
    errors.GATE_REFUSED: REFUSED,
    errors.STACK_LOCKED: LOCKED,
    errors.PLAN_STALE: STALE_PLAN,
    errors.STACK_ELSEWHERE: ELSEWHERE,
    errors.USAGE: USAGE,
}


def for_error(error: errors.DriftgateError) -> int:
    return BY_CODE.get(error.code, ERROR)
