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

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from schemas.base import INTEGRAL, JsonInt, ResponseModel, Shape, StrictModel, keys_by_pattern
from schemas.images import Images, Labels, Preprocessing, RenderOptions
from schemas.layer_specs import LayerSpec
from schemas.requests import DTypeOption, ModeOption, RunOptions, with_optional_input
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


ARCHITECTURE_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
KEYWORD_PATTERN = r"^[a-z_][a-z0-9_]{0,63}$"
MAX_KEYWORDS = 16
MAX_SELECT = 256
SELECT_PATTERN = r"^[A-Za-z0-9_.*?\[\]!-]{1,256}$"
KEYWORD_MODULE = r"^[A-Za-z0-9_.]{1,256}$"


class TorchvisionModel(StrictModel):
    """A torchvision classification architecture with random weights:
    `torchvision.models.get_model(name, weights=None, **kwargs)`; GET /v1/models lists the
    names and each one's keywords."""

    torchvision: Annotated[str, Field(pattern=ARCHITECTURE_PATTERN)] = Field(
        description="The architecture, as `torchvision.models.list_models()` names it, e.g. "
        "`resnet18`."
    )
    kwargs: dict[
        Annotated[str, Field(pattern=KEYWORD_PATTERN)],
        Annotated[bool, Field(strict=True)] | JsonInt | float | str,
    ] = Field(
        default_factory=dict,
        max_length=MAX_KEYWORDS,
        description="Constructor keywords of the architecture's class that take numbers, "
        'booleans or strings, e.g. `{"num_classes": 10}`; checked by name and type.',
        json_schema_extra=keys_by_pattern,
    )


LayersSource = Annotated[
    Layers | None,
    Field(
        description="A pipeline: layer specs run in order as `nn.Sequential` (give this or "
        "`model`)."
    ),
]
ModelSource = Annotated[
    TorchvisionModel | None,
    Field(description="A torchvision architecture by name (give this or `layers`)."),
]


def _one_source(value: object) -> None:
    """Exactly one of `layers` and `model`."""
    layers, model = getattr(value, "layers", None), getattr(value, "model", None)
    if (layers is None) == (model is None):
        raise ValueError(
            "give exactly one of `layers` (a pipeline of layer specs) or `model` "
            '(`{"torchvision": "resnet18"}`)'
        )


ONE_SOURCE: dict[str, Any] = {"oneOf": [{"required": ["layers"]}, {"required": ["model"]}]}
"""In the OpenAPI schema: a request names `layers` or `model`, not both."""

Depth = Annotated[
    int,
    Field(
        ge=1,
        le=32,
        description="How deep the table goes, as torchinfo's `depth`: rows of modules nested "
        "deeper are left out (selected modules are always shown). Default 3.",
    ),
    INTEGRAL,
]
Select = Annotated[
    list[Annotated[str, Field(pattern=SELECT_PATTERN)]] | None,
    Field(
        max_length=MAX_SELECT,
        description="Which modules' outputs, output gradients, parameters and buffers come "
        "back, by qualified name (`layer1.0.conv1`, `fc`) or glob pattern (`layer1.*.conv*`, "
        "`*` for all); default: the top-level children (a pipeline's layers). Only these are "
        "hooked and held in memory.",
    ),
]


class ModelInspectRequest(RunOptions):
    """Build a model, run it forward (and backward), and look inside it module by module.

    The model is `layers` (an `nn.Sequential` of layer specs, modules named `0`, `1`, ...) or
    `model` (a torchvision architecture, modules named as PyTorch names them:
    `layer1.0.conv1`). `weights`: `{"seed": N}` equals `torch.manual_seed(N)` followed by
    constructing the whole model on CPU; `{"state": {...}}` (or a safetensors file on the upload
    form) is keyed as `state_dict()` names it.
    """

    model_config = ConfigDict(json_schema_extra=ONE_SOURCE)

    layers: LayersSource = None
    model: ModelSource = None
    depth: Depth = 3
    select: Select = None

    @model_validator(mode="after")
    def _check_source(self) -> "ModelInspectRequest":
        _one_source(self)
        return self


class ModelSummaryRequest(StrictModel):
    """The table of a model, computed on PyTorch's meta device: no data, no memory."""

    model_config = ConfigDict(json_schema_extra=ONE_SOURCE)

    layers: LayersSource = None
    model: ModelSource = None
    input_shape: Shape | None = Field(
        default=None,
        description="Shape of the input, batch dimension included; required with `layers`, "
        "default for a `model`: its default input size (GET /v1/models).",
    )
    depth: Depth = 3
    input_dtype: Literal["int64"] | None = Field(
        default=None,
        description="`int64` for integer input (an embedding first); default: `dtype`.",
    )
    dtype: DTypeOption = "float32"
    mode: ModeOption = "eval"

    @model_validator(mode="after")
    def _check_source(self) -> "ModelSummaryRequest":
        _one_source(self)
        if self.layers is not None and self.input_shape is None:
            raise ValueError("a pipeline of `layers` needs `input_shape`")
        return self


class ModelTotals(ResponseModel):
    """Totals of a pipeline (see the module docs for the definitions of FLOPs and bytes)."""

    input_shape: list[int]
    output_shape: list[int]
    parameter_count: int = Field(
        description="torchinfo's Total params: every leaf row's parameters plus every "
        "container row's leftover (its own, and its children's that no row lists, such as "
        "GoogLeNet's auxiliary classifiers in eval mode); recursive rows are not counted again."
    )
    trainable_parameter_count: int
    parameter_bytes: int = Field(
        description="torchinfo's Params size: bytes of the leaf rows' parameters (a container's "
        "own, such as ViT's class token, are left out, as torchinfo leaves them out)."
    )
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


class ReceptiveField(ResponseModel):
    """What one unit of a module's output sees of the input, per spatial axis of the input
    (height, width for images): unit i along an axis sees input positions `start + i * jump -
    (size - 1) / 2` to `start + i * jump + (size - 1) / 2` (pixel indices, inclusive; they run
    past the input where layers pad). Found by following every op of a forward pass on meta
    with the receptive-field recurrence (size += (kernel - 1) * dilation * jump, jump *=
    stride, start += ((kernel - 1) * dilation / 2 - padding) * jump); residual adds and
    concatenations take the union of their inputs' windows; normalization statistics count as
    constants."""

    size: list[int] = Field(description="Input positions one unit sees, per axis.")
    jump: list[int] = Field(
        description="The effective stride: input positions between neighbouring units."
    )
    start: list[float] = Field(
        description="The centre of unit 0's window, in input positions (pixel i's centre is "
        "i); half-integral for even windows, negative where padding comes first."
    )


class LayerRow(ResponseModel):
    """One call of one module: a row of the table (a module called twice has two rows)."""

    index: int = Field(description="The row's place in call order, from 0.")
    name: str = Field(
        description="The module's qualified name, its state_dict prefix: `0` in a pipeline, "
        "`layer1.0.conv1` in a torchvision model."
    )
    depth: int = Field(description="1 for the model's children, 2 for theirs, ...")
    type: str = Field(
        description="The API's layer type (`conv2d`, an activation's `relu`), else the class "
        "name lowercased (`bottleneck`)."
    )
    class_name: str = Field(description="The module's class, e.g. `Conv2d`.")
    repr: str = Field(description="One line: the class and its own arguments.")
    call: int = Field(description="Which call of this module the row is, from 0.")
    executed: bool = Field(
        description="Whether the module ran itself; false for a container that never runs "
        "(a `ModuleList`), listed above its children where they run, as torchinfo lists it "
        "(its shapes are then empty)."
    )
    recursive: bool = Field(
        description="The module already has a row above (a second call, or a container "
        "listed again): torchinfo's `(recursive)`; its parameters are not counted again in "
        "the totals."
    )
    input_shape: list[int] = Field(
        description="The input's shape (the first tensor's, where a module takes several)."
    )
    output_shape: list[int] = Field(
        description="The output's shape (the first tensor's, where a module returns several, "
        "as torchinfo shows it)."
    )
    output_shapes: list[Any] | None = Field(
        default=None,
        description="Every output tensor's shape, in order, where a module returns several (a "
        "tuple or dict); null otherwise.",
    )
    parameter_count: int = Field(
        description="Parameters of the module and its children, each shared one once."
    )
    trainable_parameter_count: int
    parameter_bytes: int
    output_bytes: int = Field(
        description="Bytes of the output, of its first tensor where it returns several (as "
        "torchinfo counts them)."
    )
    flops: int = Field(description="Forward FLOPs of this layer (multiply-add = 2).")
    receptive_field: ReceptiveField | None = Field(
        default=None,
        description="What one unit of its output sees of the input; null past a global "
        "pooling, a flatten, a linear layer on positions, a squeeze-and-excitation scale, an "
        "upsampling, and for models without spatial layers (`receptive_field_reason` says "
        "which and where).",
    )
    receptive_field_reason: str | None = Field(
        default=None,
        description="Why `receptive_field` is null: the module and op where the input's grid "
        "ended; null when it is given.",
    )


class LayerTrace(LayerRow):
    """One layer of an inspected run: its row, plus its output and parameters as tensors."""

    selected: bool = Field(description="Whether `select` chose this module.")
    output: OutputTensorOut | None = Field(
        description="The module's output (activation), for a selected module; `grad` is the "
        "gradient of the final target with respect to it."
    )
    parameters: dict[str, GradTensorOut] = Field(
        description="Parameters by state_dict name (e.g. `0.weight`), with their gradients: a "
        "selected module's own and its children's (each reported once, under the first "
        "selected row that holds it)."
    )
    buffers: dict[str, TensorOut] = Field(
        description="Buffers by state_dict name (e.g. `1.running_mean`), after the forward pass, "
        "likewise."
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
    layers: list[LayerRow] = Field(description="One row per module call, in call order.")
    warnings: list[str] = Field(
        description="Things that fit but may surprise, e.g. a convolution or pooling that "
        "silently drops trailing rows or columns."
    )


class ModelInspectResponse(ModelSummaryResponse, RunFacts):
    """Everything about one run of a pipeline, layer by layer."""

    layers: list[LayerTrace] = Field(  # type: ignore[assignment]
        description="One row per module call, in call order, with the selected tensors."
    )
    device: str
    seeds: Seeds
    timing_ms: Timing
    input: GradTensorOut
    parameters: dict[str, GradTensorOut] = Field(
        default_factory=dict,
        description="The model's own parameters, held by none of its modules (ViT's "
        "`class_token`), with their gradients; empty for most models. Every other parameter "
        "is reported under the first selected row that holds it.",
    )
    buffers: dict[str, TensorOut] = Field(
        default_factory=dict,
        description="The model's own buffers, held by none of its modules; empty for most models.",
    )
    preprocessing: Preprocessing | None = Field(
        default=None, description="For image inputs (MNIST, uploads): source and steps."
    )
    labels: Labels | None = Field(
        default=None,
        description="For MNIST inputs: each sample's label (`targets`) and, when the final "
        "output is [N, 10], its argmax per sample (`predicted`) and how many match (`correct`).",
    )
    images: Images | None = Field(
        default=None,
        description="PNG data URIs of the model's input and final output (and input_grad), "
        "when `include` has `images`; each layer carries its own under `layers[i].images`.",
    )


LayerIndex = Annotated[int, Field(ge=0), INTEGRAL]


class ModelRenderRequest(ModelInspectRequest, RenderOptions):
    """A model inspect request plus what to draw, of which layer: answered with a PNG."""

    layer: LayerIndex | Annotated[str, Field(pattern=KEYWORD_MODULE)] = Field(
        description="The module whose view to draw (its input, weights, ...): its qualified "
        "name (`layer1.0.conv1`), or a pipeline layer's index."
    )


ModelFormSpec = with_optional_input(
    ModelInspectRequest,
    "ModelFormSpec",
    "The form field `spec` of POST /v1/models/inspect/upload: a model inspect request whose "
    "`input` is left out when `image` files are sent (they are the input) and given otherwise; "
    "`weights` is left out when a `weights` file is sent.",
)
ModelRenderFormSpec = with_optional_input(
    ModelRenderRequest,
    "ModelRenderFormSpec",
    "The form field `spec` of POST /v1/models/render/upload: a model render request, `input` "
    "and `weights` as for POST /v1/models/inspect/upload.",
)


class KeywordInfo(ResponseModel):
    """A constructor keyword a request may set in `model.kwargs`."""

    name: str
    type: Literal["boolean", "integer", "number", "string"]
    default: bool | int | float | str | None = Field(
        description="The class's default; null where torchvision's builder passes its own."
    )


class ArchitectureInfo(ResponseModel):
    """One torchvision classification architecture, as layerscope builds it (random weights)."""

    name: str = Field(description="What `model.torchvision` takes, e.g. `resnet18`.")
    class_name: str = Field(description="Its torchvision class, e.g. `ResNet`.")
    parameter_count: int = Field(description="With the default keywords.")
    input_size: list[int] = Field(
        description="Its default input, [1, 3, S, S]: the size its default torchvision weights "
        "are preprocessed to (ViT's own image_size)."
    )
    min_size: list[int] = Field(description="The smallest [H, W] torchvision documents for it.")
    keywords: list[KeywordInfo]


class ModelCatalog(ResponseModel):
    """Every architecture `model.torchvision` takes."""

    architectures: list[ArchitectureInfo]
