"""A response as one safetensors file: every returned tensor's values under a stable dotted name,
and the JSON report (everything but the values) in the header's `__metadata__`.

Written to the safetensors specification (an 8-byte little-endian header length, the JSON
header padded with spaces to a multiple of 8 bytes, then the tensors' bytes back to back) and
streamed tensor by tensor from their own buffers, so the body is never assembled in memory. The
tensors are laid out widest element first (8-byte, then 4, 2, 1), so every tensor starts at an
offset that is a multiple of its element size: a browser can view each one as a typed array
(`new Float32Array(buffer, 8 + headerLength + begin, count)`) without copying. The
`safetensors` library reads every response as it is (a test checks).

Names: `input`, `input.grad`, `output`, `output.grad`, `parameters.<state_dict name>` (and
`.grad`), `buffers.<state_dict name>`, `layers.<module name>.output` (and `.grad`; a module's
second call is `layers.<name>@1.output`), `tensors.<name>` and `tensors.<name>.grad` for an
autograd graph. Each tensor object of the report names its entry in `key`.
"""

import json
import struct
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import torch
from starlette.responses import Response, StreamingResponse

from service.tensors.json_body import json_response

MEDIA_TYPE = "application/x-safetensors"
"""The media type of a safetensors body (no type is registered for the format)."""

CODES: dict[torch.dtype, str] = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.bool: "BOOL",
}
"""safetensors' dtype codes."""

PARTS = frozenset({"parameters", "buffers"})
"""Report keys whose entries are named by their own state_dict names."""


class TensorValues:
    """A tensor's values waiting to be written into a safetensors body (CPU, contiguous)."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor.detach().cpu().contiguous()


def _row_name(row: dict[str, Any]) -> str:
    name = str(row.get("name", ""))
    call = row.get("call", 0)
    return f"{name}@{call}" if call else name


def collect(body: Any) -> tuple[Any, dict[str, torch.Tensor]]:
    """Replace every TensorValues in a response body by its entry's name (`key`), and return
    the report with the tensors by name."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(node: Any, path: list[str]) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, value in node.items():
                if isinstance(value, TensorValues):
                    name = ".".join(path)
                    tensors[name] = value.tensor
                    out["key"] = name
                    continue
                if key in PARTS:
                    out[key] = {k: walk(v, [key, str(k)]) for k, v in value.items()}
                elif key == "value":
                    out[key] = walk(value, path)
                else:
                    out[key] = walk(value, [*path, str(key)])
            return out
        if isinstance(node, list):
            return [
                walk(
                    item,
                    [*path, _row_name(item)]
                    if isinstance(item, dict) and "name" in item
                    else [*path, str(i)],
                )
                for i, item in enumerate(node)
            ]
        return node

    report = walk(body, [])
    return report, tensors


def _raw(tensor: torch.Tensor) -> memoryview:
    """The little-endian bytes of a CPU tensor, in place."""
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.view(torch.int16)  # numpy has no bfloat16; the same bytes
    array = tensor.reshape(-1).numpy()
    little = np.ascontiguousarray(array.astype(array.dtype.newbyteorder("<"), copy=False))
    return memoryview(little.data).cast("B")


def header(report: Any, tensors: dict[str, torch.Tensor]) -> tuple[bytes, list[str]]:
    """The header bytes (length and padded JSON) and the order the tensors follow in."""
    order = sorted(tensors, key=lambda name: (-tensors[name].element_size(), name))
    report_text = orjson.dumps(report, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    entries: dict[str, Any] = {"__metadata__": {"report": report_text}}
    begin = 0
    for name in order:
        t = tensors[name]
        size = t.numel() * t.element_size()
        entries[name] = {
            "dtype": CODES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [begin, begin + size],
        }
        begin += size
    encoded = json.dumps(entries, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    return struct.pack("<Q", len(encoded)) + encoded, order


class SafetensorsResponse(StreamingResponse):
    """A response body that is one safetensors file, streamed tensor by tensor."""

    def __init__(self, body: Any, headers: dict[str, str] | None = None) -> None:
        report, tensors = collect(body)
        head, order = header(report, tensors)
        length = len(head) + sum(t.numel() * t.element_size() for t in tensors.values())

        def chunks() -> Iterator[bytes | memoryview]:
            yield head
            for name in order:
                if tensors[name].numel():
                    yield _raw(tensors[name])

        super().__init__(
            chunks(),
            media_type=MEDIA_TYPE,
            headers={"Content-Length": str(length), **(headers or {})},
        )


def tensor_response(body: Any, encoding: str) -> Response:
    """The response of an inspection: one safetensors file for `encoding` safetensors, else
    JSON (values as lists or base64 inside it; streamed when its arrays are large, see
    service/tensors/json_body.py)."""
    if encoding == "safetensors":
        return SafetensorsResponse(body)
    return json_response(body)


SAFETENSORS_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            MEDIA_TYPE: {
                "schema": {
                    "type": "string",
                    "format": "binary",
                    "description": "With encoding=safetensors or Accept: "
                    "application/x-safetensors: one safetensors file, the JSON report in its "
                    "header's `__metadata__.report`.",
                }
            }
        }
    }
}
"""The OpenAPI entry of the binary form of an inspection's 200 response."""
