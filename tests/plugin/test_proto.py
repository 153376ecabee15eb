"""The committed Python code of the provider protocol is what its .proto generates."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ("provider_pb2.py", "provider_pb2.pyi", "provider_pb2_grpc.py", "provider_pb2_grpc.pyi")


def test_regenerating_changes_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(
        [str(ROOT / "scripts" / "gen-proto"), str(tmp_path)], check=True, capture_output=True, env=env
    )
    for name in GENERATED:
        fresh = tmp_path / "driftgate" / "plugin" / "proto" / name
        committed = ROOT / "src" / "driftgate" / "plugin" / "proto" / name
        assert fresh.read_text() == committed.read_text(), f"{name} differs: run scripts/gen-proto"
