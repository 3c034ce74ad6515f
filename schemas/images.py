"""Images in and out: preprocessing of digits, rendering of tensors as PNG grids."""

from typing import Annotated, Any, Literal

from pydantic import Field

from schemas.base import INTEGRAL, JsonInt, ResponseModel, StrictModel
from schemas.tensors import TensorOut

MAX_IMAGE_SIDE = 512
"""Largest side of a preprocessed image (`preprocess.size`)."""

MAX_RENDER_SCALE = 32
"""Largest integer upscaling of a rendering."""

MIN_STD = 1e-6
"""Smallest Normalize std: torchvision refuses a std that is 0 in float32 (5e-324 is)."""

Side = Annotated[int, Field(ge=1, le=MAX_IMAGE_SIDE), INTEGRAL]


class PreprocessOptions(StrictModel):
    """How an image becomes a [1, 1, H, W] input, step by step with torchvision transforms:
    grayscale, invert, resize keeping the aspect ratio and centring (zero padding), then the
    seed's ToTensor (float32 in [0, 1]) and Normalize(mean, std). A 28x28 white-on-black digit
    is changed by the last two only."""

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
    std: float = Field(
        default=1.0,
        ge=MIN_STD,
        le=1e6,
        description="Normalize std, at least 1e-6 (so that it is not 0 in float32).",
    )


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


class SamplePreprocessing(ResponseModel):
    """Where one sample of a batch came from and each step that made it a tensor."""

    source: dict[str, Any] = Field(
        description="`{kind: mnist, split, index, label}` or `{kind: upload, format, width, "
        "height, mode, bytes, frames}`."
    )
    steps: list[PreprocessStep]


class Preprocessing(SamplePreprocessing):
    """Where an image input came from and each step that made it a tensor.

    One sample (`{"mnist": {"index": ...}}`, one uploaded file): its `source` and `steps`. A
    batch (`indices`, `batch_size`, several uploaded files): `source` says how the batch was
    chosen (`{kind: mnist, split, indices, labels}`, with `batch_size`, `shuffle`, `seed`,
    `batch`, `drop_last` and `batches` for a DataLoader batch; `{kind: upload, files}` for
    uploads), `steps` is the collation of the samples, and `samples` each sample's own source
    and steps, in batch order."""

    source: dict[str, Any] = Field(
        description="One sample: `{kind: mnist, split, index, label}` or `{kind: upload, "
        "format, width, height, mode, bytes, frames}`. A batch: `{kind: mnist, split, indices, "
        "labels, ...}` or `{kind: upload, files}`."
    )
    samples: list[SamplePreprocessing] | None = Field(
        default=None, description="For a batch: each sample's source and steps, in order."
    )


class Labels(ResponseModel):
    """The MNIST labels of the input's samples, and what the output says about them."""

    targets: list[int] = Field(description="Each sample's label (the batch's targets), in order.")
    predicted: list[int] | None = Field(
        default=None,
        description="`output.argmax(dim=1)` per sample when the final output is [N, 10] (one "
        "score per digit class, N = len(targets)), e.g. the seed pipeline's softmax; null "
        "otherwise.",
    )
    correct: int | None = Field(
        default=None,
        description="How many samples have `predicted == targets` (a network with random "
        "weights gets about 1 in 10); null when there is no `predicted`.",
    )


class Images(ResponseModel):
    """PNG renderings as data URIs (default options of /render), when `include` has `images`;
    null where the view does not exist in the run or its tensor is empty (nothing to draw)."""

    input: str | None
    output: str | None
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


class MnistBatch(ResponseModel):
    """The batch a DataLoader yields over a split: which digits, their labels and the tensor
    that `{"mnist": {"batch_size": ...}}` inputs use."""

    split: str
    batch_size: int
    shuffle: bool
    seed: int
    batch: int
    drop_last: bool
    batches: int = Field(description="How many batches the DataLoader yields (its `len`).")
    indices: list[int] = Field(description="The digits' positions in the split, in batch order.")
    labels: list[int]
    tensor: TensorOut = Field(description="[N, 1, 28, 28]: ToTensor, then Normalize(0.5, 1.0).")


class ColormapTable(ResponseModel):
    """One colormap as the pictures are coloured with it: matplotlib's 256 colours."""

    name: Colormap
    diverging: bool = Field(
        description="Centred on zero: a value v of a tensor whose largest magnitude is m takes "
        "t = 0.5 + v / (2 m). Otherwise the tensor's min..max is scaled to t = 0..1."
    )
    colors: list[str] = Field(
        description="256 colours `#rrggbb`: entry i is matplotlib's `cmap(i, bytes=True)`. A "
        "value at t in [0, 1] takes entry floor(t * 256), t = 1 the last, as matplotlib indexes "
        "floats.",
        min_length=256,
        max_length=256,
    )


class ColormapCatalog(ResponseModel):
    """The colormaps the pictures use, to draw colour bars beside them."""

    colormaps: list[ColormapTable]
