"""Does an input shape fit a layer? Plain-words explanations of misfits, with the fix.

PyTorch's own errors ("mat1 and mat2 shapes cannot be multiplied (1x500 and 784x10)") say what
broke, not what to change. `misfit` checks a shape against a spec before anything runs and says
what the layer expects, what it receives, and which argument to set.
"""

from dataclasses import dataclass

import torch
from torch import nn

from schemas.layer_specs import (
    Conv2dSpec,
    FlattenSpec,
    LayerSpec,
    LinearSpec,
    LogSoftmaxSpec,
    MaxPool2dSpec,
    SoftmaxSpec,
    pair,
)
from service.errors import ProblemError, field_error


@dataclass(frozen=True)
class Misfit:
    """Why a shape does not fit a layer: what it expects, and the fix."""

    expects: str
    fix: str

    def sentence(self, who: str, shape: list[int]) -> str:
        """Say it in one line: '<who> expects X but receives [..]; <fix>'."""
        return f"{who} expects {self.expects} but receives {shape}; {self.fix}"


def _spatial(spec: Conv2dSpec | MaxPool2dSpec, shape: list[int]) -> Misfit | None:
    if len(shape) not in (3, 4):
        return Misfit(
            "a 4-D input [N, C, H, W] (or 3-D [C, H, W])",
            "reshape the input, e.g. to [1, C, H, W]",
        )
    kernel, dilation = pair(spec.kernel_size), pair(spec.dilation)
    padding = (0, 0) if isinstance(spec.padding, str) else pair(spec.padding)
    if isinstance(spec, Conv2dSpec) and spec.padding == "same":
        return None
    size = shape[-2:]
    for axis, name in enumerate(("height", "width")):
        effective = dilation[axis] * (kernel[axis] - 1) + 1
        padded = size[axis] + 2 * padding[axis]
        if effective > padded:
            need = (effective - size[axis] + 1) // 2
            return Misfit(
                f"an input {name} of at least {effective - 2 * padding[axis]} "
                f"(kernel {kernel[axis]} dilated to {effective}, padding {padding[axis]})",
                f"use a smaller kernel_size or dilation, or set padding >= {need}",
            )
    return None


def _conv(spec: Conv2dSpec, shape: list[int]) -> Misfit | None:
    found = _spatial(spec, shape)
    if found is not None:
        return found
    channels = shape[-3]
    if channels != spec.in_channels:
        return Misfit(
            f"{spec.in_channels} input channels (dim {len(shape) - 3})",
            f"set in_channels={channels}"
            + (f" (and groups dividing {channels})" if spec.groups > 1 else ""),
        )
    if spec.padding_mode != "zeros" and not isinstance(spec.padding, str):
        padding = pair(spec.padding)
        for axis, name in enumerate(("height", "width")):
            limit = shape[-2 + axis] if spec.padding_mode == "circular" else shape[-2 + axis] - 1
            if padding[axis] > limit:
                return Misfit(
                    f"padding at most {limit} along the {name} with padding_mode="
                    f"'{spec.padding_mode}'",
                    f"set padding <= {limit} or use padding_mode='zeros'",
                )
    return None


def _linear(spec: LinearSpec, shape: list[int]) -> Misfit | None:
    if shape[-1] == spec.in_features:
        return None
    hint = " (or add a flatten layer before it)" if len(shape) > 2 else ""
    return Misfit(
        f"{spec.in_features} input features (the last dimension)",
        f"set in_features={shape[-1]}{hint}",
    )


def _dim_range(rank: int) -> str:
    return f"between {-max(rank, 1)} and {max(rank, 1) - 1}"


def _flatten(spec: FlattenSpec, shape: list[int]) -> Misfit | None:
    rank = len(shape)
    for name in ("start_dim", "end_dim"):
        dim = getattr(spec, name)
        if not -max(rank, 1) <= dim < max(rank, 1):
            return Misfit(
                f"{name}={dim} to be a dimension of the input",
                f"set {name} {_dim_range(rank)}",
            )
    start, end = spec.start_dim % max(rank, 1), spec.end_dim % max(rank, 1)
    if start > end:
        return Misfit(
            f"start_dim ({spec.start_dim}) to come no later than end_dim ({spec.end_dim})",
            "swap them, or set end_dim=-1",
        )
    return None


def _softmax(spec: SoftmaxSpec | LogSoftmaxSpec, shape: list[int]) -> Misfit | None:
    rank = len(shape)
    if -max(rank, 1) <= spec.dim < max(rank, 1):
        return None
    return Misfit(f"dim={spec.dim} to be a dimension of the input", f"set dim {_dim_range(rank)}")


def misfit(spec: LayerSpec, shape: list[int]) -> Misfit | None:
    """Return why `shape` does not fit the layer `spec`, or None when it fits."""
    match spec:
        case Conv2dSpec():
            return _conv(spec, shape)
        case MaxPool2dSpec():
            return _spatial(spec, shape)
        case LinearSpec():
            return _linear(spec, shape)
        case FlattenSpec():
            return _flatten(spec, shape)
        case SoftmaxSpec() | LogSoftmaxSpec():
            return _softmax(spec, shape)
    return None


def output_shape_on_meta(module: nn.Module, shape: list[int]) -> list[int]:
    """Run `module` (built on meta) on a meta input of `shape`; return the output shape.

    Allocates nothing. Raises RuntimeError (or ValueError) as PyTorch would on real data.
    """
    with torch.no_grad():
        out = module(torch.empty(shape, device="meta"))
    return list(out.shape)


def fit(
    spec: LayerSpec, meta_module: nn.Module, shape: list[int], who: str, field: str
) -> list[int]:
    """Return the layer's output shape for an input `shape`, or raise a 422 that teaches.

    `who` names the layer in messages (e.g. "linear" or "layer 4 (linear)"); `field` is the
    request field of its spec.
    """
    found = misfit(spec, shape)
    if found is not None:
        message = found.sentence(who, shape)
        raise ProblemError(
            422,
            "shape-mismatch",
            message,
            title="Input does not fit the layer",
            errors=[field_error(field, message, found.fix)],
            context={
                "layer": spec.model_dump(),
                "received": shape,
                "expects": found.expects,
                "fix": found.fix,
            },
        )
    try:
        return output_shape_on_meta(meta_module, shape)
    except (RuntimeError, ValueError, IndexError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        message = f"{who} cannot take an input of shape {shape} (PyTorch: {reason})"
        fix = "change the layer's arguments or the input shape so they agree"
        raise ProblemError(
            422,
            "shape-mismatch",
            f"{message}; {fix}",
            title="Input does not fit the layer",
            errors=[field_error(field, message, fix)],
            context={"layer": spec.model_dump(), "received": shape},
        ) from exc
