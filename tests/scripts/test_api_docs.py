"""scripts/api_docs.py: the committed API page is current and lists every route and body field."""

from scripts.api_docs import API_PAGE, METHODS, api_reference, openapi


def test_the_committed_page_is_current() -> None:
    """Regenerate with `PYTHONPATH=. .venv/bin/python scripts/reference_docs.py`."""
    assert API_PAGE.read_text() == api_reference()


def test_every_route_and_every_field_of_its_body_is_on_the_page() -> None:
    spec, page = openapi(), api_reference()
    schemas = spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        for method in (m for m in METHODS if m in ops):
            heading = f"### `{method.upper()} {path}`"
            assert heading in page
            section = page.split(heading, 1)[1].split("\n### ", 1)[0]
            for status in ops[method]["responses"]:
                assert f"- {status}: " in section, (path, status)
            for parameter in ops[method].get("parameters", []):
                assert f"| `{parameter['name']}` | {parameter['in']} |" in section
            for content in ops[method].get("requestBody", {}).get("content", {}).values():
                body = schemas[content["schema"]["$ref"].rsplit("/", 1)[-1]]
                for field in body["properties"]:
                    assert f"| `{field}` |" in section, (path, field)
