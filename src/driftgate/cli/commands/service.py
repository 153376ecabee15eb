"""``driftgate serve`` and ``driftgate token create``."""

import typer

from driftgate.cli.common import JsonOption, err, out, print_json, print_rows, workspace

token_app = typer.Typer(help="API tokens.", no_args_is_help=True, rich_markup_mode=None)


@token_app.command("create")
def create_token(
    name: str = typer.Argument(..., help="Who or what the token is for."),
    role: str = typer.Option("viewer", "--role", help="viewer, operator or admin."),
    as_json: bool = JsonOption,
) -> int:
    """Create an API token and print it once (only its hash is stored)."""
    from driftgate.services.tokens import create_token as make

    token = make(workspace(), name, role)
    if as_json:
        print_json({"name": name, "role": role, "token": token})
        return 0
    err.print(f"Token {name!r} ({role}). It is shown once; store it now:", markup=False)
    out.print(token, markup=False)
    return 0


@token_app.command("list")
def list_tokens(as_json: bool = JsonOption) -> int:
    """Every token's name, role, when it was made and revoked (never the token or its hash)."""
    from driftgate.services.tokens import list_tokens as listed

    rows = listed(workspace())
    if as_json:
        print_json({"tokens": rows})
        return 0
    print_rows(
        ("name", "role", "created (UTC)", "revoked (UTC)"),
        ((str(r["name"]), str(r["role"]), _when(r["created_at"]), _when(r["revoked_at"])) for r in rows),
    )
    return 0


@token_app.command("revoke")
def revoke(name: str = typer.Argument(..., help="The token's name.")) -> int:
    """Revoke a token: the API refuses it from now on and its dashboard sessions end."""
    from driftgate.services.tokens import revoke_token

    revoke_token(workspace(), name)
    out.print(f"Revoked token {name!r}.", markup=False)
    return 0


def _when(ts: object) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%d %H:%M:%S") if ts else ""  # type: ignore[arg-type]


def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8080, "--port", min=0, max=65535),
) -> int:
    """Run the HTTP API and the dashboard (/ui/) (FastAPI on uvicorn)."""
    import uvicorn

    from driftgate.security.logs import configure_logging
    from driftgate.web import create_site

    configure_logging("INFO")
    uvicorn.run(create_site(workspace()), host=host, port=port, log_config=None, access_log=False)
    return 0


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def worker(
    workers: int = typer.Option(2, "--workers", min=1, max=64, help="Threads in this worker."),
) -> int:
    """Run the job queue consumer (several may run, on several machines)."""
    from driftgate.jobs.queue import default_jobs
    from driftgate.security.logs import configure_logging

    configure_logging("INFO")
    jobs = default_jobs()
    consumer = jobs.huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
    consumer.run()
    return 0


def register_worker(app: typer.Typer) -> None:
    app.command("worker")(worker)
