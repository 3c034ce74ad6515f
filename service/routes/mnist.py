"""The MNIST sample set: what there is, each digit as a tensor and as a PNG."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from PIL import Image
from starlette.responses import Response

from schemas.images import MnistInfo, MnistSample, PreprocessOptions
from schemas.inputs import MnistInput, MnistRef
from schemas.tensors import Encoding
from service.errors import PROBLEM_RESPONSES
from service.images import mnist
from service.images.rendering import png_bytes
from service.orjson_response import OrjsonResponse
from service.planning.inputs import plan_mnist
from service.runtime import Runtime, get_runtime
from service.tensors.codec import encode

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
    responses=NOT_FOUND,
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
    return OrjsonResponse(
        {
            "split": split,
            "index": index,
            "label": plan.preprocessing["source"]["label"],
            "tensor": encode(plan.make(), with_values=True, encoding=encoding),
            "preprocessing": plan.preprocessing,
        }
    )
