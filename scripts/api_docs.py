"""docs/api.md, generated from the service's own OpenAPI document (routes, bodies, responses)."""

import json
from pathlib import Path
from typing import Any

from scripts.schema_text import describe_type
from service.app import create_app
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
API_PAGE = ROOT / "docs" / "api.md"
METHODS = ("get", "post", "put", "patch", "delete")


def openapi() -> dict[str, Any]:
    """The OpenAPI document of an app with the default settings (no API keys)."""
    return create_app(Settings()).openapi()


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def type_text(schema: dict[str, Any]) -> str:
    """`describe_type`, with the union of every layer spec shortened to a link to layers.md."""
    options = schema.get("oneOf", [])
    names = [_ref_name(option) or "" for option in options]
    if len(names) > 8 and all(name.endswith("Spec") for name in names):
        return f"a layer spec ({len(names)} types: [layers.md](layers.md))"
    return describe_type({k: v for k, v in schema.items() if k != "default"}, type_text)


def field_table(schema: dict[str, Any]) -> list[str]:
    """A schema's top-level properties: name, type, required or default, description."""
    required = set(schema.get("required", []))
    rows = ["| field | type | default | description |", "| --- | --- | --- | --- |"]
    for name, prop in schema.get("properties", {}).items():
        kind = type_text(prop)
        if name in required:
            default = "required"
        elif "default" in prop:
            default = f"`{json.dumps(prop['default'])}`".replace("|", "\\|")
        else:
            default = ""
        rows.append(f"| `{name}` | {kind} | {default} | {_one_line(prop.get('description'))} |")
    return rows


def parameter_table(parameters: list[dict[str, Any]]) -> list[str]:
    """Path, query and header parameters: name, where, type, description."""
    rows = ["| parameter | in | type | description |", "| --- | --- | --- | --- |"]
    for p in parameters:
        kind = type_text(p.get("schema", {}))
        note = _one_line(p.get("description") or p.get("schema", {}).get("description"))
        rows.append(f"| `{p['name']}` | {p['in']} | {kind} | {note} |")
    return rows


def operation_section(
    method: str, path: str, op: dict[str, Any], schemas: dict[str, Any]
) -> list[str]:
    """One route: summary, description, parameters, body fields and responses."""
    lines = [f"### `{method.upper()} {path}`", "", f"**{op.get('summary', '')}**", ""]
    if op.get("description"):
        lines += [op["description"].strip(), ""]
    if op.get("parameters"):
        lines += ["Parameters:", "", *parameter_table(op["parameters"]), ""]
    body = op.get("requestBody")
    if body:
        for media, content in body["content"].items():
            name = _ref_name(content.get("schema", {}))
            lines += [f"Body (`{media}`): `{name}`", ""]
            if name and name in schemas:
                lines += [*field_table(schemas[name]), ""]
    lines += ["Responses:", ""]
    for status, response in op.get("responses", {}).items():
        media = [
            f"`{m}`"
            + (f" (`{_ref_name(c.get('schema', {}))}`)" if "$ref" in c.get("schema", {}) else "")
            for m, c in response.get("content", {}).items()
        ]
        lines.append(
            f"- {status}: {_one_line(response.get('description'))}; {', '.join(media)}".rstrip("; ")
        )
    return [*lines, ""]


def response_schemas(spec: dict[str, Any]) -> list[str]:
    """The schemas the routes answer 200 with, in route order, each once."""
    names: list[str] = []
    for ops in spec["paths"].values():
        for method in METHODS:
            ok = ops.get(method, {}).get("responses", {}).get("200", {})
            for content in ok.get("content", {}).values():
                name = _ref_name(content.get("schema", {}))
                if name and name not in names:
                    names.append(name)
    return names


def api_reference() -> str:
    """The HTTP API page (Markdown), generated from the OpenAPI document."""
    spec = openapi()
    schemas = spec["components"]["schemas"]
    info = spec["info"]
    lines = [
        "# HTTP API reference",
        "",
        f"{info['title']} {info['version']}. Generated from the service's OpenAPI document by "
        "`scripts/reference_docs.py`; a test checks it is current. The same document is served "
        "at `/openapi.json` and drawn at `/docs` (Swagger UI) and `/redoc`. Errors are "
        "problem details: see [errors.md](errors.md); settings: [settings.md](settings.md); "
        "layer types: [layers.md](layers.md).",
        "",
        info.get("description", "").strip(),
        "",
    ]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, ops in spec["paths"].items():
        for method in METHODS:
            if method in ops:
                tag = (ops[method].get("tags") or ["service"])[0]
                by_tag.setdefault(tag, []).append((method, path, ops[method]))
    lines += ["## Routes", ""]
    for tag, operations in by_tag.items():
        lines += [f"- {tag}: " + ", ".join(f"`{m.upper()} {p}`" for m, p, _ in operations)]
    lines.append("")
    for tag, operations in by_tag.items():
        lines += [f"## {tag}", ""]
        for method, path, op in operations:
            lines += operation_section(method, path, op, schemas)
    lines += ["## Response schemas", "", "Top-level fields; `/openapi.json` has every level.", ""]
    for name in response_schemas(spec):
        lines += [f"### `{name}`", "", _one_line(schemas[name].get("description")), ""]
        lines += [*field_table(schemas[name]), ""]
    return "\n".join(line.rstrip() for line in lines).rstrip() + "\n"
