"""What a resource kind accepts: its attributes and outputs (declared by providers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

AttrType = Literal["string", "integer", "boolean", "number", "map", "list", "any"]

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "boolean": (bool,),
    "number": (int, float),
    "map": (dict,),
    "list": (list,),
}


@dataclass(frozen=True)
class AttributeSchema:
    """One input attribute of a resource kind."""

    type: AttrType = "string"
    required: bool = False
    default: Any = None
    force_new: bool = False
    sensitive: bool = False
    path: bool = False
    description: str = ""

    def type_error(self, value: Any) -> str | None:
        """Why ``value`` does not fit this attribute's type, or None."""
        if self.type == "any" or value is None:
            return None
        expected = _PYTHON_TYPES[self.type]
        if isinstance(value, bool) and self.type in ("integer", "number"):
            return f"expected {self.type}, got boolean"
        if not isinstance(value, expected):
            hint = ""
            if self.type == "string" and isinstance(self.default, str) and self.default:
                hint = f': quote it, e.g. "{self.default}"'
            return f"expected {self.type}, got {type(value).__name__}{hint}"
        return None


@dataclass(frozen=True)
class Containment:
    """A kind lives inside a resource of ``kind`` (a schema in a database, a grant in a schema): it
    is in a given container when each ``(mine, theirs)`` pair of ``match`` holds the same value.
    Replacing the container destroys what it contains, so the planner replaces that too (Terraform's
    ``replace_triggered_by``, from the provider's declaration)."""

    kind: str
    match: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class KindSchema:
    """A resource kind: ``<provider>.<kind>`` with attributes and computed outputs."""

    type: str
    attributes: dict[str, AttributeSchema]
    outputs: tuple[str, ...] = ()
    description: str = ""
    sensitive_outputs: frozenset[str] = field(default_factory=frozenset)
    data_bearing: bool = False  # holds data an apply can destroy: its module is gated as stateful
    virtual: bool = False  # no live world of its own: a read answers the recorded values (data.value)
    expands: bool = False  # plans as child actions the provider lists (a Terraform root's resources)
    output_prefixes: tuple[str, ...] = ()  # outputs named at apply time (``output.<name>``)
    contained_in: tuple[Containment, ...] = ()  # the kinds of resource it lives in
    # a boolean attribute that makes a resource data-bearing when set (a schema's ``cascade``: its
    # delete drops what the schema holds)
    data_bearing_when: str | None = None

    def with_defaults(self, spec: dict[str, Any]) -> dict[str, Any]:
        merged = {k: a.default for k, a in self.attributes.items() if a.default is not None}
        merged.update(spec)
        return merged
