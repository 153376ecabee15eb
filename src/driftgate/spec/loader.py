"""Load a stack directory and validate it, collecting every problem at once.

The loader is pure: the kinds' attribute schemas come in through ``kinds``, a
lookup the caller builds from the provider registry.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from driftgate.errors import Problem, SpecError
from driftgate.security.limits import InputTooLarge, read_bounded
from driftgate.security.paths import canonical_path, check_canonical_path, check_relative_path
from driftgate.spec.graph import find_cycle
from driftgate.spec.model import (
    STACK_FILE,
    Module,
    ModuleSpec,
    Resource,
    ResourceSpec,
    Stack,
    StackSpec,
    address_of,
)
from driftgate.spec.refs import (
    check_secret_ref,
    is_secret_ref,
    iter_strings,
    malformed_interpolations,
    output_refs,
)
from driftgate.spec.schema import KindSchema
from driftgate.spec.yamlsafe import LoadedYaml, ParseCache, YamlError, YamlLimits, load_yaml_cached

KindLookup = Callable[[str], KindSchema | None]
M = TypeVar("M", bound=BaseModel)


Loc = tuple[str | int, ...]


class _Collector:
    """Problems found so far; locations inside a document become lines at the end."""

    def __init__(self, cache: ParseCache | None = None) -> None:
        self.cache = cache
        self.problems: list[Problem] = []
        self.documents: dict[str, LoadedYaml] = {}
        self._located: list[tuple[str, Loc, str, str]] = []

    def add(self, path: str, line: int, field: str, reason: str) -> None:
        self.problems.append(Problem(path, line, field, reason))

    def at(self, path: str, loc: Loc, field: str, reason: str) -> None:
        self._located.append((path, loc, field, reason))

    def finish(self) -> list[Problem]:
        for path, loc, field, reason in self._located:
            doc = self.documents.get(path)
            self.add(path, doc.line_of(loc) if doc else 0, field, reason)
        self._located.clear()
        return self.problems


def load_stack(
    directory: Path,
    *,
    kinds: KindLookup,
    providers: Iterable[str],
    limits: YamlLimits | None = None,
    cache: ParseCache | None = None,
    kind_names: Iterable[str] = (),
) -> Stack:
    """Load and validate the stack in ``directory``; raise SpecError listing every problem."""
    limits = limits or YamlLimits()
    out = _Collector(cache)
    if not (directory / STACK_FILE).is_file():  # say where it looked: the problem is the directory
        why = "no such directory" if not directory.is_dir() else f"no {STACK_FILE} in this directory"
        out.add(str(directory), 0, "directory", why)
        raise SpecError(out.finish())
    stack_spec = _load_model(directory, STACK_FILE, StackSpec, out, limits)
    if stack_spec is None:
        raise SpecError(out.finish())
    _check_commit_back(stack_spec, out)
    _check_plugin_blocks(stack_spec, out)
    modules = _load_modules(directory, stack_spec, out, limits)
    resources = _collect_resources(modules, out)
    _check_resources(resources, stack_spec, set(providers), kinds, out, kind_names=kind_names)
    modules, warnings = _data_bearing_is_stateful(modules, kinds, out)
    if out.finish():
        raise SpecError(out.finish())
    return Stack(
        directory=directory,
        spec=stack_spec,
        modules=tuple(modules),
        resources=resources,
        warnings=tuple(warnings),
    )


def read_stack_spec(directory: Path, *, limits: YamlLimits | None = None) -> StackSpec | None:
    """Only ``stack.yaml``, or None when it has problems (``load_stack`` reports them)."""
    return _load_model(directory, STACK_FILE, StackSpec, _Collector(None), limits or YamlLimits())


def _read_document(root: Path, relative: str, out: _Collector, limits: YamlLimits) -> dict[str, Any] | None:
    path = root / relative
    if not path.resolve().is_relative_to(root.resolve()):
        out.add(relative, 0, "file", "resolves outside the stack (a symlink?)")
        return None
    try:
        raw = read_bounded(path, limits.max_bytes)
    except InputTooLarge as exc:
        out.add(relative, 0, "file", str(exc))
        return None
    except OSError as exc:
        out.add(relative, 0, "file", f"cannot read: {exc.strerror}")
        return None
    try:
        loaded = load_yaml_cached(raw, limits=limits, cache=out.cache)
    except YamlError as exc:
        out.add(relative, exc.line, "yaml", exc.reason)
        return None
    if not isinstance(loaded.data, dict):
        out.add(relative, loaded.line_of(()), "document", "must be a mapping")
        return None
    out.documents[relative] = loaded
    return loaded.data


def _validate(model: type[M], data: Any, relative: str, prefix: Loc, out: _Collector) -> M | None:
    """The model, or None. Unknown top-level fields are reported once each and then set aside, so
    a resource with a typo in a field name is still known to everything that refers to it."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for err in errors:
            loc = (*prefix, *err["loc"])
            if err["type"] == "extra_forbidden":
                reason = "unknown field" + did_you_mean(str(err["loc"][-1]), model.model_fields)
            else:
                reason = _plain(err)
            out.at(relative, loc, _dotted(loc) or "document", reason)
        extra = {e["loc"][0] for e in errors if e["type"] == "extra_forbidden" and len(e["loc"]) == 1}
        if isinstance(data, dict) and extra and len(extra) == len(errors):
            try:
                return model.model_validate({k: v for k, v in data.items() if k not in extra})
            except ValidationError:
                return None
        return None


_WANTS = {  # pydantic's words for a wrong type, said as what the field wants
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "string_type": "expected text (quote it)",
    "list_type": "expected a list ([a, b] or one '- item' per line)",
    "dict_type": "expected a mapping (key: value)",
    "missing": "required: this field is missing",
}


def _plain(err: Any) -> str:
    """A validation error in the words of the file's reader, with the value that was given."""
    wants = _WANTS.get(str(err.get("type")))
    if wants is None:
        return str(err["msg"])
    given = err.get("input")
    return wants if err.get("type") == "missing" else f"{wants}, got {given!r}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean `x`?)`` for the closest known name, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _load_model(root: Path, relative: str, model: type[M], out: _Collector, limits: YamlLimits) -> M | None:
    data = _read_document(root, relative, out, limits)
    return None if data is None else _validate(model, data, relative, (), out)


def _load_module(
    root: Path, relative: str, out: _Collector, limits: YamlLimits
) -> tuple[ModuleSpec, tuple[int, ...]] | None:
    """Validate the module and each resource on its own, so one bad resource hides no other problem."""
    data = _read_document(root, relative, out, limits)
    if data is None:
        return None
    raw = data.get("resources", [])
    envelope = _validate(ModuleSpec, {**data, "resources": []}, relative, (), out)
    if not isinstance(raw, list):
        out.at(relative, ("resources",), "resources", "must be a list")
        return None
    valid = [_validate(ResourceSpec, r, relative, ("resources", i), out) for i, r in enumerate(raw)]
    if envelope is None:
        return None
    kept = [(i, r) for i, r in enumerate(valid) if r is not None]
    module = envelope.model_copy(update={"resources": [r for _, r in kept]})
    return module, tuple(i for i, _ in kept)


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _check_plugin_blocks(stack: StackSpec, out: _Collector) -> None:
    from driftgate.spec.plugins import block_problems

    for name, block in stack.providers.items():
        if "plugin" in block:
            for field, reason in block_problems(block):
                out.at(STACK_FILE, ("providers", name, field), f"providers.{name}.{field}", reason)


def _check_commit_back(stack: StackSpec, out: _Collector) -> None:
    policy = stack.commit_back
    if policy.path is not None and policy.path != ".":
        reason = check_relative_path(policy.path)
        if reason:
            out.at(
                STACK_FILE,
                ("commit_back", "path"),
                "commit_back.path",
                f"unsafe path {policy.path!r}: {reason}",
            )
    if policy.auth is not None:
        reason = (
            check_secret_ref(policy.auth) if is_secret_ref(policy.auth) else "must be a secret:// reference"
        )
        if reason:
            out.at(STACK_FILE, ("commit_back", "auth"), "commit_back.auth", reason)
    if policy.branch is not None and (".." in policy.branch or policy.branch.endswith((".lock", "/"))):
        out.at(STACK_FILE, ("commit_back", "branch"), "commit_back.branch", "not a valid branch name")


def module_specs(directory: Path, limits: YamlLimits | None = None) -> list[ModuleSpec]:
    """The stack's modules as their files say (name, stateful, drift policy), without the kinds or
    providers checks (for read-only views); the modules that parse, problems left out."""
    out = _Collector()
    limits = limits or YamlLimits()
    stack_spec = _load_model(directory, STACK_FILE, StackSpec, out, limits)
    if stack_spec is None:
        return []
    found = (_load_module(directory, rel, out, limits) for rel in _module_files(directory, stack_spec, out))
    return [spec for spec, _ in filter(None, found)]


def _module_files(directory: Path, stack: StackSpec, out: _Collector) -> list[str]:
    files: list[str] = []
    for index, entry in enumerate(stack.modules):
        reason = check_relative_path(entry)
        if reason is not None:
            out.at(
                STACK_FILE,
                ("modules", index),
                f"modules[{index}]",
                f"unsafe path {entry!r}: {reason}",
            )
            continue
        target = directory / entry
        if not target.resolve().is_relative_to(directory.resolve()):
            out.at(
                STACK_FILE,
                ("modules", index),
                f"modules[{index}]",
                f"{entry!r} resolves outside the stack",
            )
        elif target.is_dir():
            found = sorted(p for p in target.iterdir() if p.suffix in (".yaml", ".yml"))
            for path in found:
                if path.resolve().is_relative_to(directory.resolve()):
                    files.append(str(path.relative_to(directory)))
                else:
                    out.at(
                        STACK_FILE,
                        ("modules", index),
                        f"modules[{index}]",
                        f"{path.relative_to(directory)} resolves outside the stack (a symlink?)",
                    )
        elif target.is_file():
            files.append(entry)
        else:
            out.at(STACK_FILE, ("modules", index), f"modules[{index}]", f"{entry!r} does not exist")
    return files


def _load_modules(directory: Path, stack: StackSpec, out: _Collector, limits: YamlLimits) -> list[Module]:
    modules: list[Module] = []
    seen: dict[str, str] = {}
    for relative in _module_files(directory, stack, out):
        found = _load_module(directory, relative, out, limits)
        if found is None:
            continue
        spec, indices = found
        if spec.name in seen:
            out.at(
                relative,
                ("name",),
                "name",
                f"duplicate module name {spec.name!r} (also in {seen[spec.name]})",
            )
            continue
        seen[spec.name] = relative
        if spec.drift == "heal" and spec.stateful:
            out.at(
                relative, ("drift",), "drift", "heal is not allowed on a stateful module (use pr or ignore)"
            )
        modules.append(Module(spec=spec, source=relative, indices=indices))
    return modules


def _data_bearing_is_stateful(
    modules: list[Module], kinds: KindLookup, out: _Collector
) -> tuple[list[Module], list[str]]:
    """A module holding a kind its provider calls data-bearing (it holds data an apply can destroy)
    is gated as stateful, whatever its file says: the provider author's knowledge protects the user."""
    gated: list[Module] = []
    warnings: list[str] = []
    for module in modules:
        bearing = next(
            (r.type for r in module.spec.resources if (k := kinds(r.type)) is not None and k.data_bearing),
            None,
        )
        if bearing is None or module.spec.stateful:
            gated.append(module)
            continue
        if module.spec.drift == "heal":
            out.at(module.source, ("drift",), "drift", f"heal is not allowed: {bearing} is data-bearing")
        warnings.append(
            f"{module.source}: module {module.name!r} holds {bearing}, which its provider marks data-bearing;"
            " it is gated as stateful (write stateful: true to say so)"
        )
        spec = module.spec.model_copy(update={"stateful": True})
        gated.append(Module(spec=spec, source=module.source, indices=module.indices))
    return gated, warnings


def _is_data_bearing(kinds: KindLookup, type_: str) -> bool:
    kind = kinds(type_)
    return kind is not None and kind.data_bearing


def _collect_resources(modules: list[Module], out: _Collector) -> dict[str, Resource]:
    resources: dict[str, Resource] = {}
    for module in modules:
        for index, res in zip(module.indices, module.spec.resources, strict=True):
            address = address_of(module.name, res.type, res.name)
            if address in resources:
                out.at(module.source, ("resources", index, "name"), address, "duplicate address")
                continue
            resources[address] = Resource(
                address=address,
                module=module.name,
                type=res.type,
                name=res.name,
                spec=res.spec,
                depends_on=tuple(_qualify(d, module.name) for d in res.depends_on),
                source=module.source,
                index=index,
            )
    return resources


def _qualify(reference: str, module: str) -> str:
    return reference if "/" in reference else f"{module}/{reference}"


def _check_resources(
    resources: dict[str, Resource],
    stack: StackSpec,
    providers: set[str],
    kinds: KindLookup,
    out: _Collector,
    *,
    kind_names: Iterable[str],
) -> None:
    edges: dict[str, list[str]] = {}
    objects: dict[tuple[str, str], str] = {}
    for res in resources.values():
        where = (res.source, _loc(res, "type"), f"{res.address}.type")
        if res.provider not in providers:
            out.at(*where, f"unknown provider {res.provider!r}" + did_you_mean(res.provider, providers))
        elif res.provider not in stack.providers:
            out.at(*where, f"provider {res.provider!r} is not configured in {STACK_FILE}")
        schema = kinds(res.type)
        if schema is None and res.provider in providers:
            out.at(*where, f"unknown resource type {res.type!r}" + did_you_mean(res.type, kind_names))
        if schema is not None:
            _check_attributes(res, schema, out)
            _check_same_object(res, schema, objects, out)
        edges[res.address] = _check_references(res, resources, kinds, out)
    cycle = find_cycle(edges)
    if cycle:
        first = resources[cycle[0]]
        out.at(
            first.source,
            _loc(first, "depends_on"),
            first.address,
            "dependency cycle: " + " -> ".join(cycle),
        )


def _check_attributes(res: Resource, schema: KindSchema, out: _Collector) -> None:
    for key, value in res.spec.items():
        attr = schema.attributes.get(key)
        field = f"{res.address}.spec.{key}"
        loc = _loc(res, "spec", key)
        if attr is None:
            out.at(res.source, loc, field, "unknown field" + did_you_mean(key, schema.attributes))
            continue
        if is_secret_ref(value) or (isinstance(value, str) and output_refs(value, res.module)):
            continue
        error = attr.type_error(value)
        if error:
            out.at(res.source, loc, field, error)
        elif attr.path and isinstance(value, str):
            reason = check_canonical_path(value)
            if reason:
                out.at(res.source, loc, field, f"unsafe path {ascii(value)}: {reason}")
    for key, attr in schema.attributes.items():
        if attr.required and key not in res.spec:
            out.at(
                res.source,
                _loc(res, "spec"),
                f"{res.address}.spec.{key}",
                "required field is missing",
            )


def _check_same_object(
    res: Resource, schema: KindSchema, objects: dict[tuple[str, str], str], out: _Collector
) -> None:
    """Two resources of one provider whose paths name the same live object would fight over it."""
    for key, attr in schema.attributes.items():
        value = res.spec.get(key)
        if not attr.path or not isinstance(value, str) or is_secret_ref(value) or "${" in value:
            continue
        identity = (res.provider, canonical_path(value))
        first = objects.setdefault(identity, res.address)
        if first != res.address:
            out.at(
                res.source,
                _loc(res, "spec", key),
                f"{res.address}.spec.{key}",
                f"names the same live object as {first} ({value!r})",
            )


def _check_references(
    res: Resource, resources: dict[str, Resource], kinds: KindLookup, out: _Collector
) -> list[str]:
    targets: list[str] = []
    for dep in res.depends_on:
        if dep not in resources:
            out.at(
                res.source,
                _loc(res, "depends_on"),
                f"{res.address}.depends_on",
                f"unknown resource {dep}" + did_you_mean(dep, resources),
            )
        else:
            targets.append(dep)
    for loc, text in iter_strings(res.spec):
        field = f"{res.address}.spec.{_dotted(loc)}"
        where = (res.source, _loc(res, "spec", *loc), field)
        if is_secret_ref(text):
            reason = check_secret_ref(text)
            if reason:
                out.at(*where, reason)
            continue
        for bad in malformed_interpolations(text):
            out.at(*where, f"malformed reference {bad}")
        for ref in output_refs(text, res.module):
            target = resources.get(ref.address)
            if target is None:
                out.at(
                    *where,
                    f"reference to unknown resource {ref.address}"
                    + did_you_mean(ref.address, (a for a in resources if a != res.address)),  # never itself
                )
                continue
            schema = kinds(target.type)
            if schema is not None and not _declares_output(schema, ref.output):
                out.at(*where, f"{target.type} has no output {ref.output!r}")
            targets.append(ref.address)
    return targets


def resource_dependencies(res: Resource) -> list[str]:
    """Explicit ``depends_on`` plus every resource referenced from the spec."""
    deps = list(res.depends_on)
    for _, text in iter_strings(res.spec):
        deps.extend(r.address for r in output_refs(text, res.module))
    return list(dict.fromkeys(deps))


def _loc(res: Resource, *rest: str | int) -> Loc:
    return ("resources", res.index, *rest)


def _declares_output(schema: KindSchema, output: str) -> bool:
    return output in schema.outputs or (
        bool(schema.output_prefixes) and output.startswith(schema.output_prefixes)
    )
