"""Request bodies of the inspection endpoints."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from schemas.base import Seed, StrictModel, variant
from schemas.images import RenderOptions
from schemas.inputs import InputSpec, key_discriminator
from schemas.layer_specs import LayerSpec
from schemas.tensors import Encoding, FloatDType, TensorData

IncludeItem = Literal["input", "output", "parameters", "buffers", "gradients", "images"]
ALL_INCLUDES: tuple[IncludeItem, ...] = ("input", "output", "parameters", "buffers", "gradients")
"""The default `include`: every tensor's values; `images` (PNG data URIs) only when asked."""

DEVICE_PATTERN = r"^(cpu|cuda(:(0|[1-9][0-9]?))?)$"

EncodingOption = Annotated[
    Encoding,
    Field(
        description="`json`: flat row-major lists; `base64`: little-endian raw bytes in "
        "`data_b64`; `safetensors`: the whole response is one safetensors file "
        "(`application/x-safetensors`: every tensor under a dotted name, the JSON report in its "
        "header's `__metadata__.report`). `Accept: application/x-safetensors` asks for the "
        "same."
    ),
]
"""How tensor values travel in a response (the `encoding` field of every request)."""

DeviceOption = Annotated[
    Annotated[str, Field(pattern=DEVICE_PATTERN)] | None,
    Field(description="`cpu` or `cuda[:N]`; default: the service's configured device."),
]
"""Where a request runs (the `device` field of every request)."""


Mode = Literal["train", "eval"]

ModeOption = Annotated[
    Mode,
    Field(
        description="`eval` (default): the network as it predicts: batch norms use their "
        "running statistics, dropout passes values through, and the same request always gives "
        "the same answer. `train`: as PyTorch constructs modules: batch norms use the batch's "
        "statistics and update their running statistics (returned as `buffers`), dropout "
        "draws its mask after `torch.manual_seed(forward_seed)`."
    ),
]
"""`model.train()` or `model.eval()` for the whole request."""

DTypeOption = Annotated[
    FloatDType,
    Field(
        description="The computation's dtype: input, parameters, buffers and gradients. "
        "Seeded weights and random inputs are drawn in float32, then converted (the same "
        "values, rounded, in every dtype). float16 and bfloat16 run where PyTorch has the "
        "kernels: a layer it cannot run in that dtype on the device is a 422 naming the "
        "devices that can."
    ),
]
"""`model.to(dtype)`: the dtype every float tensor of a run has."""


class SeedWeights(StrictModel):
    """Parameters equal to `torch.manual_seed(seed)` followed by the module's constructor on CPU
    (in float32, then converted to the request's dtype). `seed` names this form, so it is
    required (`{}` says neither form)."""

    seed: Seed


class StateWeights(StrictModel):
    """Explicit parameters and buffers by `state_dict()` name (`weight`, `bias`,
    `running_mean`, ...), every one of them, each checked against its shape and dtype."""

    state: dict[str, TensorData] = Field(max_length=4096)


WeightsSpec = Annotated[
    Annotated[SeedWeights, variant("seed")] | Annotated[StateWeights, variant("state")],
    key_discriminator({"state": "state", "seed": "seed"}),
]


class TargetBackward(StrictModel):
    """Backward from a scalar: `y.sum().backward()` or `y.mean().backward()`."""

    target: Literal["sum", "mean"]


class GradOutputBackward(StrictModel):
    """Backward with an explicit vector: `y.backward(grad_output)`; same shape as the output."""

    grad_output: TensorData


BackwardSpec = Annotated[
    Annotated[TargetBackward, variant("target")]
    | Annotated[GradOutputBackward, variant("grad_output")],
    key_discriminator({"grad_output": "grad_output", "target": "target"}),
]


class RunOptions(StrictModel):
    """What every inspection shares: input, weights, backward pass, what to return, where."""

    input: InputSpec
    weights: WeightsSpec | None = Field(
        default=None,
        description='Parameters: `{"seed": N}` (default: seed 0) or `{"state": {...}}`.',
    )
    backward: BackwardSpec | None = Field(
        default=None,
        description="Run a backward pass; absent = forward only, under torch.no_grad().",
    )
    include: list[IncludeItem] = Field(
        default=list(ALL_INCLUDES),
        max_length=8,
        description="Which tensors carry their values; shapes and stats are always returned. "
        "`images` adds PNG renderings as data URIs (not in the default).",
    )
    encoding: EncodingOption = "json"
    device: DeviceOption = None
    mode: ModeOption = "eval"
    dtype: DTypeOption = "float32"
    cast: bool = Field(
        default=False,
        description="Convert tensors given in another float dtype than `dtype` (input, "
        "weights, grad_output) to it; the response lists each cast under `casts`. Without "
        "it such a tensor is a 422.",
    )
    forward_seed: Seed = Field(
        default=0,
        description="`torch.manual_seed(forward_seed)` right before the forward pass: dropout "
        "masks in train mode are reproducible (on the same device).",
    )


class LayerInspectRequest(RunOptions):
    """Build one layer, run it forward (and backward), and look at everything."""

    layer: LayerSpec = Field(
        description="The layer: `type` is the PyTorch class name lowercased (`conv2d`, "
        '`batchnorm2d`, ...; activations `{"type": "activation", "name": ...}`), '
        "other fields keep PyTorch's argument names and defaults. GET /v1/layers lists them."
    )


def without_input(model: type[RunOptions], name: str, doc: str) -> type[StrictModel]:
    """`model` less its `input`: the `spec` form field of an upload, whose image is the input.

    Made from `model`'s own fields, so the upload's documented spec cannot drift from it.
    """
    fields: dict[str, Any] = {
        key: (field.annotation, field)
        for key, field in model.model_fields.items()
        if key != "input"
    }
    return create_model(name, __base__=StrictModel, __doc__=doc, **fields)


def with_optional_input(model: type[BaseModel], name: str, doc: str) -> type[StrictModel]:
    """`model` with an optional `input` (and its own JSON schema extras): the `spec` form field
    of a model route, whose `image` files, when sent, are the input."""
    fields: dict[str, Any] = {}
    for key, field in model.model_fields.items():
        if key == "input":
            fields[key] = (InputSpec | None, Field(default=None, description=field.description))
        else:
            fields[key] = (field.annotation, field)
    config = ConfigDict(**StrictModel.model_config)
    config["json_schema_extra"] = model.model_config.get("json_schema_extra")
    base = type(f"_{name}Base", (StrictModel,), {"model_config": config})
    return create_model(name, __base__=base, __doc__=doc, **fields)


LayerUploadSpec = without_input(
    LayerInspectRequest,
    "LayerUploadSpec",
    "The form field `spec` of POST /v1/layers/inspect/upload: an inspect request without "
    "`input` (the uploaded image is the input).",
)


class LayerRenderRequest(LayerInspectRequest, RenderOptions):
    """An inspect request plus what to draw: answered with a PNG."""
