"""``driftgate init``: scaffold a config repository with one stack that teaches the format."""

from __future__ import annotations

import re
from pathlib import Path

from driftgate.errors import TerminalError
from driftgate.gitops.gitcmd import commit_all, init_repo
from driftgate.spec.refs import NAME_PATTERN

STACK_YAML = """\
# A driftgate stack: a directory of a config repo that driftgate plans and applies.
# Format reference: the "Spec format" section of driftgate's README.
apiVersion: driftgate/v1
kind: Stack
# The stack's name is its identity in the state store: unique per store.
# Names use letters, digits, '_' and '-'.
name: {name}
description: A starter stack scaffolded by `driftgate init`.
# Every provider that a resource uses must be configured here.
providers:
  file:
    # Where file.* resources are written. Relative paths are relative to this
    # directory; resource paths can never escape it (no '..', no symlinks out).
    root: live
  data: {{}}
# Module files, or directories whose *.yaml files are all modules.
modules:
  - modules
"""

APP_YAML = """\
# A module is a named group of resources: the unit of gating and backup.
apiVersion: driftgate/v1
kind: Module
name: app
# stateful: true marks data an apply can destroy (databases, volumes);
# such modules are never auto-applied.
stateful: false
resources:
  # A resource's address is <module>/<type>.<name>, here app/data.value.greeting.
  - type: data.value
    name: greeting
    spec:
      input: hello from driftgate

  - type: file.directory
    name: site
    spec:
      path: site

  - type: file.file
    name: index
    # depends_on orders actions explicitly (same module: <type>.<name>;
    # another module: <module>/<type>.<name>).
    depends_on: [file.directory.site]
    spec:
      path: site/index.html
      # ${{<type>.<name>.<output>}} references another resource's output; it is
      # resolved at apply time and adds an implicit dependency. Write $${{ for a literal.
      content: "<h1>${{data.value.greeting.output}}</h1>\\n"
      mode: "0644"
"""

CONFIG_YAML = """\
apiVersion: driftgate/v1
kind: Module
name: config
stateful: false
resources:
  - type: file.file
    name: settings
    spec:
      path: config/settings.env
      # Outputs of other modules: ${{<module>/<type>.<name>.<output>}}.
      content: "GREETING_SHA256=${{app/file.file.index.sha256}}\\n"
      # Secrets are never written in specs. Reference them instead and they are
      # resolved only when applied, and shown and committed as the reference:
      #   content: secret://env/DRIFTGATE_SECRET_API_TOKEN  (an environment variable)
      #   content: secret://file/api-token       (a file under the secrets directory)
"""

GITIGNORE = "# Files the file provider writes (the live state), not specs.\nlive/\n"


def check_stack_name(name: str) -> None:
    """Refuse a name that stack.yaml would refuse (no path, no newline, no YAML of its own)."""
    if not re.fullmatch(NAME_PATTERN, name) or len(name) > 64:
        raise TerminalError(
            f"invalid stack name {name!r}: use 1 to 64 letters, digits, '_' and '-', "
            "starting with a letter, digit or '_'"
        )


def default_stack_name(directory: Path) -> str:
    """A name from the directory's own name, so two new repositories do not share one."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", directory.resolve().name).strip("-")[:64] or "stack"
    return base if re.match(r"[A-Za-z0-9_]", base) else f"s{base}"[:64]


def scaffold_repo(directory: Path, *, name: str = "demo") -> list[Path]:
    """Create a git repository with one stack; refuse a non-empty directory or an invalid name."""
    check_stack_name(name)
    if directory.exists() and any(directory.iterdir()):
        raise TerminalError(f"{directory}: directory is not empty; choose a new or empty directory")
    files = {
        directory / "stack.yaml": STACK_YAML.format(name=name),
        directory / "modules" / "app.yaml": APP_YAML.format(),
        directory / "modules" / "config.yaml": CONFIG_YAML.format(),
        directory / ".gitignore": GITIGNORE,
    }
    init_repo(directory)
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    commit_all(directory, f"Scaffold driftgate stack {name!r}")
    return list(files)
