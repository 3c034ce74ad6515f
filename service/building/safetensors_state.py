"""Weights uploaded as a safetensors file, checked against the model's state_dict before use.

The file is never a pickle, a path or a URL: its bytes arrive in the request. Before any tensor
is made, its header is read and sized (the 8-byte length, then the JSON header, within the
header limit) and every entry checked: dtype, shape, and the byte range it claims inside the
file, and the keys against the model's `state_dict()` (missing, unexpected, misshapen, wrong
dtype: each named). Only then does the `safetensors` library decode the tensors.
"""

import json
import math
import struct
from dataclasses import dataclass
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load

from service.errors import ProblemError, field_error
from service.planning.dtypes import DTypes
from service.tensors.codec import dtype_name

DTYPES: dict[str, torch.dtype] = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
"""The safetensors dtype codes layerscope reads, as torch dtypes."""


@dataclass(frozen=True)
class Entry:
    """One tensor as the header declares it."""

    name: str
    dtype: torch.dtype
    shape: list[int]
    start: int
    end: int
    """Byte offsets in the data section (after the header)."""


def _bad(field: str, slug: str, message: str, fix: str, **context: Any) -> ProblemError:
    return ProblemError(
        422,
        slug,
        f"{message}; {fix}",
        title="Invalid safetensors file",
        errors=[field_error(field, message, fix)],
        context=context or None,
    )


def read_header(data: bytes, max_header_bytes: int, field: str = "weights") -> list[Entry]:
    """Parse and check a safetensors header without making any tensor: sizes, dtypes and the
    byte range of every entry (inside the file, not overlapping, covering it)."""
    if len(data) < 8:
        raise _bad(
            field,
            "invalid-safetensors",
            f"the file has {len(data)} bytes, fewer than the 8 of a safetensors header length",
            "send a complete safetensors file (safetensors.torch.save_file)",
        )
    (size,) = struct.unpack("<Q", data[:8])
    if size > max_header_bytes:
        raise ProblemError(
            413,
            "safetensors-header-too-large",
            f"the safetensors header declares {size:,} bytes, over the limit of "
            f"{max_header_bytes:,}; send a file with a smaller header",
            title="Safetensors header too large",
            errors=[field_error(field, f"header of {size:,} bytes", "send a smaller header")],
            context={"header_bytes": size, "limit": max_header_bytes},
            limit="safetensors_header",
        )
    if 8 + size > len(data):
        raise _bad(
            field,
            "truncated-safetensors",
            f"the header declares bytes 8..{8 + size} but the file ends at byte {len(data)}",
            "send the whole file",
            header_end=8 + size,
            file_bytes=len(data),
        )
    try:
        header = json.loads(data[8 : 8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(
            field,
            "invalid-safetensors",
            f"the header (bytes 8..{8 + size}) is not JSON ({exc})",
            "send a file written by the safetensors library",
        ) from exc
    if not isinstance(header, dict):
        raise _bad(field, "invalid-safetensors", "the header is not a JSON object", "see above")
    header.pop("__metadata__", None)
    data_bytes = len(data) - 8 - size
    entries = [_entry(name, raw, data_bytes, field) for name, raw in header.items()]
    covered = 0
    for entry in sorted(entries, key=lambda e: e.start):
        if entry.start != covered:
            raise _bad(
                f"{field}.{entry.name}",
                "invalid-safetensors",
                f"tensor {entry.name!r} starts at data byte {entry.start}, but the previous "
                f"tensor ends at {covered} (overlapping or with a gap)",
                "send a file written by the safetensors library",
            )
        covered = entry.end
    if covered != data_bytes:  # each range ends inside the file: bytes follow the last
        raise _bad(
            field,
            "invalid-safetensors",
            f"the tensors cover data bytes 0..{covered} but the file holds {data_bytes}: "
            f"{data_bytes - covered} bytes after the last tensor belong to none",
            "send the file exactly as the safetensors library wrote it, with nothing appended",
            covered=covered,
            data_bytes=data_bytes,
        )
    return entries


def _entry(name: str, raw: Any, data_bytes: int, field: str) -> Entry:
    at = f"{field}.{name}"
    if not isinstance(raw, dict) or not {"dtype", "shape", "data_offsets"} <= raw.keys():
        raise _bad(at, "invalid-safetensors", f"entry {name!r} is not a tensor entry", "see spec")
    dtype = DTYPES.get(str(raw["dtype"]))
    if dtype is None:
        raise _bad(
            at,
            "invalid-safetensors",
            f"tensor {name!r} has dtype {raw['dtype']!r}, which layerscope does not read",
            f"use one of: {', '.join(DTYPES)}",
        )
    shape, offsets = raw["shape"], raw["data_offsets"]
    valid = (
        isinstance(shape, list)
        and all(isinstance(d, int) and d >= 0 for d in shape)
        and isinstance(offsets, list)
        and len(offsets) == 2
        and all(isinstance(o, int) for o in offsets)
    )
    if not valid:
        raise _bad(at, "invalid-safetensors", f"tensor {name!r} has a malformed entry", "see spec")
    start, end = offsets
    if not 0 <= start <= end <= data_bytes:
        raise _bad(
            at,
            "invalid-safetensors",
            f"tensor {name!r} claims data bytes {start}..{end}, outside the file's 0..{data_bytes}",
            "send the whole file, exactly as written",
            start=start,
            end=end,
            data_bytes=data_bytes,
        )
    if end - start != math.prod(shape) * dtype.itemsize:
        raise _bad(
            at,
            "invalid-safetensors",
            f"tensor {name!r} of shape {shape} in {dtype_name(dtype)} needs "
            f"{math.prod(shape) * dtype.itemsize} bytes, its range {start}..{end} holds "
            f"{end - start}",
            "send a file written by the safetensors library",
        )
    return Entry(name, dtype, list(shape), start, end)


def state_from_safetensors(
    data: bytes,
    expected: dict[str, torch.Tensor],
    dtypes: DTypes,
    max_header_bytes: int,
    field: str = "weights",
) -> dict[str, torch.Tensor]:
    """The state dict a safetensors file holds, checked against `expected` (the model's meta
    state_dict, in the computation's dtype): every key there, nothing more, each of its shape
    and dtype (floats cast only as `dtypes` allows). 422 naming every key that is off."""
    entries = {entry.name: entry for entry in read_header(data, max_header_bytes, field)}
    problems = []
    for name in sorted(entries.keys() - expected.keys()):
        problems.append(
            field_error(
                f"{field}.{name}",
                f"{name!r} is not in the model's state_dict",
                "remove it (state_dict() names every parameter and buffer)",
                "unexpected_key",
            )
        )
    for name in sorted(expected.keys() - entries.keys()):
        shape = list(expected[name].shape)
        problems.append(
            field_error(
                f"{field}.{name}",
                f"{name!r} is missing",
                f"add {name} of shape {shape}",
                "missing_key",
            )
        )
    for name in sorted(entries.keys() & expected.keys()):
        entry, want = entries[name], expected[name]
        if entry.shape != list(want.shape):
            problems.append(
                field_error(
                    f"{field}.{name}",
                    f"{name} has shape {entry.shape}, the model expects {list(want.shape)}",
                    f"save {name} with shape {list(want.shape)}",
                    "shape_mismatch",
                )
            )
        elif entry.dtype.is_floating_point != want.dtype.is_floating_point:
            problems.append(
                field_error(
                    f"{field}.{name}",
                    f"{name} is {dtype_name(entry.dtype)}, the model expects "
                    f"{dtype_name(want.dtype)}",
                    f"save {name} as {dtype_name(want.dtype)}",
                    "dtype_mismatch",
                )
            )
    if problems:
        raise ProblemError(
            422,
            "state-mismatch",
            "; ".join(f"{p['message']} ({p['fix']})" for p in problems[:8])
            + (f" (and {len(problems) - 8} more)" if len(problems) > 8 else ""),
            title="Weights do not fit the model",
            errors=problems,
            context={"expected": {n: list(t.shape) for n, t in expected.items()}},
        )
    try:
        tensors = load(data)
    except SafetensorError as exc:
        raise _bad(
            field, "invalid-safetensors", f"safetensors: {exc}", "send a valid file"
        ) from exc
    return {
        name: dtypes.conform(t, expected[name].dtype, f"{field}.{name}")
        for name, t in tensors.items()
    }
