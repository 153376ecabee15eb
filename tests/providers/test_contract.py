from __future__ import annotations

from pathlib import Path

import pytest

from driftgate.errors import ProviderConfigError, ProviderError
from driftgate.providers.base import Provider, ProviderContext
from driftgate.providers.data import DataProvider
from driftgate.providers.file import FileProvider
from driftgate.providers.registry import default_registry
from driftgate.testing.chaos import ChaosProvider
from driftgate.testing.provider_contract import ContractCase, check_provider_contract


def configured(provider: Provider, tmp_path: Path, config: dict[str, object]) -> Provider:
    provider.configure(config, ProviderContext(stack_dir=tmp_path))
    return provider


CASES = [
    (
        FileProvider,
        {"root": "live"},
        ContractCase(
            "file.file",
            "f",
            {"path": "a/b.txt", "content": "x"},
            changed={"content": "y", "mode": "0600"},
            import_id="a/b.txt",
        ),
    ),
    (
        FileProvider,
        {"root": "live"},
        ContractCase("file.directory", "d", {"path": "dir"}, changed={"mode": "0700"}, import_id="dir"),
    ),
    (
        DataProvider,
        {},
        ContractCase("data.value", "v", {"input": {"k": [1, 2]}}, changed={"input": "new"}, live_world=False),
    ),
    (
        ChaosProvider,
        {"root": "live"},
        ContractCase(
            "chaos.file", "c", {"path": "c.txt", "content": "x"}, changed={"content": "z"}, import_id="c.txt"
        ),
    ),
]


@pytest.mark.parametrize(("factory", "config", "case"), CASES, ids=[c[2].type for c in CASES])
def test_provider_contract(
    factory: type, config: dict[str, object], case: ContractCase, tmp_path: Path
) -> None:
    check_provider_contract(configured(factory(), tmp_path, config), case)


def test_file_provider_cannot_escape_its_root_through_a_symlink(tmp_path: Path) -> None:
    provider = configured(FileProvider(), tmp_path, {"root": "live"})
    (tmp_path / "live").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "live" / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(ProviderError, match="resolves outside"):
        provider.create("file.file", "f", {"path": "link/x.txt", "content": "pwned", "mode": "0644"})
    assert not (tmp_path / "outside" / "x.txt").exists()
    with pytest.raises(ProviderError, match="must not contain"):
        provider.create("file.file", "f", {"path": "../x.txt", "content": "pwned", "mode": "0644"})


def test_file_provider_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ProviderConfigError, match="'root' is required"):
        configured(FileProvider(), tmp_path, {})
    with pytest.raises(ProviderConfigError, match="unknown field"):
        configured(FileProvider(), tmp_path, {"root": "x", "colour": 1})


def test_non_empty_directory_delete_fails_cleanly(tmp_path: Path) -> None:
    provider = configured(FileProvider(), tmp_path, {"root": "live"})
    provider.create("file.directory", "d", {"path": "d", "mode": "0755"})
    provider.create("file.file", "f", {"path": "d/f", "content": "", "mode": "0644"})
    with pytest.raises(ProviderError, match="cannot delete"):
        provider.delete("file.directory", {"path": "d"}, {})


def test_registry_has_builtins_and_loads_plugins() -> None:
    registry = default_registry(["driftgate.testing.chaos:ChaosProvider"])
    assert {"file", "data", "chaos"} <= set(registry.names)
    assert registry.kind("chaos.file") is not None
    with pytest.raises(ProviderConfigError, match="cannot load provider plugin"):
        default_registry(["no.such.module:Thing"])


def test_file_provider_refuses_a_file_that_is_a_symlink_out_of_the_root(tmp_path: Path) -> None:
    provider = configured(FileProvider(), tmp_path, {"root": "live"})
    (tmp_path / "live").mkdir()
    (tmp_path / "secret.txt").write_text("outside")
    (tmp_path / "live" / "innocent.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(ProviderError, match="resolves outside"):
        provider.create("file.file", "f", {"path": "innocent.txt", "content": "pwned", "mode": "0644"})
    with pytest.raises(ProviderError, match="resolves outside"):
        provider.import_resource("file.file", "innocent.txt")
    assert (tmp_path / "secret.txt").read_text() == "outside"
    assert provider.list_ids("file.file") == set()  # a symlink is not a managed-looking file
