"""The store's schema: the head revision the code expects is the newest migration."""

from __future__ import annotations

import re

from driftgate.store.db import HEAD_REVISION, MIGRATIONS


def test_head_revision_is_the_newest_migration() -> None:
    revisions = [
        re.search(r'^revision = "(\d+)"', p.read_text(), re.M).group(1)  # type: ignore[union-attr]
        for p in (MIGRATIONS / "versions").glob("0*.py")
    ]
    assert HEAD_REVISION == max(revisions)
