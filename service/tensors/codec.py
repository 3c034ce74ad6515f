"""Tensor codec: request tensor objects to torch tensors, torch tensors to response objects.

Values leave straight from their buffers: a numpy view for orjson (encoding=json) or the raw
little-endian bytes in base64 (encoding=base64); never `tolist()` or a per-element loop.
"""

import binascii
from typing import Any

import numpy as np
import orjson
import pybase64
import torch

from schemas.tensors import Encoding, TensorData
from service.errors import unprocessable
from service.planning.limits import check_elements, numel
from service.tensors.safetensors_body import TensorValues
from service.tensors.stats import SMALL_STATS, stats

TORCH_DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float64": torch.float64,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "int64": torch.int64,
}
"""The dtypes tensor objects carry, by name."""

_WIRE_DTYPES: dict[str, np.dtype[Any]] = {
    "float32": np.dtype("<f4"),
    "float64": np.dtype("<f8"),
    "float16": np.dtype("<f2"),
    "bfloat16": np.dtype("<i2"),  # numpy has no bfloat16: its 16 bits, viewed by torch
    "int64": np.dtype("<i8"),
}
"""How each dtype's little-endian bytes are read."""
_LIST_DTYPES: dict[str, np.dtype[Any]] = {
    "float32": np.dtype("f4"),
    "float64": np.dtype("f8"),
    "float16": np.dtype("f2"),
    "bfloat16": np.dtype("f4"),  # JSON numbers become bfloat16 through float32, as torch does
    "int64": np.dtype("i8"),
}


def dtype_name(dtype: torch.dtype) -> str:
    """A torch dtype as the API names it: `float32`, `int64`."""
    return str(dtype).removeprefix("torch.")


def decode(data: TensorData, field: str, max_elements: int) -> torch.Tensor:
    """Turn a request tensor object into a CPU tensor of its own `dtype`; 422/413 name `field`.

    JSON numbers are read as the dtype holds them (for bfloat16: through float32, as
    `torch.tensor(values, dtype=torch.bfloat16)` does); int64 values must be integers.
    """
    if data.shape is not None:
        check_elements(field, data.shape, max_elements)
    if data.data_b64 is not None:
        tensor = torch.from_numpy(_from_base64(data, field))
        return tensor.view(torch.bfloat16) if data.dtype == "bfloat16" else tensor
    tensor = torch.from_numpy(_from_list(data, field, max_elements))
    return tensor.to(torch.bfloat16) if data.dtype == "bfloat16" else tensor


def _from_base64(data: TensorData, field: str) -> np.ndarray:
    assert data.shape is not None and data.data_b64 is not None
    dtype = _WIRE_DTYPES[data.dtype]
    expected = numel(data.shape) * dtype.itemsize
    if len(data.data_b64) > 4 * ((expected + 2) // 3) + 4:
        raise unprocessable(
            "tensor-size-mismatch",
            f"{field}.data_b64",
            f"data_b64 is longer than {expected} bytes of {data.dtype} for shape {data.shape}",
            "send exactly the bytes of the shape",
        )
    try:
        raw = pybase64.b64decode(data.data_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise unprocessable(
            "invalid-base64",
            f"{field}.data_b64",
            f"data_b64 is not valid base64 ({exc})",
            "send standard base64 (RFC 4648) of the little-endian bytes",
        ) from exc
    if len(raw) != expected:
        raise unprocessable(
            "tensor-size-mismatch",
            f"{field}.data_b64",
            f"shape {data.shape} of {data.dtype} needs {expected} bytes, data_b64 holds {len(raw)}",
            "make shape and data agree",
        )
    array: np.ndarray = np.frombuffer(raw, dtype=dtype).reshape(data.shape).copy()
    return array


def _from_list(data: TensorData, field: str, max_elements: int) -> np.ndarray:
    assert data.data is not None
    bad = unprocessable(
        "invalid-tensor-data",
        f"{field}.data",
        "data must be numbers (or null for NaN) in a flat list, or in evenly nested lists",
        "send numbers only, every nested list of the same length",
    )
    try:
        raw = np.asarray(data.data)
        if raw.dtype == object and not _all_numbers_or_null(raw):
            raise bad
        if raw.dtype.kind not in "fiuO":
            raise bad
        if data.dtype == "int64":
            raw = _integers(raw, field)
        array: np.ndarray = raw.astype(_LIST_DTYPES[data.dtype])
    except (ValueError, TypeError, OverflowError) as exc:
        raise bad from exc
    if data.shape is None:
        if array.ndim == 0 or array.size == 0:  # [] has no shape to read off: give `shape`
            raise unprocessable(
                "invalid-tensor-data",
                f"{field}.data",
                "data is empty",
                "send at least one value",
            )
        check_elements(field, list(array.shape), max_elements)
        return array
    if array.ndim != 1:
        raise unprocessable(
            "invalid-tensor-data",
            f"{field}.data",
            "with `shape`, data must be a flat row-major list",
            "flatten data, or drop `shape` to send a nested list",
        )
    expected = numel(data.shape)
    if array.size != expected:
        raise unprocessable(
            "tensor-size-mismatch",
            f"{field}.data",
            f"shape {data.shape} needs {expected} values, data holds {array.size}",
            "make shape and data agree",
            context={"shape": data.shape, "values": int(array.size)},
        )
    shaped: np.ndarray = array.reshape(data.shape)
    return shaped


def _integers(raw: np.ndarray, field: str) -> np.ndarray:
    """int64 data: whole numbers only (no null, no fraction), within int64."""
    if raw.dtype.kind in "iu":
        return raw
    values = raw.astype(np.float64) if raw.dtype != object else None
    if values is None or not np.all(np.isfinite(values)) or not np.all(values == np.rint(values)):
        raise unprocessable(
            "invalid-tensor-data",
            f"{field}.data",
            "int64 data must be whole numbers (no null, no fractions)",
            "send integers, or set the tensor's dtype to a float dtype",
        )
    if np.any(np.abs(values) >= 2.0**63):
        raise OverflowError("beyond int64")
    return values.astype(np.int64)


_NUMBER_TYPES = frozenset({int, float, type(None)})
_type_of = np.frompyfunc(type, 1, 1)


def _all_numbers_or_null(array: np.ndarray) -> bool:
    """Check an object array (numbers mixed with nulls) holds nothing but numbers and nulls."""
    return set(_type_of(array).ravel().tolist()) <= _NUMBER_TYPES


def encode(tensor: torch.Tensor, *, with_values: bool, encoding: Encoding) -> dict[str, Any]:
    """Return the response object of a tensor: shape, dtype, stats, and values if asked."""
    t = tensor.detach()
    if t.device.type != "cpu" and (with_values or t.numel() <= SMALL_STATS):
        t = t.cpu()  # one device-to-host copy serves both the stats and the values
    if t.layout != torch.strided:
        t = t.to_dense()  # a sparse gradient (embedding with sparse=True), as values
    out: dict[str, Any] = {
        "shape": list(t.shape),
        "dtype": dtype_name(t.dtype),
        "stats": stats(t),
    }
    if with_values:
        flat = t.cpu().contiguous().reshape(-1)
        if encoding == "safetensors":
            out["values"] = TensorValues(t)  # written into the body by SafetensorsResponse
            return out
        if encoding == "base64":
            if flat.dtype == torch.bfloat16:
                flat = flat.view(torch.int16)  # the same bytes; numpy has no bfloat16
            array = flat.numpy()
            little = np.ascontiguousarray(array.astype(array.dtype.newbyteorder("<"), copy=False))
            # b64encode reads the buffer in place; a Fragment is written by orjson verbatim
            # (base64 needs no escaping), skipping a str copy and orjson's scan of 9 MB.
            out["data_b64"] = orjson.Fragment(b'"' + pybase64.b64encode(little.data) + b'"')
        else:
            out["data"] = (flat.float() if flat.dtype == torch.bfloat16 else flat).numpy()
    return out
