"""The one error tree of driftgate, and every error code it exposes.

::

    DriftgateError                  (INTERNAL unless a subclass says otherwise)
    ├── TerminalError               the user must fix something; retrying will not help
    │   ├── SpecError               specs failed validation (carries every Problem found)
    │   ├── UnsafePathError         a path escapes its root or holds forbidden characters
    │   ├── UnsafeRefError          a branch name git would refuse or read as an option
    │   ├── SecretError             a secret:// reference is invalid or cannot be resolved
    │   ├── StalePlanError          a saved plan no longer matches specs or recorded state
    │   ├── PlanInvalidError        a plan cannot be applied
    │   │   └── PlanHasErrors       the plan found problems (carries them)
    │   ├── ContractViolation       an ApplyResult breaks the ledger contract
    │   ├── StackLockedError        another run holds the stack lock
    │   ├── StackElsewhereError     the stack's name is bound to another config repo or path
    │   ├── ProviderConfigError     a provider is unknown or misconfigured
    │   │   └── PluginRefused       (plugin.manifest) incompatible, or an invalid manifest
    │   ├── NotFoundError           no such run, resource, stack, proposal
    │   ├── GateRefused             the apply gate refused (carries its reasons)
    │   ├── CodedError              a service input rule; the code is chosen where it is raised
    │   ├── EditError               (proposals.edits) a proposal's edit does not apply
    │   ├── BackupCorrupt           (backup.archive) a backup fails verification
    │   └── ForgeError              (forge.base) the forge refused a request
    ├── ProviderError               a provider call failed (PROVIDER_FAILED)
    │   ├── CompensatedError        ... and what it half-did was undone
    │   ├── CompensationFailedError ... and undoing it failed too
    │   └── ProviderCrashed         a provider plugin died or hung mid-call: the run stops
    └── TransientError              may succeed if tried again (timeouts, I/O, contention)
        ├── ProviderTransientError
        ├── StoreUnavailable        the store did not answer or could not write (down, disk full)
        ├── GitError, GitTimeout    (gitops.gitcmd) a git command failed or did not answer
        ├── ForgeUnavailable        (forge.base) the forge did not answer, or answered 5xx/429
        └── LockContended, RateLimited, LeaseLost   (services.open_pr) come back later

Domain errors carry no HTTP status and no exit code: the edges map them, from the tables in
``api/errors.py`` (``STATUS``) and ``cli/exitcodes.py`` (``BY_CODE``), which cover every code in
``CODES`` (a test checks it). The CLI's ``--json`` diagnostics and the API's error envelope expose
the codes.
"""

from __future__ import annotations

from dataclasses import dataclass

# -- exposed error codes -----------------------------------------------------------
# specs, plans and the apply
SPEC_INVALID = "SPEC_INVALID"
UNSAFE_PATH = "UNSAFE_PATH"
SECRET_INVALID = "SECRET_INVALID"
PLAN_STALE = "PLAN_STALE"
PLAN_INVALID = "PLAN_INVALID"
CONTRACT_VIOLATION = "CONTRACT_VIOLATION"
STACK_LOCKED = "STACK_LOCKED"
STACK_ELSEWHERE = "STACK_ELSEWHERE"
STACK_NOT_FOUND = "STACK_NOT_FOUND"
GATE_REFUSED = "GATE_REFUSED"
BACKUP_CORRUPT = "BACKUP_CORRUPT"
# providers
PROVIDER_CONFIG = "PROVIDER_CONFIG"
PROVIDER_FAILED = "PROVIDER_FAILED"
UNSUPPORTED_FORGE = "UNSUPPORTED_FORGE"  # a forge driftgate has no client for (Bitbucket, Azure DevOps)
# input and lookups
NOT_FOUND = "NOT_FOUND"
INVALID_INPUT = "INVALID_INPUT"
INVALID_URL = "INVALID_URL"
INVALID_CURSOR = "INVALID_CURSOR"
USAGE = "USAGE"  # a command-line mistake (the CLI's usage errors)
# config repos, proposals and their edits
CONFIG_REPO_NAME_TAKEN = "CONFIG_REPO_NAME_TAKEN"
CREDENTIAL_NOT_FOUND = "CREDENTIAL_NOT_FOUND"
CREDENTIAL_NOT_CONFIGURED = "CREDENTIAL_NOT_CONFIGURED"
REPO_NOT_CONFIGURED = "REPO_NOT_CONFIGURED"
INVALID_STATE_TRANSITION = "INVALID_STATE_TRANSITION"
VALUE_DRIFT = "VALUE_DRIFT"
PATH_NOT_FOUND = "PATH_NOT_FOUND"
FILE_INVALID = "FILE_INVALID"
PATH_INVALID = "PATH_INVALID"
BRANCH_EXISTS = "BRANCH_EXISTS"
LOCK_CONTENDED = "LOCK_CONTENDED"
PR_RATE_LIMITED = "PR_RATE_LIMITED"
# forges and webhooks
FORGE_REJECTED = "FORGE_REJECTED"
FORGE_UNAVAILABLE = "FORGE_UNAVAILABLE"
SIGNATURE_INVALID = "SIGNATURE_INVALID"
WEBHOOK_REPLAYED = "WEBHOOK_REPLAYED"
WEBHOOK_UNKNOWN_REPO = "WEBHOOK_UNKNOWN_REPO"
WEBHOOK_INVALID = "WEBHOOK_INVALID"
# the API's own
UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
VALIDATION_FAILED = "VALIDATION_FAILED"
REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
BODY_TOO_DEEP = "BODY_TOO_DEEP"
HTTP_ERROR = "HTTP_ERROR"
# infrastructure
QUEUE_UNAVAILABLE = "QUEUE_UNAVAILABLE"
STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
TRANSIENT = "TRANSIENT"
INTERNAL = "INTERNAL"

CODES = frozenset(
    value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str)
)
"""Every code above: each one has an HTTP status and a CLI exit code."""


class DriftgateError(Exception):
    """Base of every error driftgate raises on purpose."""

    code: str = INTERNAL


class TerminalError(DriftgateError):
    """The input or the situation must change before a retry can succeed."""


class TransientError(DriftgateError):
    """A retry may succeed without anyone changing anything."""

    code = TRANSIENT


@dataclass(frozen=True, order=True)
class Problem:
    """One validation finding, rendered as ``path:line: field: reason``."""

    path: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        location = f"{self.path}:{self.line}" if self.line else self.path
        return f"{location}: {self.field}: {self.reason}"


class SpecError(TerminalError):
    code = SPEC_INVALID

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UnsafePathError(TerminalError):
    code = UNSAFE_PATH


class SecretError(TerminalError):
    code = SECRET_INVALID


class UnsafeRefError(TerminalError):
    """A branch or ref name that git would refuse, or could read as an option."""

    code = INVALID_INPUT


class StalePlanError(TerminalError):
    code = PLAN_STALE


class PlanInvalidError(TerminalError):
    code = PLAN_INVALID


class PlanHasErrors(PlanInvalidError):
    """The plan found problems (a refresh failed, a provider is missing): nothing was applied."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


class ContractViolation(TerminalError):
    code = CONTRACT_VIOLATION


class StackLockedError(TerminalError):
    code = STACK_LOCKED


class StackElsewhereError(TerminalError):
    """The store binds this stack's name to another place: two places must never share its state."""

    code = STACK_ELSEWHERE


class ProviderConfigError(TerminalError):
    code = PROVIDER_CONFIG


class NotFoundError(TerminalError):
    code = NOT_FOUND


class CodedError(TerminalError):
    """A terminal error whose code is chosen where it is raised (service input rules)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class GateRefused(TerminalError):
    """The apply gate refused: nothing was touched. ``reasons`` has one line each."""

    code = GATE_REFUSED

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("the apply gate refused: " + "; ".join(reasons))


class ProviderError(DriftgateError):
    """A provider could not carry out an action (the action's outcome is ERROR)."""

    code = PROVIDER_FAILED


class CompensatedError(ProviderError):
    """The action failed, and the provider restored the prior live state."""


class CompensationFailedError(ProviderError):
    """The action failed, and restoring the prior live state failed too."""


class ProviderCrashed(ProviderError):
    """A provider plugin died or stopped answering during a call: what it did is unknown, and
    the run stops (its other actions are not attempted)."""


class ProviderTransientError(TransientError):
    """A provider call failed in a way that a retry may fix (timeout, busy)."""


class StoreUnavailable(TransientError):
    """The store did not answer, or refused a write (server down, disk full, read-only)."""

    code = STORE_UNAVAILABLE
