"""Plan a run before any real tensor exists: input source, shapes on meta, element limits.

Everything a request could get wrong about sizes is found here, from the spec alone, so that a
misfit or an oversized request is refused before memory is allocated.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
import torch
from torch.utils.data import default_collate

from schemas.images import PreprocessOptions
from schemas.inputs import InputSpec, MnistInput, RandomInput
from schemas.requests import BackwardSpec, GradOutputBackward
from service.building.seeding import seeded_randint, seeded_randn
from service.errors import ProblemError, field_error
from service.images import mnist
from service.images.mnist_batches import (
    LoaderArgs,
    batch_count,
    check_batch_size,
    check_indices,
    loader_positions,
    loader_source,
)
from service.images.preprocess import preprocess
from service.planning.dtypes import DTypes
from service.planning.limits import check_elements
from service.settings import Settings
from service.tensors.codec import decode


@dataclass
class InputPlan:
    """The input's shape and dtype, and how to make it."""

    shape: list[int]
    seed: int | None
    requires_grad: bool
    make: Callable[[], torch.Tensor]
    preprocessing: dict[str, Any] | None = None
    """For image inputs: `{"source": {...}, "steps": [...]}` as the response echoes it (and
    `samples` for a batch)."""
    dtype: torch.dtype = torch.float32
    labels: list[int] | None = None
    """For MNIST inputs: each sample's label, in batch order."""


def echo_bytes(plan: InputPlan) -> int:
    """Bytes of what the response says about the input besides its tensor: the preprocessing
    echo, and the labels report (each target, prediction and a count, at most 20 digits each)."""
    echo = len(orjson.dumps(plan.preprocessing)) if plan.preprocessing is not None else 0
    labels = 64 + 2 * 21 * len(plan.labels) if plan.labels is not None else 0
    return echo + labels


def plan_input(spec: InputSpec, settings: Settings, dtypes: DTypes | None = None) -> InputPlan:
    """Check the input's size and dtype and return how to make it (random values are not drawn
    yet). Float inputs come in the computation's dtype (explicit ones cast only as `dtypes`
    allows); int64 ones stay integers."""
    dtypes = dtypes or DTypes()
    compute = dtypes.compute
    if isinstance(spec, RandomInput):
        check_elements("body.input", spec.shape, settings.max_tensor_elements)
        shape, seed = list(spec.shape), spec.seed
        if spec.high is not None:
            high = spec.high
            return InputPlan(
                shape, seed, False, lambda: seeded_randint(shape, high, seed), dtype=torch.int64
            )
        grad = True if spec.requires_grad is None else spec.requires_grad
        return InputPlan(
            shape, seed, grad, lambda: seeded_randn(shape, seed).to(compute), dtype=compute
        )
    if isinstance(spec, MnistInput):
        return plan_mnist(spec, settings, dtype=compute)
    tensor = decode(spec.tensor, "body.input.tensor", settings.max_tensor_elements)
    tensor = dtypes.for_float(tensor, "body.input.tensor")
    floating = tensor.is_floating_point()
    grad = floating if spec.requires_grad is None else spec.requires_grad
    return InputPlan(list(tensor.shape), None, grad, lambda: tensor, dtype=tensor.dtype)


def plan_image(
    pixels: torch.Tensor,
    options: PreprocessOptions,
    requires_grad: bool,
    source: dict[str, Any],
    settings: Settings,
    field: str = "body.input",
    dtype: torch.dtype = torch.float32,
) -> InputPlan:
    """Preprocess a uint8 [C, H, W] image into a [1, 1, H, W] input, echoing every step (the
    float32 result is then in the computation's `dtype`)."""
    check_elements(field, [1, 1, *_side(options)], settings.max_tensor_elements)
    tensor, steps = preprocess(pixels, options)
    tensor = tensor.to(dtype)
    echo = {"source": source, "steps": steps}
    return InputPlan(list(tensor.shape), None, requires_grad, lambda: tensor, echo, dtype)


def check_batch(count: int, options: PreprocessOptions, settings: Settings, field: str) -> None:
    """Refuse a batch of `count` images that is too many samples (413) or elements (413), from
    the numbers alone: call it before any image is read or decoded."""
    check_batch_size(count, settings.max_batch_size, field)
    check_elements(field, [count, 1, *_side(options)], settings.max_tensor_elements)


def plan_batch(
    images: Iterable[tuple[torch.Tensor, dict[str, Any]]],
    options: PreprocessOptions,
    requires_grad: bool,
    source: dict[str, Any],
    dtype: torch.dtype = torch.float32,
    labels: list[int] | None = None,
) -> InputPlan:
    """Preprocess each uint8 [C, H, W] image (with its own source echo) and collate them as a
    DataLoader does (`default_collate`: a stack) into [N, 1, H, W]. Check the batch's size with
    `check_batch` first."""
    tensors: list[torch.Tensor] = []
    samples: list[dict[str, Any]] = []
    for pixels, own in images:
        tensor, steps = preprocess(pixels, options)
        tensors.append(tensor[0])
        samples.append({"source": own, "steps": steps})
    batch: torch.Tensor = default_collate(tensors).to(dtype)
    collate = {
        "name": "collate",
        "transform": "default_collate",
        "params": {"samples": len(tensors), "shape": list(batch.shape)},
    }
    echo = {"source": source, "steps": [collate], "samples": samples}
    return InputPlan(
        list(batch.shape), None, requires_grad, lambda: batch, echo, dtype, labels=labels
    )


def _side(options: PreprocessOptions) -> list[int]:
    return [options.size] * 2 if isinstance(options.size, int) else list(options.size)


def plan_mnist(
    spec: MnistInput,
    settings: Settings,
    field: str = "body.input.mnist",
    dtype: torch.dtype = torch.float32,
) -> InputPlan:
    """MNIST digits through the same preprocessing as an upload: one digit (`index`) as
    [1, 1, H, W], or a batch (`indices`, or the batch a DataLoader yields) as [N, 1, H, W], with
    their labels. Sizes are checked before any digit is read; a digit or batch that is not
    there is a 422."""
    ref = spec.mnist
    if ref.index is not None:
        pixels, label = mnist.sample(settings.mnist_dir, ref.split, ref.index, field)
        one = {"kind": "mnist", "split": ref.split, "index": ref.index, "label": label}
        plan = plan_image(
            pixels.unsqueeze(0), spec.preprocess, spec.requires_grad, one, settings, dtype=dtype
        )
        plan.labels = [label]
        return plan
    count_field = field + (".indices" if ref.indices is not None else ".batch_size")
    check_batch(ref.count, spec.preprocess, settings, count_field)
    data = mnist.split_of(settings.mnist_dir, ref.split, field)
    size = int(data.labels.shape[0])
    source: dict[str, Any] = {"kind": "mnist", "split": ref.split}
    if ref.indices is not None:
        check_indices(ref.split, size, ref.indices, field)
        positions = list(ref.indices)
    else:
        assert ref.batch_size is not None
        args = LoaderArgs(ref.batch_size, ref.shuffle, ref.seed, ref.batch, ref.drop_last)
        positions = loader_positions(ref.split, size, args, field)
        source |= loader_source(args, batch_count(size, args))
    labels = [int(data.labels[i]) for i in positions]
    source |= {"indices": positions, "labels": labels}
    images = (
        (
            data.images[i].unsqueeze(0),
            {"kind": "mnist", "split": ref.split, "index": i, "label": label},
        )
        for i, label in zip(positions, labels, strict=True)
    )
    return plan_batch(images, spec.preprocess, spec.requires_grad, source, dtype, labels)


def plan_grad_output(
    backward: BackwardSpec | None,
    output_shape: list[int],
    settings: Settings,
    dtypes: DTypes | None = None,
) -> torch.Tensor | None:
    """Decode a `grad_output` and check it has the output's shape (422 naming both if not) and
    the computation's dtype (cast only as `dtypes` allows)."""
    if not isinstance(backward, GradOutputBackward):
        return None
    field = "body.backward.grad_output"
    dtypes = dtypes or DTypes()
    tensor = decode(backward.grad_output, field, settings.max_tensor_elements)
    tensor = dtypes.conform(tensor, dtypes.compute, field)
    if list(tensor.shape) != output_shape:
        raise ProblemError(
            422,
            "grad-output-shape",
            f"grad_output has shape {list(tensor.shape)} but the output has shape "
            f"{output_shape}; send grad_output with shape {output_shape}",
            errors=[
                field_error(
                    field,
                    f"shape {list(tensor.shape)}",
                    f"use shape {output_shape}",
                    "shape_mismatch",
                )
            ],
            context={"expected": output_shape, "received": list(tensor.shape)},
        )
    return tensor
