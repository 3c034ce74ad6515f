"""Images in and out: preprocessing of digits, rendering of tensors as PNG grids."""

from typing import Annotated, Any, Literal

from pydantic import Field

from schemas.base import INTEGRAL, JsonInt, ResponseModel, StrictModel
from schemas.tensors import TensorOut

MAX_IMAGE_SIDE = 512
"""Largest side of a preprocessed image (`preprocess.size`)."""

MAX_RENDER_SCALE = 32
"""Largest integer upscaling of a rendering."""

Side = Annotated[int, Field(ge=1, le=MAX_IMAGE_SIDE), INTEGRAL]


class PreprocessOptions(StrictModel):
    """How an image becomes a [1, 1, H, W] input, step by step with torchvision transforms:
    grayscale, invert, resize keeping the aspect ratio and centring (zero padding), float in
    [0, 1], Normalize(mean, std)."""

    invert: Literal["auto"] | bool = Field(
        default="auto",
        description="`auto` inverts a light-background image (mean of its 1-pixel border "
        "> 0.5) so the digit is white on black like MNIST; `true` always; `false` never.",
    )
    size: Side | Annotated[list[Side], Field(min_length=2, max_length=2)] = Field(
        default=28,
        description="Output side (square) or [height, width]; the image is fitted inside, "
        "keeping its aspect ratio, and centred with zero padding.",
    )
    mean: float = Field(default=0.5, ge=-1e6, le=1e6, description="Normalize mean.")
    std: float = Field(default=1.0, gt=0, le=1e6, description="Normalize std.")


class ImageInputOptions(StrictModel):
    """The form field `input` of the upload endpoints: how the uploaded image becomes the input."""

    preprocess: PreprocessOptions = Field(default_factory=PreprocessOptions)
    requires_grad: bool = Field(default=True, description="Track gradients for this input.")


View = Literal["input", "weights", "output", "input_grad", "weight_grad"]
Colormap = Literal["gray", "jet", "viridis", "coolwarm", "seismic"]
DIVERGING_COLORMAPS: frozenset[str] = frozenset({"coolwarm", "seismic"})


class RenderOptions(StrictModel):
    """What to draw and how: one tile per channel or kernel, in a grid (torchvision make_grid)."""

    view: View = Field(
        default="output",
        description="`input`, `weights`, `output`, `input_grad` or `weight_grad` (the last two "
        "need `backward`).",
    )
    colormap: Colormap | None = Field(
        default=None,
        description="`gray`, `jet`, `viridis`, or diverging `coolwarm`/`seismic` (centred on "
        "zero: 0 takes the map's colour at 0.5). matplotlib's maps, colour for colour. Default: "
        "gray, coolwarm for gradients.",
    )
    normalize: Literal["global", "per_tile"] = Field(
        default="global",
        description="Scale colours over the whole tensor (`global`) or each tile alone.",
    )
    scale: JsonInt = Field(
        default=1, ge=1, le=MAX_RENDER_SCALE, description="Integer (nearest) upscaling."
    )
    columns: Annotated[int, Field(ge=1, le=1024), INTEGRAL] | None = Field(
        default=None, description="Tiles per row; default ceil(sqrt(tiles))."
    )


class PreprocessStep(ResponseModel):
    """One preprocessing step as it ran."""

    name: str
    transform: str | None = Field(description="The torchvision transform, e.g. `Normalize`.")
    params: dict[str, Any]


class Preprocessing(ResponseModel):
    """Where an image input came from and each step that made it a tensor."""

    source: dict[str, Any] = Field(
        description="`{kind: mnist, split, index, label}` or `{kind: upload, format, width, "
        "height, mode, bytes}`."
    )
    steps: list[PreprocessStep]


class Images(ResponseModel):
    """PNG renderings as data URIs (default options of /render), when `include` has `images`."""

    input: str
    output: str
    weights: str | None = None
    input_grad: str | None = None
    weight_grad: str | None = None


class MnistSplit(ResponseModel):
    """One split of the sample set."""

    name: str
    size: int
    image_shape: list[int]


class MnistInfo(ResponseModel):
    """The MNIST splits there are and where they come from."""

    splits: list[MnistSplit]
    source: str = Field(description="`embedded` (the shipped slice) or the directory read.")
    credit: str
    license: str


class MnistSample(ResponseModel):
    """One digit: its label, and the preprocessed tensor that `{"mnist": ...}` inputs use."""

    split: str
    index: int
    label: int
    tensor: TensorOut
    preprocessing: Preprocessing
