"""The engine's JSON Schemas (draft 2020-12), rewritten for the OpenAPI 3.0 document.

The engine owns one schema per document and validates with it; the API publishes the same schema
so clients can validate before submitting. OpenAPI 3.0's schema dialect is an older subset, so a
few keywords are translated (``const`` → one-value ``enum``, numeric ``exclusiveMinimum`` →
``minimum`` + boolean, ``type: [T, "null"]`` → ``nullable``) and ``$defs`` references are inlined.
Keywords 3.0 cannot express are dropped here only — the engine still enforces them.
"""

from __future__ import annotations

from typing import Any

from simulations import engine

_DROPPED = {
    "$schema",
    "$id",
    "$comment",
    "$defs",
    "definitions",
    "prefixItems",
    "patternProperties",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contains",
    "minContains",
    "maxContains",
}


def openapi_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a JSON Schema (draft 2020-12) that validates as an OpenAPI 3.0 schema object."""
    defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    return _convert(schema, defs, depth=0)


def _convert(node: Any, defs: dict[str, Any], depth: int) -> Any:
    if depth > 40:  # a recursive $ref; OpenAPI 3.0 cannot inline it, so leave it open
        return {}
    if isinstance(node, list):
        return [_convert(item, defs, depth) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        merged = {**defs.get(name, {}), **{k: v for k, v in node.items() if k != "$ref"}}
        return _convert(merged, defs, depth + 1)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        if key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "examples":
            if value:
                out["example"] = value[0]
        elif key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            if len(types) < len(value):
                out["nullable"] = True
            if len(types) == 1:
                out["type"] = types[0]
        elif key in ("properties",):
            out[key] = {name: _convert(sub, defs, depth) for name, sub in value.items()}
        else:
            out[key] = _convert(value, defs, depth)
    return out


DESIGN_DOCUMENT_SCHEMA = openapi_schema(engine.DESIGN_SCHEMA)
SCENARIO_DOCUMENT_SCHEMA = openapi_schema(engine.SCENARIO_SCHEMA)
