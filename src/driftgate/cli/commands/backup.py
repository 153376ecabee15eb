"""``driftgate backup create|list|verify|restore``."""

import sys
from datetime import UTC, datetime
from pathlib import Path

import typer

from driftgate.cli import exitcodes as codes
from driftgate.cli.common import JsonOption, StackOption, err, out, print_json, print_rows, workspace

app = typer.Typer(help="Backups of stateful modules.", no_args_is_help=True, rich_markup_mode=None)


@app.command("create")
def create(module: str, stack: Path = StackOption, as_json: bool = JsonOption) -> int:
    """Back up every backup-capable resource of MODULE; prints the backup's ref."""
    from driftgate.services.stacks.backups import create_backup

    row = create_backup(workspace(), stack, module)
    if as_json:
        print_json(row.manifest)
    else:
        out.print(f"Backed up module {module!r}: {row.ref} ({row.size} bytes, sha256 {row.sha256[:16]}…)")
        out.print(
            f"Use it with: driftgate apply --module {module} --allow-stateful --confirm {module} "
            f"--backup-ref {row.ref}",
            markup=False,
        )
    return 0


@app.command("list")
def list_(
    stack: Path = StackOption, module: str | None = typer.Option(None, "--module"), as_json: bool = JsonOption
) -> int:
    """List recorded backups, newest first."""
    from driftgate.services.stacks.backups import list_backups

    rows = list_backups(workspace(), stack, module)
    if as_json:
        print_json({"backups": [{k: v for k, v in r.__dict__.items() if k != "manifest"} for r in rows]})
        return 0
    print_rows(
        ("ref", "module", "created (UTC)", "size", "resources"),
        (
            (
                r.ref,
                r.module,
                datetime.fromtimestamp(r.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S"),
                str(r.size),
                str(len(r.manifest.get("resources", []))),
            )
            for r in rows
        ),
    )
    return 0


@app.command("verify")
def verify(ref: str, stack: Path = StackOption) -> int:
    """Check that REF is recorded, its artifact exists, and its checksum matches."""
    from driftgate.services.stacks.backups import verify_backup

    row = verify_backup(workspace(), stack, ref)
    out.print(f"OK: {row.ref} exists and matches sha256 {row.sha256}", markup=False)
    return 0


@app.command("restore")
def restore(
    ref: str,
    stack: Path = StackOption,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> int:
    """Put the live data of REF's module back as the backup holds it (a corrupt artifact is refused)."""
    from driftgate.services.stacks.backups import restore_backup, verify_backup

    ws = workspace()
    row = verify_backup(ws, stack, ref)
    if not yes:
        if not sys.stdin.isatty():
            err.print("error: refusing to restore without confirmation: pass --yes (no terminal to ask)")
            return 1
        answer = typer.prompt(
            f"Restore module {row.module!r} from {ref}? Only 'yes' is accepted",
            default="",
            show_default=False,
        )
        if answer.strip() != "yes":
            err.print("Restore cancelled.")
            return 1
    report = restore_backup(ws, stack, ref)
    for failure in report.failed:
        err.print(f"error: {failure}", markup=False)
    verdict = "Restored" if report.full_success else "Restore incomplete: restored"
    count = len(report.restored)
    out.print(
        f"{verdict} {count} resource(s) of module {row.module!r} from {ref}. Run {report.run_id}.",
        markup=False,
    )
    return 0 if report.full_success else codes.PARTIAL
