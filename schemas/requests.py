"""Request bodies of the inspection endpoints."""

from typing import Annotated, Literal

from pydantic import Field

from schemas.base import Seed, StrictModel, variant
from schemas.images import RenderOptions
from schemas.inputs import InputSpec, key_discriminator
from schemas.layer_specs import LayerSpec
from schemas.tensors import Encoding, TensorData

IncludeItem = Literal["input", "output", "parameters", "gradients", "images"]
ALL_INCLUDES: tuple[IncludeItem, ...] = ("input", "output", "parameters", "gradients")
"""The default `include`: every tensor's values; `images` (PNG data URIs) only when asked."""

DEVICE_PATTERN = r"^(cpu|cuda(:(0|[1-9][0-9]?))?)$"

EncodingOption = Annotated[
    Encoding,
    Field(
        description="`json`: flat row-major lists; `base64`: little-endian raw bytes in `data_b64`."
    ),
]
"""How tensor values travel in a response (the `encoding` field of every request)."""

DeviceOption = Annotated[
    Annotated[str, Field(pattern=DEVICE_PATTERN)] | None,
    Field(description="`cpu` or `cuda[:N]`; default: the service's configured device."),
]
"""Where a request runs (the `device` field of every request)."""


class SeedWeights(StrictModel):
    """Parameters equal to `torch.manual_seed(seed)` followed by the module's constructor on CPU."""

    seed: Seed = 0


class StateWeights(StrictModel):
    """Explicit parameters by name (`weight`, `bias`), checked against the expected shapes."""

    state: dict[str, TensorData] = Field(max_length=64)


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


class LayerInspectRequest(RunOptions):
    """Build one layer, run it forward (and backward), and look at everything."""

    layer: LayerSpec


class LayerRenderRequest(LayerInspectRequest, RenderOptions):
    """An inspect request plus what to draw: answered with a PNG."""
