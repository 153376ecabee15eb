"""The real ``terraform`` binary. No registry ships it, so the setup cannot install it: without it
these tests are skipped, with one line in the summary saying so — except under CI, where a
missing binary fails them (a CI run must not pass by skipping them)."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest

MISSING = "terraform is not on PATH (no registry ships it): the Terraform provider's tests did not run"


@pytest.fixture
def terraform() -> str:
    found = shutil.which(os.environ.get("DRIFTGATE_TEST_TERRAFORM", "terraform"))
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(MISSING + " — and CI needs them")
        pytest.skip(MISSING)
    return found


def write_root(directory: Path, source: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "main.tf").write_text(textwrap.dedent(source))
    return directory
