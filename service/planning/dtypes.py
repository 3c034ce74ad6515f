"""Dtypes of a run: every float tensor a request gives is in the computation's dtype, or is cast
because the request says so (and the response lists it), or is refused. Nothing is converted
silently; integer tensors (indices, counters) are never cast to or from floats."""

from dataclasses import dataclass, field

import torch

from service.errors import unprocessable
from service.tensors.codec import TORCH_DTYPES, dtype_name


@dataclass
class DTypes:
    """The computation's dtype, whether casts are allowed, and the casts made so far."""

    compute: torch.dtype = torch.float32
    cast: bool = False
    casts: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, name: str, cast: bool) -> "DTypes":
        """From a request's `dtype` and `cast`."""
        return cls(TORCH_DTYPES[name], cast)

    def conform(self, tensor: torch.Tensor, want: torch.dtype, field_: str) -> torch.Tensor:
        """Return `tensor` in dtype `want`: as it is, cast (when allowed, recorded), or a 422
        naming the field, both dtypes and the fix."""
        if tensor.dtype == want:
            return tensor
        got, need = dtype_name(tensor.dtype), dtype_name(want)
        if tensor.is_floating_point() != want.is_floating_point:
            kind = "integer" if not want.is_floating_point else "floating-point"
            raise unprocessable(
                "dtype-mismatch",
                field_,
                f"{field_} has dtype {got} but {kind} values ({need}) are needed here",
                f'send it with "dtype": "{need}" (integers are never cast to floats or back)',
                context={"received": got, "expected": need},
            )
        if not self.cast:
            raise unprocessable(
                "dtype-mismatch",
                field_,
                f"{field_} has dtype {got} but the computation runs in {need}",
                f'set "dtype": "{got}" to compute in {got}, send the values as {need}, or set '
                f'"cast": true to convert them to {need}',
                context={"received": got, "expected": need},
            )
        self.casts.append({"field": field_, "from_dtype": got, "to_dtype": need})
        return tensor.to(want)

    def for_float(self, tensor: torch.Tensor, field_: str) -> torch.Tensor:
        """Conform a float tensor to the computation's dtype (integers stay, for indices)."""
        if not tensor.is_floating_point():
            return tensor
        return self.conform(tensor, self.compute, field_)
