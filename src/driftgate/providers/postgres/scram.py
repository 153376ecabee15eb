"""SCRAM-SHA-256 verifiers (RFC 5802, RFC 7677), as PostgreSQL stores them in ``pg_authid``.

A role's password is sent to the server already hashed (``PASSWORD 'SCRAM-SHA-256$…'``), like
``psql``'s ``\\password``: the plaintext never appears in a statement, a log or
``pg_stat_activity``. Reading back, a superuser connection can tell whether a secret still matches
the stored verifier without the server ever returning the password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

ITERATIONS = 4096  # PostgreSQL's default scram_iterations


def _keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return hashlib.sha256(client_key).digest(), server_key


def verifier(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt or os.urandom(16)
    stored, server = _keys(password, salt, iterations)
    b64 = base64.b64encode
    return f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}${b64(stored).decode()}:{b64(server).decode()}"


def matches(password: str, stored_verifier: str | None) -> bool:
    """Whether ``password`` is the one ``stored_verifier`` (from ``pg_authid``) was made from."""
    if not stored_verifier or not stored_verifier.startswith("SCRAM-SHA-256$"):
        return False
    try:
        params, keys = stored_verifier[len("SCRAM-SHA-256$") :].split("$", 1)
        iterations, salt = params.split(":", 1)
        stored, server = (base64.b64decode(k) for k in keys.split(":", 1))
        mine_stored, mine_server = _keys(password, base64.b64decode(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(stored, mine_stored) and hmac.compare_digest(server, mine_server)
