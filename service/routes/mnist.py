"""The MNIST sample set: what there is, each digit as a tensor and as a PNG, and the batches a
DataLoader yields over a split, as tensors and as the seed's titled grid."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from PIL import Image
from starlette.responses import Response

from schemas.base import Seed
from schemas.images import MAX_RENDER_SCALE, MnistBatch, MnistInfo, MnistSample, PreprocessOptions
from schemas.inputs import MAX_BATCH, MnistInput, MnistRef
from schemas.tensors import Encoding
from service.errors import PROBLEM_RESPONSES
from service.images import mnist
from service.images.batch_grid import draw_batch
from service.images.mnist_batches import (
    LoaderArgs,
    batch_count,
    check_batch_size,
    loader_positions,
)
from service.images.rendering import png_bytes
from service.orjson_response import OrjsonResponse
from service.planning.inputs import plan_batch, plan_mnist
from service.runtime import Runtime, get_runtime
from service.settings import Settings
from service.tensors.codec import encode
from service.tensors.safetensors_body import SAFETENSORS_CONTENT, tensor_response

router = APIRouter(prefix="/v1/mnist", tags=["mnist"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[422] | {"description": "Not found (problem details)"}
}

PNG_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/png": {}}, "description": "The digit, 8-bit gray."}
}


@router.get(
    "", summary="The MNIST splits there are, their sizes and source", response_model=MnistInfo
)
def splits(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Response:
    """List the splits of the sample set (the embedded 100 test digits, or the files of
    `LAYERSCOPE_MNIST_DIR`), their sizes, and the credit and licence of the data."""
    samples = mnist.sample_set(runtime.settings.mnist_dir)
    return OrjsonResponse(
        {
            "splits": [
                {
                    "name": name,
                    "size": int(s.labels.shape[0]),
                    "image_shape": list(s.images.shape[1:]),
                }
                for name, s in samples.splits.items()
            ],
            "source": samples.source,
            "credit": mnist.CREDIT,
            "license": mnist.LICENSE,
        }
    )


BATCH_PNG_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/png": {}}, "description": "The grid, 8-bit gray."}
}


@dataclass(frozen=True)
class Picked:
    """A DataLoader batch of a split: the split, the positions in batch order, and how many
    batches the DataLoader yields."""

    data: mnist.Split
    positions: list[int]
    batches: int

    @property
    def labels(self) -> list[int]:
        """The batch's targets, in order."""
        return [int(self.data.labels[i]) for i in self.positions]


def pick(settings: Settings, split: str, args: LoaderArgs) -> Picked:
    """Check the batch size (413, before any digit is read), find the split (404) and the batch
    (422 naming `query.batch`), as the DataLoader yields it."""
    check_batch_size(args.batch_size, settings.max_batch_size, "query.batch_size")
    data = mnist.split_of(settings.mnist_dir, split, "path")
    size = int(data.labels.shape[0])
    positions = loader_positions(split, size, args, "query")
    return Picked(data, positions, batch_count(size, args))


def loader_args(
    batch_size: Annotated[
        int, Query(ge=1, le=MAX_BATCH, description="DataLoader's batch_size.")
    ] = 8,
    shuffle: Annotated[bool, Query(description="DataLoader's shuffle.")] = False,
    seed: Annotated[
        Seed, Query(description="The generator: `torch.Generator().manual_seed(seed)`.")
    ] = 0,
    batch: Annotated[int, Query(ge=0, description="Which batch it yields, from 0.")] = 0,
    drop_last: Annotated[bool, Query(description="DataLoader's drop_last.")] = False,
) -> LoaderArgs:
    """The DataLoader's arguments from the query."""
    return LoaderArgs(batch_size, shuffle, seed, batch, drop_last)


Loader = Annotated[LoaderArgs, Depends(loader_args)]


@router.get(
    "/{split}/batch.png",
    summary="A DataLoader batch as the seed draws it: a grid of digits titled with their labels",
    response_class=Response,
    responses=BATCH_PNG_RESPONSE | PROBLEM_RESPONSES | NOT_FOUND,
)
def batch_png(
    split: str,
    args: Loader,
    runtime: Annotated[Runtime, Depends(get_runtime)],
    columns: Annotated[int, Query(ge=1, le=1024, description="Digits per row.")] = 4,
    scale: Annotated[
        int, Query(ge=1, le=MAX_RENDER_SCALE, description="Integer (nearest) upscaling.")
    ] = 3,
) -> Response:
    """The batch `DataLoader(dataset, batch_size, shuffle, drop_last,
    generator=torch.Generator().manual_seed(seed))` yields as its `batch`-th, drawn as the
    seed's figure: the digits' own pixels (white on black) upscaled `scale` times, `columns` to
    a row, each under a title band with its label and its position in the split ("7 (#0)"),
    in Pillow's built-in font. With the defaults, 8 digits in 2 rows of 4, 3 times their size.
    """
    picked = pick(runtime.settings, split, args)
    png = draw_batch(
        picked.data.images[picked.positions],
        picked.labels,
        picked.positions,
        columns=columns,
        scale=scale,
        max_pixels=runtime.settings.max_render_pixels,
    )
    return Response(png, media_type="image/png")


@router.get(
    "/{split}/batch",
    summary="A DataLoader batch: the digits' positions, labels and tensor",
    response_model=MnistBatch,
    responses=PROBLEM_RESPONSES | NOT_FOUND | SAFETENSORS_CONTENT,
)
def batch(
    split: str,
    args: Loader,
    runtime: Annotated[Runtime, Depends(get_runtime)],
    encoding: Encoding = "json",
) -> Response:
    """The batch `DataLoader(dataset, batch_size, shuffle, drop_last,
    generator=torch.Generator().manual_seed(seed))` yields as its `batch`-th: the digits'
    positions in the split, their labels, and the [N, 1, 28, 28] tensor (ToTensor, then
    Normalize(0.5, 1.0)) that `{"mnist": {"batch_size": ...}}` inputs use, and how many batches
    there are."""
    picked = pick(runtime.settings, split, args)
    labels = picked.labels
    images = (
        (picked.data.images[i].unsqueeze(0), {"kind": "mnist", "split": split, "index": i})
        for i in picked.positions
    )
    plan = plan_batch(images, PreprocessOptions(), False, {"kind": "mnist"}, labels=labels)
    return tensor_response(
        {
            "split": split,
            "batch_size": args.batch_size,
            "shuffle": args.shuffle,
            "seed": args.seed,
            "batch": args.batch,
            "drop_last": args.drop_last,
            "batches": picked.batches,
            "indices": picked.positions,
            "labels": labels,
            "tensor": encode(plan.make(), with_values=True, encoding=encoding),
        },
        encoding,
    )


@router.get(
    "/{split}/{index}.png",
    summary="One MNIST digit as a PNG",
    response_class=Response,
    responses=PNG_RESPONSE | NOT_FOUND,
)
def digit_png(
    split: str,
    index: int,
    runtime: Annotated[Runtime, Depends(get_runtime)],
    scale: Annotated[int, Query(ge=1, le=32, description="Integer (nearest) upscaling.")] = 1,
) -> Response:
    """The digit's raw pixels (white on black, 28x28 unless scaled) as an 8-bit gray PNG:
    uploading it unscaled gives exactly the tensor of `{"mnist": {...}}`."""
    pixels, _ = mnist.sample(runtime.settings.mnist_dir, split, index, "path")
    image = Image.fromarray(pixels.numpy(), mode="L")
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    return Response(png_bytes(image), media_type="image/png")


@router.get(
    "/{split}/{index}",
    summary="One MNIST digit: label and preprocessed tensor",
    response_model=MnistSample,
    responses=NOT_FOUND | SAFETENSORS_CONTENT,
)
def digit(
    split: str,
    index: int,
    runtime: Annotated[Runtime, Depends(get_runtime)],
    encoding: Encoding = "json",
) -> Response:
    """The digit's label and its [1, 1, 28, 28] tensor after the default preprocessing (the
    input `{"mnist": {"split": ..., "index": ...}}` gives), with each step echoed."""
    ref = MnistRef.model_construct(split=split, index=index)  # unknown split/index: 404 below
    spec = MnistInput(mnist=ref, preprocess=PreprocessOptions())
    plan = plan_mnist(spec, runtime.settings, field="path")
    assert plan.preprocessing is not None
    return tensor_response(
        {
            "split": split,
            "index": index,
            "label": plan.preprocessing["source"]["label"],
            "tensor": encode(plan.make(), with_values=True, encoding=encoding),
            "preprocessing": plan.preprocessing,
        },
        encoding,
    )
