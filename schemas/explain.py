"""Explain: receptive fields of units, attributions (Captum) and what-if sweeps of one argument."""

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from schemas.base import INTEGRAL, MAX_DIM_SIZE, MAX_SEED, ResponseModel, Seed, Shape, StrictModel
from schemas.images import Labels, Preprocessing
from schemas.inputs import InputSpec
from schemas.models import (
    KEYWORD_MODULE,
    ONE_SOURCE,
    LayersSource,
    ModelSource,
    ReceptiveField,
)
from schemas.problems import Problem
from schemas.requests import (
    DeviceOption,
    DTypeOption,
    EncodingOption,
    IncludeItem,
    LayerRenderRequest,
    ModeOption,
    WeightsSpec,
    with_optional_input,
)
from schemas.responses import LayerInspectResponse, RunFacts, Seeds
from schemas.tensors import TensorOut

MAX_SPATIAL = 3
Position = Annotated[int, Field(ge=0, le=MAX_DIM_SIZE), INTEGRAL]
Positions = Annotated[list[Position], Field(min_length=1, max_length=MAX_SPATIAL)]
ModuleName = (
    Annotated[int, Field(ge=0, le=MAX_DIM_SIZE), INTEGRAL]
    | Annotated[str, Field(pattern=KEYWORD_MODULE)]
)


def _one_source(value: object) -> None:
    """Exactly one of `layers` and `model` (as the model requests take them)."""
    if (getattr(value, "layers", None) is None) == (getattr(value, "model", None) is None):
        raise ValueError(
            "give exactly one of `layers` (a pipeline of layer specs) or `model` "
            '(`{"torchvision": "resnet18"}`)'
        )


class Unit(StrictModel):
    """One unit of a module's output: a channel and a position on its spatial axes."""

    channel: Annotated[int, Field(ge=0, le=MAX_DIM_SIZE), INTEGRAL] = Field(
        default=0, description="The output channel, from 0."
    )
    position: Positions = Field(
        description="Its position along each spatial axis of the output (height, width for "
        "images), from 0."
    )


class Box(StrictModel):
    """A box of positions, per spatial axis: `start` to `end`, both included."""

    start: Positions
    end: Positions


class ReceptiveFieldRequest(StrictModel):
    """A model (pipeline or torchvision architecture) and either one unit of one of its modules
    (what input box does it see?) or a box of the input (which units of the module see any of
    it?). Planned on meta: nothing is allocated but the input of a picture."""

    model_config = ConfigDict(json_schema_extra=ONE_SOURCE)

    layers: LayersSource = None
    model: ModelSource = None
    input_shape: Shape | None = Field(
        default=None,
        description="The input's shape, batch dimension included; default: `input`'s shape, "
        "else a torchvision model's default input size (GET /v1/models).",
    )
    input: InputSpec | None = Field(
        default=None,
        description="An input to draw the box on (`png`): an MNIST digit, explicit values or "
        "seeded random values; its shape is the input's shape.",
    )
    module: ModuleName = Field(
        description="The module: its qualified name (`layer1.0.conv1`) or a pipeline layer's index."
    )
    call: Annotated[int, Field(ge=0, le=MAX_DIM_SIZE), INTEGRAL] = Field(
        default=0, description="Which call of the module, from 0."
    )
    unit: Unit | None = Field(
        default=None, description="A unit of the module's output: the input box it sees."
    )
    box: Box | None = Field(
        default=None,
        description="A box of the input (positions per spatial axis): the module's units that "
        "see any of it.",
    )
    png: bool = Field(
        default=False,
        description="Add `image`: the input (the first sample; gray, or RGB for three "
        "channels; mid-gray without `input`) with the box drawn on it in red.",
    )
    scale: Annotated[int, Field(ge=1, le=32), INTEGRAL] | None = Field(
        default=None,
        description="Upscaling of the picture; default: the smallest that makes it at least 224 "
        "pixels on its longer side.",
    )
    mode: ModeOption = "eval"

    @model_validator(mode="after")
    def _check(self) -> "ReceptiveFieldRequest":
        _one_source(self)
        if (self.unit is None) == (self.box is None):
            raise ValueError("give exactly one of `unit` (a unit of the module) or `box` (input)")
        if self.input is not None and self.input_shape is not None:
            raise ValueError("give `input` or `input_shape`, not both: the input has a shape")
        if self.layers is not None and self.input is None and self.input_shape is None:
            raise ValueError("a pipeline of `layers` needs `input_shape` (or `input`)")
        return self


class Span(ResponseModel):
    """Positions per spatial axis from `start` to `end`, both included (negative where a window
    starts in padding)."""

    start: list[int]
    end: list[int]


class ReceptiveFieldResponse(ResponseModel):
    """Where one unit looks, or which units look at a box."""

    module: str = Field(description="The module's qualified name.")
    call: int
    class_name: str
    input_shape: list[int]
    output_shape: list[int]
    receptive_field: ReceptiveField
    channels: int = Field(description="Channels of the module's output (1 where it has none).")
    unit: Unit | None = Field(default=None, description="The unit asked about.")
    window: Span | None = Field(
        default=None,
        description="The input positions the unit sees, per axis (may run past the input "
        "where layers pad).",
    )
    window_in_input: Span | None = Field(
        default=None,
        description="`window` within the input; null when it lies wholly in padding.",
    )
    box: Span | None = Field(default=None, description="The input box asked about.")
    units: Span | None = Field(
        default=None,
        description="The positions of the module's output (every channel) whose window meets "
        "the box, per axis; null when none does.",
    )
    unit_count: int | None = Field(
        default=None, description="How many positions `units` holds (per channel and sample)."
    )
    image: str | None = Field(default=None, description="With `png`: the picture, a data URI.")


AttributionMethod = Literal[
    "saliency",
    "input_x_gradient",
    "integrated_gradients",
    "occlusion",
    "layer_gradcam",
    "layer_activation",
]
METHOD_OPTIONS: dict[str, frozenset[str]] = {
    "saliency": frozenset({"abs"}),
    "input_x_gradient": frozenset(),
    "integrated_gradients": frozenset({"baselines", "n_steps", "internal_batch_size"}),
    "occlusion": frozenset(
        {"sliding_window_shapes", "strides", "baselines", "perturbations_per_eval"}
    ),
    "layer_gradcam": frozenset({"layer", "relu_attributions", "attribute_to_layer_input"}),
    "layer_activation": frozenset({"layer", "attribute_to_layer_input"}),
}
"""The options each method takes, by Captum's own argument names."""
MAX_STEPS = 1024
WindowSide = Annotated[int, Field(ge=1, le=MAX_DIM_SIZE), INTEGRAL]
MAX_PERTURBATIONS = 256


class AttributeRequest(StrictModel):
    """Attribute a model's output to its input (or a layer's) with Captum.

    `method` picks Captum's class: `saliency` (Saliency), `input_x_gradient` (InputXGradient),
    `integrated_gradients` (IntegratedGradients, with its convergence delta), `occlusion`
    (Occlusion), `layer_gradcam` (LayerGradCam) and `layer_activation` (LayerActivation) at the
    module `layer`. Options keep Captum's argument names and defaults, and are passed to its
    `attribute` only when given; an option another method takes is a 422.
    """

    model_config = ConfigDict(json_schema_extra=ONE_SOURCE)

    layers: LayersSource = None
    model: ModelSource = None
    input: InputSpec
    weights: WeightsSpec | None = Field(
        default=None,
        description='Parameters: `{"seed": N}` (default: seed 0) or `{"state": {...}}`.',
    )
    method: AttributionMethod
    target: Position | Annotated[list[Position], Field(min_length=1)] | None = Field(
        default=None,
        description="Captum's `target`: the output index (class) to attribute, one for "
        "every sample or one per sample; needed where the output has several values per "
        "sample (not for layer_activation).",
    )
    abs: bool | None = Field(
        default=None, description="Saliency: absolute gradients (Captum's default true)."
    )
    baselines: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="IntegratedGradients, Occlusion: the baseline value (Captum's default 0).",
    )
    n_steps: Annotated[int, Field(ge=1, le=MAX_STEPS), INTEGRAL] | None = Field(
        default=None,
        description="IntegratedGradients: integration steps (Captum's default 50).",
    )
    internal_batch_size: Annotated[int, Field(ge=1, le=MAX_DIM_SIZE), INTEGRAL] | None = Field(
        default=None,
        description="IntegratedGradients: run the n_steps x batch scaled inputs in chunks of "
        "this many (default: all at once); bounded by the element limits.",
    )
    sliding_window_shapes: Annotated[list[WindowSide], Field(min_length=1, max_length=7)] | None = (
        Field(
            default=None,
            description="Occlusion: the window's shape over one sample (every dimension but the "
            "batch), e.g. [1, 4, 4] for [N, 1, 28, 28].",
        )
    )
    strides: WindowSide | Annotated[list[WindowSide], Field(min_length=1, max_length=7)] | None = (
        Field(default=None, description="Occlusion: the window's steps (Captum's default 1).")
    )
    perturbations_per_eval: Annotated[int, Field(ge=1, le=MAX_PERTURBATIONS), INTEGRAL] | None = (
        Field(
            default=None,
            description="Occlusion: windows run per forward pass (Captum's default 1).",
        )
    )
    layer: ModuleName | None = Field(
        default=None,
        description="layer_gradcam, layer_activation: the module (its qualified name, or a "
        "pipeline layer's index); `model.get_submodule(layer)` is Captum's `layer`.",
    )
    attribute_to_layer_input: bool | None = Field(
        default=None,
        description="layer_gradcam, layer_activation: attribute to the layer's input instead "
        "of its output (Captum's default false).",
    )
    relu_attributions: bool | None = Field(
        default=None,
        description="layer_gradcam: apply ReLU to the result (Captum's default false).",
    )
    colormap: Literal["coolwarm", "seismic"] = Field(
        default="coolwarm",
        description="The heat map's diverging colour map, centred on zero (matplotlib's).",
    )
    alpha: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="The heat map's weight over the input: 1 shows the colours alone, 0 the "
        "input alone.",
    )
    scale: Annotated[int, Field(ge=1, le=32), INTEGRAL] = Field(
        default=1, description="Upscaling of the heat map."
    )
    encoding: EncodingOption = "json"
    device: DeviceOption = None
    mode: ModeOption = "eval"
    dtype: DTypeOption = "float32"
    cast: bool = Field(
        default=False,
        description="Convert tensors given in another float dtype than `dtype` to it.",
    )
    forward_seed: Seed = Field(
        default=0,
        description="`torch.manual_seed(forward_seed)` right before Captum runs (dropout in "
        "train mode).",
    )

    @model_validator(mode="after")
    def _check(self) -> "AttributeRequest":
        _one_source(self)
        takes = METHOD_OPTIONS[self.method]
        every = frozenset().union(*METHOD_OPTIONS.values())
        stray = sorted(name for name in self.model_fields_set & every if name not in takes)
        if stray:
            listed = ", ".join(f"`{name}`" for name in sorted(takes)) or "no options"
            raise ValueError(
                f"{', '.join(f'`{name}`' for name in stray)}: not an option of method "
                f"{self.method}, which takes {listed}"
            )
        if self.method == "occlusion" and self.sliding_window_shapes is None:
            raise ValueError("method occlusion needs `sliding_window_shapes`, e.g. [1, 4, 4]")
        if self.method.startswith("layer_") and self.layer is None:
            raise ValueError(f"method {self.method} needs `layer`: a module's qualified name")
        if self.method == "layer_activation" and self.target is not None:
            raise ValueError("method layer_activation takes no `target` (Captum's neither)")
        return self


class AttributeTiming(ResponseModel):
    """Milliseconds of torch work."""

    forward_ms: float = Field(description="The model's forward pass on the input.")
    attribute_ms: float = Field(description="Captum's `attribute` call.")


class AttributeResponse(RunFacts):
    """Captum's attribution, its convergence figures, and a heat map over the input."""

    method: str
    captum: str = Field(description="The Captum class, e.g. `IntegratedGradients`.")
    arguments: dict[str, Any] = Field(
        description="What was passed to Captum besides the inputs: `target` and the options "
        "given (and `layer` for the layer methods)."
    )
    device: str
    seeds: Seeds
    timing_ms: AttributeTiming
    input: TensorOut = Field(description="The input (shape and stats).")
    output: TensorOut = Field(description="The model's output on the input, with values.")
    target: list[int] | None = Field(description="The target of each sample.")
    attribution: TensorOut = Field(
        description="Captum's attribution, with values: the input's shape, or the layer's "
        "output (input) shape for the layer methods."
    )
    convergence_delta: TensorOut | None = Field(
        default=None,
        description="IntegratedGradients' convergence delta per sample (Captum's "
        "`return_convergence_delta=True`); null for the other methods.",
    )
    heatmap: str | None = Field(
        description="A PNG data URI: each sample's attribution summed over channels (a layer "
        "method's upsampled to the input's size with Captum's `LayerAttribution.interpolate`, "
        "bilinear), coloured on `colormap` centred on zero (0 is the map's middle), laid over "
        "the input in gray with weight `alpha`; one tile per sample. Null where the input or "
        "the attribution has no two spatial dimensions ([N, C, H, W])."
    )
    preprocessing: Preprocessing | None = None
    labels: Labels | None = None


MAX_SWEEP_VALUES = 16
ARGUMENT_PATTERN = r"^[a-z_][a-z0-9_]{0,63}$"


class LayerSweepRequest(LayerRenderRequest):
    """One layer spec, one input, and one of the layer's arguments with a list of values:
    each value is run as POST /v1/layers/inspect would run the layer with that value, and
    drawn as POST /v1/layers/render would draw it (`view`, `colormap`, ...)."""

    argument: Annotated[str, Field(pattern=ARGUMENT_PATTERN)] = Field(
        description="The argument to vary, as the layer spec names it (`kernel_size`, "
        "`stride`, `padding`, `dilation`, `groups`, an activation's `name`, ...)."
    )
    values: list[Any] = Field(
        min_length=1,
        max_length=MAX_SWEEP_VALUES,
        description="The values to try, in order; each as the spec would take it (an int or a "
        "pair for a kernel size, ...).",
    )
    include: list[IncludeItem] = Field(
        default=["output"],
        max_length=8,
        description="Which tensors of each value's result carry values (as inspect's "
        "`include`); default: the output.",
    )

    @field_validator("values")
    @classmethod
    def _safe_integers(cls, values: list[Any]) -> list[Any]:
        """Refuse integers a JSON client cannot hold exactly (beyond 2**53 - 1): every value is
        echoed in the answer, and no layer argument takes one."""
        for index, value in enumerate(values):
            if _has_unsafe_integer(value):
                raise ValueError(
                    f"values[{index}] holds an integer beyond {MAX_SEED} (2**53 - 1); "
                    "send a smaller one"
                )
        return values


def _has_unsafe_integer(value: Any) -> bool:
    """Whether `value` (a JSON value) holds an int of magnitude above 2**53 - 1."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) > MAX_SEED
    if isinstance(value, list):
        return any(_has_unsafe_integer(item) for item in value)
    if isinstance(value, dict):
        return any(_has_unsafe_integer(item) for item in value.values())
    return False


class SweepValue(ResponseModel):
    """One value's result, or the problem it gets."""

    value: Any
    status: int = Field(description="200, or the status POST /v1/layers/inspect would answer.")
    result: LayerInspectResponse | None = Field(
        default=None,
        description="What POST /v1/layers/inspect answers for the layer with this value.",
    )
    image: str | None = Field(
        default=None,
        description="The picture POST /v1/layers/render draws of `view` (a data URI).",
    )
    problem: Problem | None = Field(
        default=None,
        description="The problem details inspect would answer for this value (a value that "
        "does not fit the layer or the input).",
    )


class LayerSweepResponse(ResponseModel):
    """Every value side by side."""

    argument: str
    results: list[SweepValue]
    strip: str | None = Field(
        description="A PNG data URI: each value's picture left to right, top-aligned, 4 white "
        "pixels apart; a value with a problem is a light gray placeholder. Null when no value "
        "ran."
    )


AttributeFormSpec = with_optional_input(
    AttributeRequest,
    "AttributeFormSpec",
    "The form field `spec` of POST /v1/models/attribute/upload: an attribute request, `input` "
    "and `weights` as for POST /v1/models/inspect/upload.",
)
