"""Tensor values as numpy arrays or, when asked for and importable, torch tensors.

Values arrive as their stored bits: a numpy array of the dtype's own element type, except
bfloat16, which numpy lacks and which arrives as its raw 16-bit patterns (uint16). As torch
tensors every dtype is itself, bfloat16 included (the same bits, viewed). As numpy arrays
bfloat16 becomes float32 holding exactly the same values (a bfloat16 is the upper half of a
float32), the form the JSON `data` of a bfloat16 tensor has too.
"""

import base64
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeAlias

import numpy as np
from numpy.typing import NDArray

from schemas.tensors import TensorOut

if TYPE_CHECKING:
    import torch

Array: TypeAlias = "NDArray[Any] | torch.Tensor"
"""A tensor's values: a numpy array, or a torch tensor."""

ArrayKind = Literal["auto", "numpy", "torch"]
"""What values come back as: `torch` tensors, `numpy` arrays, or `auto`: torch tensors when
torch is importable, else numpy arrays."""

STORAGE: dict[str, np.dtype[Any]] = {
    "float64": np.dtype("<f8"),
    "float32": np.dtype("<f4"),
    "float16": np.dtype("<f2"),
    "bfloat16": np.dtype("<u2"),
    "int64": np.dtype("<i8"),
    "int32": np.dtype("<i4"),
    "bool": np.dtype("bool"),
}
"""The numpy element type that holds each dtype's bits (little-endian, as the wire has them)."""


class Bits(NamedTuple):
    """A tensor's values as stored: `array` of STORAGE[dtype], and the tensor's own dtype."""

    array: NDArray[Any]
    dtype: str


def torch_module(kind: ArrayKind) -> ModuleType | None:
    """torch for `torch` (ImportError without it) and, when importable, for `auto`; None for
    `numpy`."""
    if kind == "numpy":
        return None
    try:
        import torch
    except ImportError:
        if kind == "torch":
            raise
        return None
    return torch


def to_array(bits: Bits, module: ModuleType | None) -> Array:
    """The values of `bits` as a torch tensor (with the torch `module`) or a numpy array
    (without)."""
    if module is not None:
        tensor: torch.Tensor = module.from_numpy(bits.array)
        return tensor.view(module.bfloat16) if bits.dtype == "bfloat16" else tensor
    if bits.dtype == "bfloat16":
        return (bits.array.astype(np.uint32) << 16).view(np.float32)
    return bits.array


def json_bits(tensor: TensorOut) -> Bits:
    """The stored bits of a tensor object of a JSON response, from `data_b64` or `data` (where
    null is NaN and float16 and bfloat16 values are the float32 numbers they are)."""
    storage = STORAGE[tensor.dtype]
    if tensor.data_b64 is not None:
        raw = bytearray(base64.b64decode(tensor.data_b64))
        return Bits(np.frombuffer(raw, dtype=storage).reshape(tensor.shape), tensor.dtype)
    if tensor.data is None:
        raise ValueError("this tensor carries no values: name its part in the request's `include`")
    if storage.kind in "iub" and tensor.dtype != "bfloat16":
        values = np.array(tensor.data, dtype=storage)
    else:
        floats = [np.nan if v is None else v for v in tensor.data]
        values = np.array(floats, dtype=np.float32 if tensor.dtype == "bfloat16" else storage)
        if tensor.dtype == "bfloat16":
            values = (values.view(np.uint32) >> 16).astype(storage)
    return Bits(values.reshape(tensor.shape), tensor.dtype)
