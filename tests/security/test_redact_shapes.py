"""The token shapes the redactor knows without being told (forge tokens, AWS key ids), alone and
inside longer text — and what it must leave alone (a git commit id is 40 hex too)."""

from __future__ import annotations

import pytest

from driftgate.security.redact import REDACTED, Redactor

# A fresh redactor: the process-wide one also holds every value other tests registered as secrets
# (a short one may sit inside the commit id below), and this file is about the fixed shapes alone.
redact = Redactor().redact

SHAPES = [
    "ghp_" + "a1B2" * 9,  # GitHub classic
    "gho_" + "Z" * 36,
    "github_pat_" + "x1_" * 20,  # GitHub fine-grained
    "glpat-" + "AbCd_-" * 4,  # GitLab personal/project access token
    "gloas-" + "0f" * 16,  # GitLab OAuth application secret
    "AKIA" + "ABCDEFGHIJKLMNOP",  # AWS access key ids
    "ASIA" + "QRSTUVWXYZ234567",
]


@pytest.mark.parametrize("token", SHAPES)
def test_known_token_shapes_are_redacted_even_inside_longer_text(token: str) -> None:
    text = f"remote said: auth failed for {token}; retrying"
    assert token not in redact(text) and REDACTED in redact(text)
    assert redact(token) == REDACTED


def test_commit_ids_and_ordinary_words_are_left_alone() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    text = f"pushed {sha} to glpat (a branch) and ghp (another)"
    assert redact(text) == text


HEX = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"  # 40 hex: a Gitea/Forgejo token, or a commit id


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: token {HEX}",
        f"authorization: Bearer {HEX}",
        f'{{"token": "{HEX}"}}',
        f"PRIVATE-TOKEN: {HEX}",
        f"password={HEX}",
        f"fatal: unable to access 'https://driftgate:{HEX}@gitea.example/acme/infra.git/'",
    ],
)
def test_a_gitea_token_is_redacted_where_a_credential_stands(text: str) -> None:
    assert HEX not in redact(text) and REDACTED in redact(text)


def test_the_same_hex_as_a_commit_id_is_left_alone() -> None:
    text = f"commit {HEX} pushed to https://gitea.example/acme/infra.git (tree {HEX[::-1]})"
    assert redact(text) == text
