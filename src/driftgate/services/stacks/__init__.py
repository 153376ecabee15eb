"""The apply loop's use cases: plan, the apply session and the apply use case, commit-back,
backups, the stack lock and identity, run history."""
