"""Build a Plan from the loaded stack, the recorded state and (optionally) live state."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from driftgate.errors import DriftgateError, StackLockedError
from driftgate.plan.model import SENSITIVE, UNKNOWN, Action, ActionKind, AttributeChange, Plan
from driftgate.plan.state import RecordedResource
from driftgate.providers.base import EXPANSION_TOKEN, Observed, Provider
from driftgate.spec.graph import topological_order
from driftgate.spec.loader import resource_dependencies
from driftgate.spec.model import Resource, Stack
from driftgate.spec.refs import OutputRef, SecretResolver, holds_secret, secret_refs_in, substitute_outputs
from driftgate.spec.schema import KindSchema

# Module-level aliases: enum attribute access is slow in hot loops (Python 3.11).
_CREATE = ActionKind.CREATE
_DELETE = ActionKind.DELETE
_NOOP = ActionKind.NOOP
_REPLACE = ActionKind.REPLACE
_UPDATE = ActionKind.UPDATE


class _Unknown(Exception):
    """A referenced output is not known until apply."""


_UNKNOWN = object()


def spec_digest(stack: Stack) -> str:
    """A digest of everything the plan was computed from on the spec side."""
    doc = {
        "providers": stack.spec.providers,
        "stateful": sorted(m.name for m in stack.modules if m.spec.stateful),
        "resources": [[r.address, r.spec, list(r.depends_on)] for r in stack.resources.values()],
    }
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class _Context:
    stack: Stack | None
    recorded: Mapping[str, RecordedResource]
    providers: Mapping[str, Provider]
    kinds: Mapping[str, KindSchema]
    secrets: SecretResolver
    refresh: bool
    decided: dict[str, ActionKind]
    errors: list[str]
    live: Mapping[str, Observed | None | DriftgateError] = field(default_factory=dict)


Live = Observed | None | DriftgateError


def read_live(
    records: Iterable[RecordedResource], providers: Mapping[str, Provider], secrets: SecretResolver
) -> dict[str, Live]:
    """The live state of each record (or why it could not be read), a provider at a time: one
    ``read_many`` call each, so a plugin reads in batches instead of one call per resource.
    Records whose provider is not configured are left out (the caller reports them)."""
    found: dict[str, Live] = {}
    batches: dict[str, list[tuple[RecordedResource, dict[str, Any]]]] = {}
    for rec in records:
        if rec.type.split(".", 1)[0] not in providers:
            continue
        try:
            batches.setdefault(rec.type.split(".", 1)[0], []).append(
                (rec, secrets.resolve_all(rec.attributes))
            )
        except DriftgateError as exc:
            found[rec.address] = exc
    for name, batch in batches.items():
        provider = providers[name]
        try:
            results: list[Live] = list(provider.read_many([(r.type, a, r.outputs) for r, a in batch]))
        except DriftgateError:
            results = [_read_one(provider, r, a) for r, a in batch]  # place each failure on its resource
        found.update((rec.address, result) for (rec, _), result in zip(batch, results, strict=True))
    return found


def _read_one(provider: Provider, rec: RecordedResource, attributes: dict[str, Any]) -> Live:
    try:
        return provider.read(rec.type, attributes, rec.outputs)
    except DriftgateError as exc:
        return exc


def build_plan(
    stack: Stack,
    *,
    recorded: Mapping[str, RecordedResource],
    providers: Mapping[str, Provider],
    secrets: SecretResolver,
    refresh: bool,
    state_serial: int,
) -> Plan:
    kinds = {t: p.kinds()[t] for p in providers.values() for t in p.kinds()}
    live = read_live((r for r in recorded.values() if refresh or r.uncertain), providers, secrets)
    ctx = _Context(stack, recorded, providers, kinds, secrets, refresh, {}, [], live)
    deps = {a: resource_dependencies(r) for a, r in stack.resources.items()}
    actions: list[Action] = []
    for address in topological_order(deps):
        res = stack.resources[address]
        action = _plan_resource(ctx, res, tuple(deps[address]), len(actions))
        children: list[Action] = []
        if ctx.kinds[res.type].expands:
            action, children = _expand(ctx, res, action)
        ctx.decided[address] = action.kind
        actions.append(action)
        actions.extend(replace(c, index=len(actions) + i) for i, c in enumerate(children))
    _check_one_manager(ctx, stack)
    actions.extend(_plan_deletes(ctx, start=len(actions)))
    actions = _listing_order(stack, _replace_contained(ctx, actions))
    return Plan(
        stack=stack.name,
        spec_digest=spec_digest(stack),
        state_serial=state_serial,
        refreshed=refresh,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        actions=tuple(actions),
        errors=tuple(ctx.errors),
        stateful_modules=tuple(m.name for m in stack.modules if m.spec.stateful),
    )


def _check_one_manager(ctx: _Context, stack: Stack) -> None:
    """Two resources of a stack must not manage one live object (two addresses adopting one schema):
    one's delete would destroy what the other, perhaps gated as stateful, holds. Checked for the kinds
    that hold data or live in something that does (no cost for the rest)."""
    by_type: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for address, res in stack.resources.items():
        kind = ctx.kinds.get(res.type)
        holds = kind is not None and (kind.data_bearing or kind.data_bearing_when or kind.contained_in)
        if holds and res.provider in ctx.providers:  # kinds whose double management can lose data
            by_type.setdefault(res.type, []).append((address, ctx.kinds[res.type].with_defaults(res.spec)))
    for type_, items in by_type.items():
        try:
            ids = ctx.providers[type_.split(".", 1)[0]].resource_ids(type_, [a for _, a in items])
        except (KeyError, TypeError, ValueError, DriftgateError):
            continue  # a spec that names no id yet: validation says what is missing
        seen: dict[str, str] = {}
        for (address, _), found in zip(items, ids, strict=True):
            if found is None or "${" in found or "secret://" in found:
                continue  # known only at apply
            other = seen.setdefault(found, address)
            if other != address:
                ctx.errors.append(
                    f"{address}: manages the same {type_} as {other} ({found}): one live object, one resource"
                )


def _replace_contained(ctx: _Context, actions: list[Action]) -> list[Action]:
    """What lives in a replaced container is replaced with it (a schema in a database, a grant in that
    schema: providers declare it, ``KindSchema.contained_in``), and waits for the container. What
    lives in a deleted container is deleted after it (the container's delete takes it along; the
    other order fails on a non-empty schema). Judged on the values the resources have now (``prior``),
    until nothing more changes."""
    by_type: dict[str, list[int]] = {}
    for i, action in enumerate(actions):
        by_type.setdefault(action.type, []).append(i)

    def container_of(action: Action, kinds: tuple[ActionKind, ...]) -> int | None:
        schema = ctx.kinds.get(action.type)
        for c in schema.contained_in if schema is not None else ():
            for j in by_type.get(c.kind, ()):
                if actions[j].kind in kinds and _inside(action, actions[j], c.match):
                    return j
        return None

    changed = True
    while changed:
        changed = False
        for i, action in enumerate(actions):
            if action.kind in (_NOOP, _UPDATE) and (j := container_of(action, (_REPLACE,))) is not None:
                actions[i] = replace(
                    action,
                    kind=_REPLACE,
                    reason=f"replaced with its container {actions[j].address}, which is replaced",
                    depends_on=tuple(dict.fromkeys((*action.depends_on, actions[j].address))),
                )
                changed = True
    kept = (_CREATE, _UPDATE, _NOOP, _REPLACE)
    for action in actions:
        if action.kind is _DELETE or container_of(action, kept) is not None:
            continue  # a container that stays (or one made anew, a database moved between modules)
        if (j := container_of(action, (_DELETE,))) is not None:
            ctx.errors.append(
                f"{action.address}: lives in {actions[j].address}, which this plan deletes (and it with it): "
                "remove it from the specs too, or keep its container"
            )
    for i, action in enumerate(actions):
        if action.kind is _DELETE and (j := container_of(action, (_DELETE,))) is not None:
            container = actions[j]  # it waits for what it contains: no more
            actions[j] = replace(
                container, depends_on=tuple(dict.fromkeys((*container.depends_on, action.address)))
            )
            actions[i] = replace(
                action,
                depends_on=tuple(d for d in action.depends_on if d != container.address),
                reason=f"{action.reason}; deleted with its container {container.address}",
            )
    return actions


def _inside(action: Action, container: Action, match: tuple[tuple[str, str], ...]) -> bool:
    mine, theirs = action.prior or action.desired or {}, container.prior or container.desired or {}
    return all(mine.get(a) is not None and mine.get(a) == theirs.get(b) for a, b in match)


def _listing_order(stack: Stack, actions: list[Action]) -> list[Action]:
    """A stable order to read and run: modules as stack.yaml lists them (removed ones after, by
    name), then each module's resources in file order, its deletes last. Planning itself goes in
    dependency order; the executor waits on ``depends_on``, not on position."""
    modules = {m.name: i for i, m in enumerate(stack.modules)}
    files = {address: i for i, address in enumerate(stack.resources)}
    gone = len(files)

    def key(pair: tuple[int, Action]) -> tuple[int, str, int, int]:
        planned, action = pair
        module = modules.get(action.module, len(modules))
        own = action.parent or action.address  # a child right after its parent
        return module, action.module, files.get(own, gone + planned), planned if action.parent else -1

    ordered = sorted(enumerate(actions), key=key)
    return [replace(action, index=i) for i, (_, action) in enumerate(ordered)]


def _data_bearing(
    ctx: _Context, module: str, type_: str, rec: RecordedResource | None, desired: Mapping[str, Any] | None
) -> bool:
    """Judged by the record as well as the specs: a spec edit (the line removed, ``stateful: false``,
    a Terraform root's listing shortened, a move to another module) never lowers it."""
    found = ctx.stack.module(module) if ctx.stack is not None else None
    kind = ctx.kinds.get(type_)
    when = kind.data_bearing_when if kind is not None else None
    return bool(
        (found and found.spec.stateful)
        or (kind is not None and kind.data_bearing)
        or (rec is not None and rec.data_bearing)
        or (when and (_set(desired, when) or (rec is not None and _set(rec.attributes, when))))
    )


def _set(values: Mapping[str, Any] | None, name: str) -> bool:
    """A flag counts as set unless it is plainly off: a reference (``secret://``, ``${…}``) or any
    other value it may turn into is judged as on."""
    value = (values or {}).get(name)
    return value is not None and value is not False


def _observe(ctx: _Context, rec: RecordedResource) -> tuple[Observed | None, bool]:
    """(current state, whether it came from a live read)."""
    recorded = Observed(dict(rec.attributes), dict(rec.outputs))
    if not (ctx.refresh or rec.uncertain):
        return recorded, False
    provider = ctx.providers.get(rec.type.split(".", 1)[0])
    if provider is None:
        ctx.errors.append(f"{rec.address}: provider for {rec.type} is not configured")
        return recorded, False
    found = (
        ctx.live[rec.address]
        if rec.address in ctx.live
        else _read_one(provider, rec, ctx.secrets.resolve_all(rec.attributes))
    )
    if isinstance(found, DriftgateError):
        ctx.errors.append(f"{rec.address}: refresh failed: {found}")
        return recorded, False
    return found, True


def _plan_resource(ctx: _Context, res: Resource, deps: tuple[str, ...], index: int) -> Action:
    schema = ctx.kinds[res.type]
    desired = schema.with_defaults(res.spec)
    rec = ctx.recorded.get(res.address)
    base = {
        "index": index,
        "address": res.address,
        "module": res.module,
        "type": res.type,
        "desired": desired,
        "depends_on": deps,
        "data_bearing": _data_bearing(ctx, res.module, res.type, rec, desired),
    }
    if rec is None:
        _check_secrets(ctx, res.address, _expected_all(ctx, res, desired))
        return Action(kind=_CREATE, changes=_creation(ctx, res, schema, desired), **base)  # type: ignore[arg-type]
    current, live = _observe(ctx, rec)
    note = f"{_what_happened(rec)}; read from live state" if rec.uncertain else ""
    if current is None:
        reason = f"not found live: {_what_happened(rec)}" if rec.uncertain else "deleted out of band"
        _check_secrets(ctx, res.address, _expected_all(ctx, res, desired))
        return Action(kind=_CREATE, reason=reason, adopt=rec.uncertain, **base)  # type: ignore[arg-type]
    changes, prior = _diff(ctx, res, schema, desired, current.attributes, live, recorded=rec.attributes)
    if not changes:
        kind = _NOOP
    elif any(c.forces_replace for c in changes):
        kind = _REPLACE
    else:
        kind = _UPDATE
    if kind is not _NOOP:
        _check_secrets(ctx, res.address, _expected_all(ctx, res, desired))
        if kind is _REPLACE:
            _check_secrets(ctx, res.address, rec.attributes)
    if live and kind is not _NOOP and _differs_from_record(rec, prior):
        note = note or "live state differs from the recorded state (drift)"
    said = [current.notes[c.name] for c in changes if c.name in current.notes]
    if said:
        note = "; ".join([note, *said]) if note else "; ".join(said)
    return Action(
        kind=kind,
        prior=prior,
        prior_outputs=current.outputs,
        changes=tuple(changes),
        reason=note,
        adopt=rec.uncertain or (kind is _NOOP and live and _present(prior) != _present(rec.attributes)),
        **base,  # type: ignore[arg-type]
    )


def _expand(ctx: _Context, res: Resource, action: Action) -> tuple[Action, list[Action]]:
    """An expanding resource's child actions, as its provider plans them now; the resource's own
    action becomes an update when a child changes (it is what records the outputs)."""
    provider = ctx.providers[res.type.split(".", 1)[0]]
    known = _expected_all(ctx, res, action.desired or {})
    waiting = sorted(set(action.desired or {}) - set(known))
    if waiting:  # its provider plans with every value, so its plan waits for what it references
        ctx.errors.append(
            f"{res.address}: {', '.join(waiting)} use(s) outputs known only after this plan's apply; "
            "apply what it references first (--module), then plan again"
        )
        return action, []
    try:
        attributes = ctx.secrets.resolve_all(known)
        rec = ctx.recorded.get(res.address)
        found = provider.plan_children(res.type, res.address, attributes, rec.outputs if rec else {})
    except StackLockedError:
        raise  # someone else holds the resource's own lock (Terraform's): exit 5, not a plan error
    except DriftgateError as exc:
        ctx.errors.append(f"{res.address}: {exc}")
        return action, []
    recorded_parts = set(rec.data_bearing_parts) if rec else set()
    children = [
        Action(
            index=0,
            address=f"{res.address}[{child.key}]",
            module=res.module,
            type=res.type,
            kind=ActionKind(child.kind),
            desired={"address": child.key, EXPANSION_TOKEN: found.token},
            depends_on=action.depends_on,
            changes=child.changes,
            data_bearing=action.data_bearing or child.data_bearing or child.key in recorded_parts,
            reason=child.reason,
            parent=res.address,
        )
        for child in found.children
    ]
    changing = [c for c in children if c.kind is not _NOOP]
    outputs_change = rec is None or any(rec.outputs.get(k) != v for k, v in found.outputs.items())
    if action.kind is _NOOP and (changing or outputs_change):
        why = f"{len(changing)} of its resources change" if changing else "its outputs change"
        action = replace(action, kind=_UPDATE, reason=action.reason or why)
    if found.token:
        action = replace(action, desired={**(action.desired or {}), EXPANSION_TOKEN: found.token})
    return action, children


def _what_happened(rec: RecordedResource) -> str:
    """Why a record is uncertain, from how its last run ended."""
    if rec.run_status == "partial":
        return f"its last action failed in run {rec.run_id} (see driftgate runs show {rec.run_id})"
    if rec.run_status == "running":
        return f"was in flight when run {rec.run_id} stopped (the run never finished)"
    if rec.run_status == "interrupted":
        return f"was in flight when run {rec.run_id} was interrupted"
    return f"was in flight in run {rec.run_id}"


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes that have a value: a live read's ``None`` and an absent record are the same."""
    return {k: v for k, v in values.items() if v is not None}


def _differs_from_record(rec: RecordedResource, prior: dict[str, Any]) -> bool:
    return any(rec.attributes.get(k) != v for k, v in prior.items() if v != SENSITIVE)


def _creation(
    ctx: _Context, res: Resource, schema: KindSchema, desired: Mapping[str, Any]
) -> tuple[AttributeChange, ...]:
    """What a create sets: each value as it will be, or ``(known after apply)`` when it depends on an
    output that this plan changes."""
    changes = []
    for name, value in desired.items():
        attr = schema.attributes.get(name)
        expected = _expected(ctx, res, value)
        sensitive = bool(attr and attr.sensitive) or holds_secret(value) or holds_secret(expected)
        new = UNKNOWN if expected is _UNKNOWN else (value if sensitive and holds_secret(value) else expected)
        changes.append(
            AttributeChange(name, None, _shown_new(new, sensitive), bool(attr and attr.force_new), sensitive)
        )
    return tuple(changes)


def _check_secrets(ctx: _Context, address: str, value: Any) -> None:
    """Resolve every secret an action will need now, so a missing one fails the plan, not the apply."""
    for ref in dict.fromkeys(secret_refs_in(value)):
        try:
            ctx.secrets.resolve(ref)
        except DriftgateError as exc:
            ctx.errors.append(f"{address}: {exc}")


def _expected_all(ctx: _Context, res: Resource, desired: Mapping[str, Any]) -> dict[str, Any]:
    """The desired attributes with every output already known substituted (unknown ones left out)."""
    found = {name: _expected(ctx, res, value) for name, value in desired.items()}
    return {name: value for name, value in found.items() if value is not _UNKNOWN}


def _expected(ctx: _Context, res: Resource, value: Any) -> Any:
    def lookup(ref: OutputRef) -> Any:
        if ctx.decided.get(ref.address) is not _NOOP:
            raise _Unknown
        rec = ctx.recorded.get(ref.address)
        if rec is None or ref.output not in rec.outputs:
            raise _Unknown
        return rec.outputs[ref.output]

    try:
        return substitute_outputs(value, lookup, res.module)
    except _Unknown:
        return _UNKNOWN


def _diff(
    ctx: _Context,
    res: Resource,
    schema: KindSchema,
    desired: dict[str, Any],
    current: Mapping[str, Any],
    live: bool,
    *,
    recorded: Mapping[str, Any] | None = None,
) -> tuple[list[AttributeChange], dict[str, Any]]:
    """Attribute changes, and the current values made safe to store and show.

    An attribute is sensitive when its kind says so, when the desired value holds
    a secret, or when the *recorded* value held one: a spec that stops using
    ``secret://`` must not reveal the old secret as the "old" value.
    """
    want: dict[str, Any] = {}
    prior: dict[str, Any] = {}
    sensitive: dict[str, bool] = {}
    for name, attr in schema.attributes.items():
        have = current.get(name)
        value = _expected(ctx, res, desired.get(name))
        was_secret = recorded is not None and holds_secret(recorded.get(name))
        sensitive[name] = (
            attr.sensitive or was_secret or holds_secret(value) or holds_secret(desired.get(name))
        )
        if holds_secret(value):
            same = _secret_matches(ctx, res, value, have, live)
            want[name] = have if same else value
            prior[name] = value if same else SENSITIVE
        else:
            want[name] = value
            prior[name] = SENSITIVE if sensitive[name] and have is not None else have
    provider = ctx.providers[res.provider]
    changed = provider.diff(res.type, current, want)
    for name in schema.attributes.keys() - set(changed):
        if prior[name] == SENSITIVE and not schema.attributes[name].sensitive and want[name] is not _UNKNOWN:
            prior[name] = want[name]  # in sync with an authored value: that value is safe to record
    changes = [
        AttributeChange(
            name=name,
            old=prior[name],
            new=_shown_new(want[name], sensitive[name]),
            forces_replace=schema.attributes[name].force_new,
            sensitive=sensitive[name],
        )
        for name in changed
    ]
    return changes, prior


def _shown_new(value: Any, sensitive: bool) -> Any:
    if value is _UNKNOWN:
        return UNKNOWN
    if sensitive and value is not None and not holds_secret(value):
        return SENSITIVE
    return value


def _secret_matches(ctx: _Context, res: Resource, ref: Any, have: Any, live: bool) -> bool:
    if not live:
        return bool(have == ref)
    try:
        return bool(have == ctx.secrets.resolve_all(ref))
    except DriftgateError as exc:
        ctx.errors.append(f"{res.address}: {exc}")
        return True


def _plan_deletes(ctx: _Context, *, start: int) -> list[Action]:
    desired = ctx.stack.resources if ctx.stack is not None else {}
    gone = {a: r for a, r in ctx.recorded.items() if a not in desired}
    order = topological_order({a: list(r.depends_on) for a, r in gone.items()})
    actions: list[Action] = []
    for address in reversed(order):
        rec = gone[address]
        if ctx.providers.get(rec.type.split(".", 1)[0]) is None:
            ctx.errors.append(f"{address}: cannot delete: provider for {rec.type} is not configured")
            continue
        _check_secrets(ctx, address, rec.attributes)
        actions.append(
            Action(
                index=start + len(actions),
                address=address,
                module=rec.module,
                type=rec.type,
                kind=_DELETE,
                prior=dict(rec.attributes),
                prior_outputs=dict(rec.outputs),
                depends_on=rec.depends_on,
                # an expanding resource's delete lets go of its parts (a Terraform root's stay)
                data_bearing=_data_bearing(ctx, rec.module, rec.type, rec, None),
                reason="no longer in the specs",
            )
        )
    return actions


def drift_of(
    rec: RecordedResource,
    *,
    providers: Mapping[str, Provider],
    secrets: SecretResolver,
    live: Mapping[str, Live] | None = None,
) -> tuple[Observed | None, list[AttributeChange], list[str]]:
    """One recorded resource against its live state, compared exactly as a plan compares them.

    Returns (live resource or None when gone, changes with ``old`` = live and
    ``new`` = recorded, errors). Sensitive and secret-backed values come back masked.
    """
    provider = providers.get(rec.type.split(".", 1)[0])
    if provider is None:
        return None, [], [f"{rec.address}: provider for {rec.type} is not configured"]
    if live is not None and rec.address in live:
        observed = live[rec.address]
    else:
        try:
            observed = _read_one(provider, rec, secrets.resolve_all(rec.attributes))
        except DriftgateError as exc:
            observed = exc
    if isinstance(observed, DriftgateError):
        return None, [], [f"{rec.address}: refresh failed: {observed}"]
    if observed is None:
        return None, [], []
    schema = provider.kinds()[rec.type]
    ctx = _Context(None, {}, providers, dict(provider.kinds()), secrets, True, {}, [])
    res = Resource(
        address=rec.address,
        module=rec.module,
        type=rec.type,
        name=rec.address.rsplit(".", 1)[1],
        spec=rec.attributes,
        depends_on=(),
        source="",
        index=0,
    )
    changes, _ = _diff(ctx, res, schema, schema.with_defaults(rec.attributes), observed.attributes, True)
    return observed, changes, ctx.errors
