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
from service.tensors.stats import SMALL_STATS, stats

_NUMPY_DTYPES: dict[str, np.dtype[Any]] = {"float32": np.dtype("<f4"), "float64": np.dtype("<f8")}


def decode(data: TensorData, field: str, max_elements: int) -> torch.Tensor:
    """Turn a request tensor object into a float32 CPU tensor; 422/413 name `field` on error."""
    if data.shape is not None:
        check_elements(field, data.shape, max_elements)
    if data.data_b64 is not None:
        array = _from_base64(data, field)
    else:
        array = _from_list(data, field, max_elements)
    return torch.from_numpy(array.astype(np.float32, copy=False))


def _from_base64(data: TensorData, field: str) -> np.ndarray:
    assert data.shape is not None and data.data_b64 is not None
    dtype = _NUMPY_DTYPES[data.dtype]
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
        array: np.ndarray = raw.astype(_NUMPY_DTYPES[data.dtype])
    except (ValueError, TypeError) as exc:
        raise bad from exc
    if data.shape is None:
        if array.ndim == 0 or array.size == 0:
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
    out: dict[str, Any] = {
        "shape": list(t.shape),
        "dtype": str(t.dtype).removeprefix("torch."),
        "stats": stats(t),
    }
    if with_values:
        array = t.cpu().contiguous().numpy().reshape(-1)
        if encoding == "base64":
            little = np.ascontiguousarray(array.astype(array.dtype.newbyteorder("<"), copy=False))
            # b64encode reads the buffer in place; a Fragment is written by orjson verbatim
            # (base64 needs no escaping), skipping a str copy and orjson's scan of 9 MB.
            out["data_b64"] = orjson.Fragment(b'"' + pybase64.b64encode(little.data) + b'"')
        else:
            out["data"] = array
    return out
