"""scripts/layer_docs.py: the committed layer reference is what the contract says now."""

import json
import re

from pydantic import TypeAdapter

from schemas.layer_specs import ALL_SPECS, LayerSpec, type_name
from scripts.layer_docs import LAYERS_PAGE, layer_reference


def test_the_committed_page_is_current() -> None:
    """Regenerate with `PYTHONPATH=. .venv/bin/python scripts/reference_docs.py`."""
    assert LAYERS_PAGE.read_text() == layer_reference()


def test_every_layer_and_argument_is_listed_and_each_heading_is_a_valid_spec() -> None:
    page = layer_reference()
    headings = re.findall(r"^### `(\{.*\})`$", page, flags=re.MULTILINE)
    assert len(headings) == len(ALL_SPECS)
    adapter: TypeAdapter[LayerSpec] = TypeAdapter(LayerSpec)
    for heading, spec in zip(headings, ALL_SPECS, strict=True):
        tag = type_name(spec)
        assert f'"{tag.split(":")[-1]}"' in heading
        block = page.split(f"### `{heading}`", 1)[1].split("\n### ", 1)[0]
        for name in spec.model_fields:
            if name not in spec.TAG_FIELDS:
                assert f"| `{name}` |" in block, (tag, name)
        required = {n: 1 for n, f in spec.model_fields.items() if f.is_required()}
        # the heading plus the required arguments is a spec the API takes (upsample needs one
        # of its two optional arguments, as its entry says)
        minimal = {**json.loads(heading), **_fill(spec, required)}
        if tag == "upsample":
            minimal["scale_factor"] = 2
        assert isinstance(adapter.validate_python(minimal), spec)


def _fill(spec: type, required: dict[str, int]) -> dict[str, object]:
    values: dict[str, object] = {}
    for name in required:
        if name in ("type", "name"):
            continue
        values[name] = {"normalized_shape": 4, "unflattened_size": [2, 2]}.get(name, 2)
    return values
