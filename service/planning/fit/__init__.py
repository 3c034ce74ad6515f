"""Does an input fit a layer? Plain-words explanations of misfits, with the fix.

PyTorch's own errors ("mat1 and mat2 shapes cannot be multiplied (1x500 and 784x10)") say what
broke, not what to change. `misfit` checks what a layer receives against its spec before
anything runs and says what the layer expects, what it receives, and which argument to set;
`fit` then runs the layer on the meta device, so that whatever a check does not foresee is still
refused before memory is allocated, with PyTorch's own reason.
"""

import torch
from torch import nn

from schemas.layer_specs import EmbeddingSpec
from schemas.layer_specs.base import LayerSpecBase
from service.errors import ProblemError, field_error
from service.planning.fit.dims import DIM_MISFITS
from service.planning.fit.features import FEATURE_MISFITS
from service.planning.fit.received import Misfit, Misfitter, Received
from service.planning.fit.spatial import SPATIAL_MISFITS

MISFITS: dict[type[LayerSpecBase], Misfitter] = {
    **SPATIAL_MISFITS,
    **FEATURE_MISFITS,
    **DIM_MISFITS,
}
"""The misfit check of each layer type; types without one (elementwise activations, dropout,
identity) take any input."""

__all__ = ["MISFITS", "Misfit", "Received", "fit", "misfit", "output_on_meta"]


def misfit(spec: LayerSpecBase, received: Received | list[int]) -> Misfit | None:
    """Return why the input does not fit the layer `spec`, or None when it fits."""
    if isinstance(received, list):
        received = Received(received)
    if not received.dtype.is_floating_point and not isinstance(spec, EmbeddingSpec):
        dtype = str(received.dtype).removeprefix("torch.")
        return Misfit(
            f"floating-point input, not {dtype} (integers are indices: only an "
            "embedding takes them)",
            "send float values (a float dtype), or put an embedding first",
            "dtype-mismatch",
        )
    check = MISFITS.get(type(spec))
    return None if check is None else check(spec, received)


def output_on_meta(module: nn.Module, received: Received) -> torch.Tensor:
    """Run `module` (built on meta, in the right mode and dtype) on a meta input; return the
    meta output. Allocates nothing. Raises as PyTorch would on real data."""
    module.train(received.training)
    x = torch.empty(received.shape, dtype=received.dtype, device="meta")
    with torch.no_grad():
        try:
            out = module(x)
        except RuntimeError as exc:
            if not received.training or "meta tensors" not in str(exc):
                raise
            # A train-mode step that reads a value cannot run on meta (a batch norm with
            # momentum=None divides by float(num_batches_tracked)); no layer's output shape
            # depends on the mode, so eval mode gives it.
            out = module.eval()(x)
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"the layer returns {type(out).__name__}, not a tensor")
    return out


def fit(
    spec: LayerSpecBase, meta_module: nn.Module, received: Received, who: str, field: str
) -> torch.Tensor:
    """Return the layer's meta output for what it receives, or raise a 422 that teaches.

    `who` names the layer in messages (e.g. "linear" or "layer 4 (linear)"); `field` is the
    request field of its spec.
    """
    shape = received.shape
    found = misfit(spec, received)
    if found is not None:
        message = found.sentence(who, shape)
        raise ProblemError(
            422,
            found.slug,
            message,
            title="Input does not fit the layer",
            errors=[field_error(field, message, found.fix)],
            context={
                "layer": spec.model_dump(),
                "received": shape,
                "expects": found.expects,
                "fix": found.fix,
                "suggestion": None
                if found.suggestion is None
                else {
                    "field": f"{field}.{found.suggestion[0]}",
                    "argument": found.suggestion[0],
                    "value": found.suggestion[1],
                },
            },
        )
    try:
        return output_on_meta(meta_module, received)
    except (
        RuntimeError,
        ValueError,
        IndexError,
        TypeError,
        NotImplementedError,
        ArithmeticError,  # a meta decomposition dividing by an empty size
    ) as exc:
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
