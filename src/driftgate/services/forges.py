"""Which forge serves a repository: the one the config names, a well-known host's, or the one its
host's API answers as — asked once per host and recorded in the store."""

from __future__ import annotations

from driftgate import forge
from driftgate.services.workspace import Workspace
from driftgate.store import forges as forges_db


def forge_kind(ws: Workspace, url: str, token: str | None, given: str | None = None) -> str:
    """The forge kind for ``url`` (checked either way): ``given``, else github.com's, gitlab.com's or
    codeberg.org's, else the one recorded for the host, else the host's answer (then recorded)."""
    known = forge.known_kind(url)
    if given is not None:
        return forge.check_kind(given)
    if known is not None:
        return known
    host = forge.host_of(url)
    with ws.transaction() as conn:
        recorded = forges_db.recorded_kind(conn, host)
    if recorded is not None:
        return recorded
    kind = forge.probe_kind(url, token)
    with ws.transaction() as conn:
        forges_db.record_kind(conn, host, kind)
    return kind
