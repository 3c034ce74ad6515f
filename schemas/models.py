"""Pipelines: a list of layer specs run as `nn.Sequential`, inspected or summarised.

Definitions used throughout (documented once, here):

- **FLOPs** are floating-point operations of the forward pass as PyTorch's
  `torch.utils.flop_counter.FlopCounterMode` counts them: a multiply-add is 2 FLOPs (FLOPs, not
  MACs; torchinfo's "mult-adds" are about half). Only matmul- and convolution-like operations are
  counted, so activations, pooling, flatten and bias additions count 0.
- **Bytes** follow torchinfo's `summary(...)`: parameter bytes are the parameters' elements times
  their element size; the forward/backward pass size is twice (value and gradient) the output
  bytes of every layer that has parameters (layers without parameters count 0, as in torchinfo);
  the estimated total is input + forward/backward pass + parameter bytes. Element sizes are the
  computation's dtype (4 for float32) and the input's own (8 for int64 indices); torchinfo adds
  the few bytes of Python object overhead of `sys.getsizeof(storage)` on top, invisible in its
  MB figures.
"""

from typing import Annotated, Literal

from pydantic import Field

from schemas.base import JsonInt, ResponseModel, Shape, StrictModel
from schemas.images import Images, Preprocessing, RenderOptions
from schemas.layer_specs import LayerSpec
from schemas.requests import DTypeOption, ModeOption, RunOptions, without_input
from schemas.responses import RunFacts, Seeds, Timing
from schemas.tensors import GradTensorOut, OutputTensorOut, TensorOut

MAX_MODEL_LAYERS = 1024
"""Hard cap on layers in one pipeline; the service's LAYERSCOPE_MAX_LAYERS (default 64) is
usually lower and is checked before anything is built."""

Layers = Annotated[
    list[LayerSpec],
    Field(
        min_length=1,
        max_length=MAX_MODEL_LAYERS,
        description="Layer specs, run in order as `nn.Sequential`; layer i's parameters are "
        "named `i.weight`, `i.bias` (PyTorch's state_dict names).",
    ),
]


class ModelInspectRequest(RunOptions):
    """Build an `nn.Sequential` of the layers, run it forward (and backward), and look inside.

    `weights`: `{"seed": N}` equals `torch.manual_seed(N)` followed by constructing the whole
    `nn.Sequential` on CPU; `{"state": {...}}` is keyed as `state_dict()` names it (`0.weight`).
    """

    layers: Layers


ModelUploadSpec = without_input(
    ModelInspectRequest,
    "ModelUploadSpec",
    "The form field `spec` of POST /v1/models/inspect/upload: a model inspect request without "
    "`input` (the uploaded image is the input).",
)


class ModelSummaryRequest(StrictModel):
    """The shape table of a pipeline, computed on PyTorch's meta device: no data, no memory."""

    layers: Layers
    input_shape: Shape = Field(description="Shape of the input, batch dimension included.")
    input_dtype: Literal["int64"] | None = Field(
        default=None,
        description="`int64` for integer input (an embedding first); default: `dtype`.",
    )
    dtype: DTypeOption = "float32"
    mode: ModeOption = "eval"


class ModelTotals(ResponseModel):
    """Totals of a pipeline (see the module docs for the definitions of FLOPs and bytes)."""

    input_shape: list[int]
    output_shape: list[int]
    parameter_count: int
    trainable_parameter_count: int
    parameter_bytes: int = Field(description="Bytes of all parameters (torchinfo's Params size).")
    flops: int = Field(
        description="Forward FLOPs as FlopCounterMode counts them (multiply-add = 2; only "
        "matmul/convolution ops)."
    )
    input_bytes: int = Field(description="Bytes of the input (its dtype's element size).")
    forward_backward_bytes: int = Field(
        description="torchinfo's 'Forward/backward pass size': 2 x output bytes of every layer "
        "with parameters."
    )
    total_bytes: int = Field(
        description="torchinfo's 'Estimated Total Size': input + forward/backward + parameters."
    )


class LayerRow(ResponseModel):
    """One layer of the table."""

    index: int
    name: str = Field(description="The layer's state_dict prefix, e.g. `0`.")
    type: str = Field(description="Layer type, or the activation's name (e.g. conv2d, relu).")
    repr: str = Field(description="PyTorch's own repr of the module.")
    input_shape: list[int]
    output_shape: list[int]
    parameter_count: int
    trainable_parameter_count: int
    parameter_bytes: int
    output_bytes: int = Field(description="Bytes of the output (the computation's dtype).")
    flops: int = Field(description="Forward FLOPs of this layer (multiply-add = 2).")


class LayerTrace(LayerRow):
    """One layer of an inspected run: its row, plus its output and parameters as tensors."""

    output: OutputTensorOut = Field(
        description="The layer's output (activation); `grad` is the gradient of the final "
        "target with respect to it."
    )
    parameters: dict[str, GradTensorOut] = Field(
        description="Parameters by state_dict name (e.g. `0.weight`), with their gradients."
    )
    buffers: dict[str, TensorOut] = Field(
        description="Buffers by state_dict name (e.g. `1.running_mean`), after the forward pass."
    )
    images: Images | None = Field(
        default=None,
        description="This layer's pictures as PNG data URIs (its input, output, weights and "
        "their gradients, as POST /v1/models/render draws them with default options), when "
        "`include` has `images`.",
    )


class ModelSummaryResponse(ResponseModel):
    """The table of a pipeline, and warnings about it."""

    summary: ModelTotals
    layers: list[LayerRow]
    warnings: list[str] = Field(
        description="Things that fit but may surprise, e.g. a convolution or pooling that "
        "silently drops trailing rows or columns."
    )


class ModelInspectResponse(ModelSummaryResponse, RunFacts):
    """Everything about one run of a pipeline, layer by layer."""

    layers: list[LayerTrace]  # type: ignore[assignment]
    device: str
    seeds: Seeds
    timing_ms: Timing
    input: GradTensorOut
    preprocessing: Preprocessing | None = Field(
        default=None, description="For image inputs (MNIST, uploads): source and steps."
    )
    images: Images | None = Field(
        default=None,
        description="PNG data URIs of the model's input and final output (and input_grad), "
        "when `include` has `images`; each layer carries its own under `layers[i].images`.",
    )


class ModelRenderRequest(ModelInspectRequest, RenderOptions):
    """A model inspect request plus what to draw, of which layer: answered with a PNG."""

    layer: JsonInt = Field(
        ge=0, description="Index of the layer whose view to draw (its input, weights, ...)."
    )
