"""JSON schemas written as short phrases for the generated reference pages."""

from collections.abc import Callable
from typing import Any


def number(value: float) -> str:
    """A bound as written: integers whole (2**24 as 16777216), floats shortest."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def describe_type(
    schema: dict[str, Any], nested: Callable[[dict[str, Any]], str] | None = None
) -> str:
    """A JSON schema of one argument as a short phrase: `int 1..1024 or [int, int]`.

    `nested` describes the options of a union and the items of an array (default: this)."""
    inner = nested or describe_type
    if "$ref" in schema:
        return f"`{schema['$ref'].rsplit('/', 1)[-1]}`"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(inner(option) for option in schema[key])
    if "const" in schema:
        return f"`{schema['const']!r}`"
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type")
    if kind == "null":
        return "null"
    if kind == "array":
        item = inner(schema.get("items", {}))
        low, high = schema.get("minItems"), schema.get("maxItems")
        if low is None and high is None:
            return f"[{item}]"
        count = f"{low}" if low == high else f"{low or 0}..{high if high is not None else ''}"
        return f"[{item}] x {count}"
    names = {"integer": "int", "number": "float", "boolean": "bool", "string": "str"}
    text = names.get(str(kind), str(kind))
    bounds = [
        f"{sign} {number(schema[key])}"
        for key, sign in (
            ("exclusiveMinimum", ">"),
            ("minimum", ">="),
            ("maximum", "<="),
            ("exclusiveMaximum", "<"),
        )
        if key in schema
    ]
    if len(bounds) == 2 and bounds[0].startswith(">=") and bounds[1].startswith("<="):
        return f"{text} {number(schema['minimum'])}..{number(schema['maximum'])}"
    return " ".join([text, ", ".join(bounds)]).strip()
