"""``driftgate local-forge``: run the forge stand-in (GitHub, Gitea, Forgejo or GitLab) for demos and
local experiments."""

from pathlib import Path

import typer

from driftgate.cli.common import out


def local_forge(
    root: Path = typer.Option(Path("local-forge"), "--root", help="Where its bare repositories live."),
    port: int = typer.Option(0, "--port", min=0, max=65535, help="Port on 127.0.0.1 (0: any free port)."),
    repo: list[str] = typer.Option(["infra"], "--repo", help="Repositories to create (repeatable)."),
    kind: str = typer.Option(
        "github", "--kind", help="The REST API it answers: github, gitea, forgejo or gitlab."
    ),
    fault: list[str] = typer.Option(
        [],
        "--fault",
        help="Answer matching requests with a fault (repeatable), e.g. 'POST /repos/*/pulls 503 x3', "
        "'GET /repos/* 429 retry-after=2', '* /repos/* 403 secondary', "
        "'POST /repos/*/pulls 200 delay=5'.",
    ),
) -> int:
    """Serve git over smart HTTP and a forge's REST subset (GitHub's /api/v3, Gitea's and Forgejo's
    /api/v1, or GitLab's /api/v4) on 127.0.0.1 until Ctrl-C."""
    import secrets
    import signal
    import time

    from driftgate.errors import INVALID_INPUT, CodedError
    from driftgate.localforge import LocalForge, parse_fault

    try:
        faults = [parse_fault(text) for text in fault]
    except ValueError as exc:
        raise CodedError(INVALID_INPUT, f"--fault: {exc}") from None

    # Stop on Ctrl-C and on SIGTERM even when started with SIGINT ignored (a background job of
    # a non-interactive shell inherits that, and Python then installs no Ctrl-C handler).
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, signal.default_int_handler)
    root.mkdir(parents=True, exist_ok=True)
    from driftgate.localforge.forge import KINDS

    if kind not in KINDS:
        raise CodedError(INVALID_INPUT, f"--kind: one of {', '.join(KINDS)}, not {kind!r}")
    token_file = root / "token"
    if not token_file.exists():  # a token shaped like the forge's own
        shapes = {"github": "ghp_" + secrets.token_hex(18), "gitlab": "glpat-" + secrets.token_urlsafe(15)}
        token_file.write_text(shapes.get(kind, secrets.token_hex(20)) + "\n")
        token_file.chmod(0o600)
    forge = LocalForge(root.resolve(), token=token_file.read_text().strip(), port=port, kind=kind)
    forge.adopt_existing()
    forge.inject(*faults)
    forge.start()
    try:
        for name in repo:
            url = forge.repo_url(name) if forge.repo_path(name).exists() else forge.create_repo(name)
            out.print(f"repository {url}", markup=False)
        out.print(
            f"API base {forge.api_url}; token in {token_file} (use it as secret://file/... or an env var)"
        )
        out.print("Press Ctrl-C to stop.")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        forge.stop()


def register(app: typer.Typer) -> None:
    app.command("local-forge")(local_forge)
