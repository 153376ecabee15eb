"""The provider manifest: what a provider says of itself, checked before anything of it is used.

A manifest is JSON (any language can write it), validated against ``manifest.schema.json``, which
ships with driftgate. An invalid manifest, a protocol major driftgate does not speak, a
``min_engine_version`` above driftgate's own, or a version outside the stack's constraint is
refused with one line; nothing of a refused manifest is used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from driftgate import __version__
from driftgate.errors import ProviderConfigError
from driftgate.providers.base import (
    CAP_BACKUP,
    CAP_BATCH_APPLY,
    CAP_BATCH_READ,
    CAP_IMPORT,
    CAP_LIST,
    CAP_READ,
    PER_ACTION,
    Provider,
)
from driftgate.spec.schema import AttributeSchema, Containment, KindSchema

PROTOCOL_MAJOR = 2
PROTOCOL_MINOR = 2  # 2.1: CheckBackup; 2.2: ValidateResourceConfig.unknown
MAX_MANIFEST = 4 * 1024 * 1024
_CAPABILITIES = {
    "list": CAP_LIST,
    "import": CAP_IMPORT,
    "backup": CAP_BACKUP,
    "batch_read": CAP_BATCH_READ,
    "batch_apply": CAP_BATCH_APPLY,
}


class PluginRefused(ProviderConfigError):
    """A plugin driftgate will not use: incompatible, or its manifest is not valid."""


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    protocol: tuple[int, int]
    min_engine_version: str | None
    kinds: Mapping[str, KindSchema]
    capabilities: frozenset[str]
    apply_modes: tuple[str, ...]
    samples: Mapping[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)
    document: Mapping[str, Any] = field(default_factory=dict)


@cache
def _validator() -> Draft202012Validator:
    text = resources.files("driftgate.plugin").joinpath("manifest.schema.json").read_text()
    return Draft202012Validator(json.loads(text))


def parse_manifest(text: str, *, source: str) -> Manifest:
    """The manifest in ``text``, from the plugin ``source`` (named in every refusal)."""
    if len(text) > MAX_MANIFEST:
        raise PluginRefused(f"{source}: the manifest is over {MAX_MANIFEST} bytes")
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise PluginRefused(f"{source}: the manifest is not JSON ({exc})") from None
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top)"
        raise PluginRefused(f"{source}: invalid manifest at {where}: {first.message}")
    manifest = _from_document(document)
    check_compatible(manifest, source=source)
    return manifest


def check_compatible(manifest: Manifest, *, source: str) -> None:
    major, minor = manifest.protocol
    if major != PROTOCOL_MAJOR:
        raise PluginRefused(
            f"{source}: speaks provider protocol {major}.{minor}; this driftgate speaks "
            f"{PROTOCOL_MAJOR}.{PROTOCOL_MINOR}"
        )
    needed = manifest.min_engine_version
    if needed is not None and _version(needed, source, "min_engine_version") > Version(__version__):
        raise PluginRefused(f"{source}: needs driftgate {needed} or newer; this is driftgate {__version__}")
    foreign = [t for t in manifest.kinds if not t.startswith(manifest.name + ".")]
    if foreign:
        raise PluginRefused(f"{source}: provider {manifest.name!r} declares foreign kind {foreign[0]!r}")


def check_version(manifest: Manifest, constraint: str | None, *, source: str) -> None:
    """The stack's ``version:`` constraint (PEP 440 specifiers, e.g. ``>=1.0,<2``)."""
    if not constraint:
        return
    try:
        wanted = SpecifierSet(constraint)
    except InvalidSpecifier:
        raise ProviderConfigError(f"{source}: version constraint {constraint!r} is not valid") from None
    if _version(manifest.version, source, "version") not in wanted:
        raise PluginRefused(f"{source}: is version {manifest.version}; the stack asks for {constraint}")


def _version(text: str, source: str, name: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise PluginRefused(f"{source}: manifest {name} {text!r} is not a version") from None


def _from_document(document: dict[str, Any]) -> Manifest:
    caps = document["capabilities"]
    capabilities = {CAP_READ} | {ours for key, ours in _CAPABILITIES.items() if caps.get(key)}
    kinds = {k["type"]: _kind(k) for k in document["kinds"]}
    return Manifest(
        name=document["name"],
        version=document["version"],
        protocol=(document["protocol"]["major"], document["protocol"]["minor"]),
        min_engine_version=document.get("min_engine_version"),
        kinds=kinds,
        capabilities=frozenset(capabilities),
        apply_modes=tuple(caps["apply_modes"]),
        samples={k["type"]: tuple(k.get("samples", ())) for k in document["kinds"]},
        document=document,
    )


def _kind(raw: dict[str, Any]) -> KindSchema:
    return KindSchema(
        type=raw["type"],
        attributes={name: AttributeSchema(**spec) for name, spec in raw["attributes"].items()},
        outputs=tuple(raw.get("outputs", ())),
        description=raw.get("description", ""),
        sensitive_outputs=frozenset(raw.get("sensitive_outputs", ())),
        data_bearing=bool(raw.get("data_bearing", False)),
        virtual=bool(raw.get("virtual", False)),
        contained_in=tuple(
            Containment(c["kind"], tuple(sorted(c["match"].items()))) for c in raw.get("contained_in", ())
        ),
        data_bearing_when=raw.get("data_bearing_when"),
    )


def _attribute(schema: AttributeSchema) -> dict[str, Any]:
    out: dict[str, Any] = {"type": schema.type}
    for name in ("required", "force_new", "sensitive", "path"):
        if getattr(schema, name):
            out[name] = True
    if schema.default is not None:
        out["default"] = schema.default
    if schema.description:
        out["description"] = schema.description
    return out


def manifest_of(
    provider: Provider,
    *,
    version: str = __version__,
    samples: Mapping[str, list[dict[str, Any]]] | None = None,
    apply_modes: tuple[str, ...] = (PER_ACTION,),
) -> dict[str, Any]:
    """The manifest document of a Python provider (what ``driftgate.plugin.serve`` answers)."""
    kinds = []
    for schema in provider.kinds().values():
        kind: dict[str, Any] = {
            "type": schema.type,
            "attributes": {name: _attribute(a) for name, a in schema.attributes.items()},
            "outputs": list(schema.outputs),
        }
        if schema.description:
            kind["description"] = schema.description
        if schema.sensitive_outputs:
            kind["sensitive_outputs"] = sorted(schema.sensitive_outputs)
        if schema.data_bearing:
            kind["data_bearing"] = True
        if schema.virtual:
            kind["virtual"] = True
        if schema.contained_in:
            kind["contained_in"] = [{"kind": c.kind, "match": dict(c.match)} for c in schema.contained_in]
        if schema.data_bearing_when:
            kind["data_bearing_when"] = schema.data_bearing_when
        if samples and samples.get(schema.type):
            kind["samples"] = samples[schema.type]
        kinds.append(kind)
    caps = provider.capabilities
    return {
        "name": provider.name,
        "version": version,
        "protocol": {"major": PROTOCOL_MAJOR, "minor": PROTOCOL_MINOR},
        "min_engine_version": "0.1.0",
        "kinds": kinds,
        "capabilities": {
            "list": CAP_LIST in caps,
            "import": CAP_IMPORT in caps,
            "backup": CAP_BACKUP in caps,
            "batch_read": True,
            "batch_apply": True,
            "apply_modes": list(apply_modes),
        },
    }
