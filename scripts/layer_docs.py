"""docs/layers.md, generated from the layer specs' own JSON schemas.

`layer_reference()` renders every layer spec of `schemas.layer_specs` (type, torch.nn class, what
it takes, each argument with its type, bounds and default); `scripts/reference_docs.py` writes it
and tests/scripts/test_layer_docs.py checks the committed page equals what it renders now.
"""

import json
from pathlib import Path

from schemas.layer_specs import ACTIVATION_TYPES, LAYER_TYPES, LayerSpecBase, type_name
from schemas.layer_specs.activations import ActivationSpecBase
from scripts.schema_text import describe_type

ROOT = Path(__file__).resolve().parent.parent
LAYERS_PAGE = ROOT / "docs" / "layers.md"

FAMILIES = {
    "convolution": "Convolutions",
    "pooling": "Pooling",
    "normalization": "Normalization",
    "dropout": "Dropout",
    "shape": "Shape and resampling",
    "linear": "Linear and embedding",
}


def argument_rows(spec: type[LayerSpecBase]) -> list[str]:
    """One table row per argument: name, accepted values, default."""
    schema = spec.model_json_schema()
    rows = []
    for name, field in spec.model_fields.items():
        if name in spec.TAG_FIELDS:
            continue
        prop = schema["properties"][name]
        default = "required" if field.is_required() else f"`{json.dumps(field.default)}`"
        note = prop.get("description", "")
        rows.append(f"| `{name}` | {describe_type(prop)} | {default} | {note} |")
    return rows


def section(spec: type[LayerSpecBase]) -> list[str]:
    """A spec's heading, class, docstring's first paragraph and argument table."""
    tag = type_name(spec)
    head = (
        f'{{"type": "activation", "name": "{tag.split(":", 1)[1]}"}}'
        if issubclass(spec, ActivationSpecBase)
        else f'{{"type": "{tag}"}}'
    )
    doc = " ".join((spec.__doc__ or "").strip().split("\n\n")[0].split())
    what = (
        doc.split(": ", 1)[1] if ": " in doc else doc.removeprefix(f"torch.nn.{spec.TORCH_CLASS}")
    )
    what = what.strip(" .;")
    sentence = f": {what}." if what else "."
    lines = [f"### `{head}`", "", f"`torch.nn.{spec.TORCH_CLASS}`{sentence}", ""]
    rows = argument_rows(spec)
    if rows:
        lines += ["| argument | accepts | default | note |", "| --- | --- | --- | --- |", *rows]
    else:
        lines.append("No arguments.")
    return [*lines, ""]


def layer_reference() -> str:
    """The layer reference page (Markdown), generated from `schemas.layer_specs`."""
    lines = [
        "# Layer reference",
        "",
        "Generated from the API contract (`schemas/layer_specs/`) by "
        "`scripts/reference_docs.py`; a test checks it is current. Every layer is built with "
        "its `torch.nn` constructor and these arguments, which keep PyTorch's names and "
        "defaults (the one difference: `softmax`, `log_softmax` and `softmin` take `dim=-1` "
        "by default, never PyTorch's implicit dim). `type` is the class name lowercased; "
        'activations are `{"type": "activation", "name": ...}` with PyTorch\'s functional '
        "name. Bounds are inclusive (`1..1024`) unless written `> 0`.",
        "",
        f"{len(LAYER_TYPES)} layer types and {len(ACTIVATION_TYPES)} activations.",
        "",
    ]
    family = None
    for spec in LAYER_TYPES:
        current = spec.__module__.rsplit(".", 1)[-1]
        if current != family:
            family = current
            lines += [f"## {FAMILIES[current]}", ""]
        lines += section(spec)
    lines += ["## Activations", ""]
    for spec in ACTIVATION_TYPES:
        lines += section(spec)
    return "\n".join(lines).rstrip() + "\n"
