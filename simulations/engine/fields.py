"""A small declarative field table: one description gives both the JSON Schema and the validator.

The scenario and design schemas (``schema.py``) are written once as trees of these field types.
:func:`to_schema` turns a tree into a JSON Schema (draft 2020-12) dict, and :func:`check` walks a
document against the same tree, collecting *every* problem with its JSON pointer and returning a
normalised copy with defaults filled in. Because both come from one table they cannot disagree.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from simulations.engine.errors import Problem, pointer_join

_MISSING = object()


@dataclass(frozen=True)
class Num:
    """A bounded number. ``unit`` is shown in the schema description, e.g. ``"[ms]"``."""

    minimum: float
    maximum: float
    doc: str
    unit: str = "[-]"
    integer: bool = False
    default: float | None = None
    exclusive_minimum: bool = False


@dataclass(frozen=True)
class Enum:
    """One of a fixed set of strings (or numbers)."""

    values: tuple
    doc: str
    default: Any = None


@dataclass(frozen=True)
class Bool:
    doc: str
    default: bool | None = None


@dataclass(frozen=True)
class Ident:
    """An identifier: lower-case letters, digits, ``_`` and ``-``, 1-32 characters."""

    doc: str
    pattern: str = r"^[a-z][a-z0-9_-]{0,31}$"


@dataclass(frozen=True)
class Obj:
    """An object with known properties; unknown properties are problems."""

    fields: dict[str, Any]
    doc: str = ""
    required: tuple[str, ...] = ()
    optional_object: bool = False  # the whole object may be absent (then None)


@dataclass(frozen=True)
class Seq:
    item: Any
    doc: str
    min_items: int = 0
    max_items: int = 64
    default: tuple | None = None


@dataclass(frozen=True)
class Mapping:
    """An object whose keys come from ``keys`` and whose values all follow ``value``."""

    keys: tuple[str, ...]
    value: Any
    doc: str
    min_items: int = 1


@dataclass(frozen=True)
class Tagged:
    """A union of objects told apart by the string in ``tag`` (e.g. ``kind`` or ``type``)."""

    tag: str
    variants: dict[str, Obj]
    doc: str
    common: dict[str, Any] = field(default_factory=dict)
    common_required: tuple[str, ...] = ()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def to_schema(node: Any) -> dict:
    """Return the JSON Schema (draft 2020-12) fragment for one field-table node.

    Examples
    --------
    >>> to_schema(Num(0, 10, "a count", integer=True))["type"]
    'integer'
    """
    if isinstance(node, Num):
        out: dict[str, Any] = {
            "type": "integer" if node.integer else "number",
            "description": f"{node.doc} {node.unit}".strip(),
            "maximum": node.maximum,
        }
        out["exclusiveMinimum" if node.exclusive_minimum else "minimum"] = node.minimum
        if node.default is not None:
            out["default"] = node.default
        return out
    if isinstance(node, Enum):
        out = {"enum": list(node.values), "description": node.doc}
        if node.default is not None:
            out["default"] = node.default
        return out
    if isinstance(node, Bool):
        out = {"type": "boolean", "description": node.doc}
        if node.default is not None:
            out["default"] = node.default
        return out
    if isinstance(node, Ident):
        return {"type": "string", "pattern": node.pattern, "description": node.doc}
    if isinstance(node, Obj):
        out = {
            "type": "object",
            "properties": {name: to_schema(sub) for name, sub in node.fields.items()},
            "additionalProperties": False,
        }
        if node.required:
            out["required"] = list(node.required)
        if node.doc:
            out["description"] = node.doc
        return out
    if isinstance(node, Seq):
        return {
            "type": "array",
            "items": to_schema(node.item),
            "minItems": node.min_items,
            "maxItems": node.max_items,
            "description": node.doc,
        }
    if isinstance(node, Mapping):
        return {
            "type": "object",
            "description": node.doc,
            "propertyNames": {"enum": list(node.keys)},
            "additionalProperties": to_schema(node.value),
            "minProperties": node.min_items,
        }
    if isinstance(node, Tagged):
        branches = []
        for tag_value, variant in node.variants.items():
            merged = Obj(
                {**node.common, **variant.fields},
                variant.doc,
                (*node.common_required, *variant.required),
            )
            schema = to_schema(merged)
            schema["properties"] = {node.tag: {"const": tag_value}, **schema["properties"]}
            schema["required"] = [node.tag, *schema.get("required", [])]
            branches.append(schema)
        return {"description": node.doc, "oneOf": branches}
    raise TypeError(f"unknown field node {node!r}")


def check(node: Any, value: Any, pointer: str, problems: list[Problem]) -> Any:
    """Validate ``value`` against ``node``; append problems; return the normalised value.

    Parameters
    ----------
    node : field-table node
    value : Any
        The JSON value found at ``pointer`` (``_MISSING`` when absent).
    pointer : str
        RFC 6901 pointer of ``value`` in the document.
    problems : list of Problem
        Collector; every problem found is appended (validation never stops at the first).

    Returns
    -------
    Any
        The value with defaults filled in, or ``None`` where it was invalid.

    Examples
    --------
    >>> found = []
    >>> check(Num(1, 10, "instances", integer=True), 0, "/instances", found)
    >>> found[0].pointer
    '/instances'
    """
    if isinstance(node, Num):
        if not _is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
            problems.append(Problem(pointer, f"expected a number {node.unit}, got {value!r}"))
            return None
        if node.integer and not float(value).is_integer():
            problems.append(Problem(pointer, f"expected a whole number, got {value!r}"))
            return None
        low_ok = value > node.minimum if node.exclusive_minimum else value >= node.minimum
        if not low_ok or value > node.maximum:
            low = "above" if node.exclusive_minimum else "at least"
            problems.append(
                Problem(
                    pointer,
                    f"{value!r} is out of bounds: must be {low} {node.minimum:g} and at most "
                    f"{node.maximum:g} {node.unit}",
                )
            )
            return None
        return int(value) if node.integer else float(value)
    if isinstance(node, Enum):
        if value not in node.values or isinstance(value, bool):
            options = ", ".join(str(v) for v in node.values)
            problems.append(Problem(pointer, f"{value!r} is not one of: {options}"))
            return None
        return value
    if isinstance(node, Bool):
        if not isinstance(value, bool):
            problems.append(Problem(pointer, f"expected true or false, got {value!r}"))
            return None
        return value
    if isinstance(node, Ident):
        if not isinstance(value, str) or not re.fullmatch(node.pattern, value):
            problems.append(
                Problem(pointer, f"{value!r} is not an id (a-z, 0-9, _ or -, 1-32 characters)")
            )
            return None
        return value
    if isinstance(node, Obj):
        return _check_object(node.fields, node.required, value, pointer, problems)
    if isinstance(node, Seq):
        if not isinstance(value, list):
            problems.append(Problem(pointer, f"expected a list, got {type(value).__name__}"))
            return None
        if not node.min_items <= len(value) <= node.max_items:
            problems.append(
                Problem(
                    pointer,
                    f"has {len(value)} items; must have {node.min_items} to {node.max_items}",
                )
            )
            return None
        return [
            check(node.item, item, pointer_join(pointer, i), problems)
            for i, item in enumerate(value)
        ]
    if isinstance(node, Mapping):
        if not isinstance(value, dict):
            problems.append(Problem(pointer, f"expected an object, got {type(value).__name__}"))
            return None
        if len(value) < node.min_items:
            problems.append(Problem(pointer, f"needs at least {node.min_items} entries"))
            return None
        out = {}
        for key, item in value.items():
            if key not in node.keys:
                options = ", ".join(node.keys)
                problems.append(
                    Problem(pointer_join(pointer, key), f"unknown key {key!r}; expected: {options}")
                )
                continue
            out[key] = check(node.value, item, pointer_join(pointer, key), problems)
        return out
    if isinstance(node, Tagged):
        if not isinstance(value, dict):
            problems.append(Problem(pointer, f"expected an object, got {type(value).__name__}"))
            return None
        tag_value = value.get(node.tag, _MISSING)
        if tag_value is _MISSING:
            problems.append(Problem(pointer_join(pointer, node.tag), f"{node.tag} is required"))
            return None
        variant = node.variants.get(tag_value) if isinstance(tag_value, str) else None
        if variant is None:
            options = ", ".join(node.variants)
            problems.append(
                Problem(
                    pointer_join(pointer, node.tag),
                    f"unknown {node.tag} {tag_value!r}; expected one of: {options}",
                )
            )
            return None
        rest = {k: v for k, v in value.items() if k != node.tag}
        out = _check_object(
            {**node.common, **variant.fields},
            (*node.common_required, *variant.required),
            rest,
            pointer,
            problems,
        )
        if out is not None:
            out[node.tag] = tag_value
        return out
    raise TypeError(f"unknown field node {node!r}")


def _check_object(
    fields: dict[str, Any],
    required: tuple[str, ...],
    value: Any,
    pointer: str,
    problems: list[Problem],
) -> dict | None:
    if not isinstance(value, dict):
        problems.append(Problem(pointer, f"expected an object, got {type(value).__name__}"))
        return None
    out: dict[str, Any] = {}
    for key in value:
        if key not in fields:
            problems.append(Problem(pointer_join(pointer, key), f"unknown field {key!r}"))
    for name, sub in fields.items():
        where = pointer_join(pointer, name)
        if name in value:
            out[name] = check(sub, value[name], where, problems)
        elif name in required:
            problems.append(Problem(where, f"{name} is required"))
            out[name] = None
        else:
            out[name] = _default(sub)
    return out


def _default(node: Any) -> Any:
    if isinstance(node, Obj):
        if node.optional_object:
            return None
        return {name: _default(sub) for name, sub in node.fields.items()}
    if isinstance(node, Seq):
        return list(node.default) if node.default is not None else []
    return getattr(node, "default", None)
