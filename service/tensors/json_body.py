"""A large JSON response streamed in slices of its arrays, byte for byte what orjson writes whole.

`OrjsonResponse` renders the whole body into one buffer: for a tensor of float32 values that is
about three bytes of text per byte of values, held at once. `json_response` keeps that path for
small bodies and streams the others: the report is written by orjson with every numpy array
replaced by a marker (a `\\x00`-delimited index, written verbatim as an `orjson.Fragment`; orjson
escapes control characters in strings, so `\\x00` never occurs in its own output), and the body
follows that skeleton, each array written by orjson `SLICE_ELEMENTS` at a time between its
brackets. The bytes are those of `orjson.dumps(content, option=OPT_SERIALIZE_NUMPY)` (NaN and
±Inf as null), and the extra memory is about one slice of text, not the whole body.

A streamed body has no Content-Length: it goes out with chunked transfer encoding (HTTP/1.1),
as the safetensors body would without its computed length. A small body keeps OrjsonResponse,
with its Content-Length.
"""

from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
from starlette.responses import Response, StreamingResponse

from service.orjson_response import ORJSON_OPTIONS, OrjsonResponse

STREAM_ELEMENTS = 1 << 18
"""Stream a body whose arrays hold at least this many elements in all (about 3 MiB of text)."""
ARRAY_ELEMENTS = 1 << 10
"""Arrays smaller than this stay in the skeleton (written whole by orjson)."""
SLICE_ELEMENTS = 1 << 16
"""Elements of an array written at a time (about 1 MiB of float32 text)."""

_KINDS = frozenset("fiub")
"""numpy kinds orjson writes (floats, signed and unsigned integers, bools)."""
_MARK = b"\x00"


def _streamable(node: Any) -> bool:
    """An array orjson writes as it would in place, sliced along its first axis."""
    return (
        isinstance(node, np.ndarray)
        and node.ndim >= 1
        and node.size >= ARRAY_ELEMENTS
        and node.flags.c_contiguous
        and node.dtype.kind in _KINDS
        and node.dtype.isnative
    )


def streamed_elements(content: Any) -> int:
    """How many elements the streamable arrays in `content` hold (a walk that builds nothing)."""
    total = 0
    stack = [content]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
        elif _streamable(node):
            total += node.size
    return total


def split_arrays(content: Any) -> tuple[Any, list[np.ndarray]]:
    """Replace each streamable array in `content` (through dicts, lists and tuples) by a marker
    fragment naming its index, and return the new tree with the arrays by index."""
    arrays: list[np.ndarray] = []

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list | tuple):
            return [walk(item) for item in node]
        if _streamable(node):
            arrays.append(node)
            return orjson.Fragment(_MARK + str(len(arrays) - 1).encode() + _MARK)
        return node

    return walk(content), arrays


def _slices(array: np.ndarray) -> Iterator[np.ndarray]:
    """The array in C-contiguous runs of whole rows of its first axis, about SLICE_ELEMENTS each."""
    row = array.size // array.shape[0]
    step = max(1, SLICE_ELEMENTS // row)
    for begin in range(0, array.shape[0], step):
        yield array[begin : begin + step]


def body_chunks(texts: list[bytes], arrays: list[np.ndarray]) -> Iterator[bytes]:
    """The body: `texts[0]`, array 0, `texts[1]`, array 1, ..., `texts[-1]`; each array written
    by orjson slice by slice, the slices' brackets dropped and their contents joined by commas.
    Each chunk carries the skeleton text before it."""
    lead = texts[0]
    for array, after in zip(arrays, texts[1:], strict=True):
        opener = b"["
        for piece in _slices(array):
            text = orjson.dumps(piece, option=ORJSON_OPTIONS)
            yield b"".join((lead, opener, memoryview(text)[1:-1]))
            lead, opener = b"", b","
        lead = b"]" + after
    yield lead


def frame(content: Any) -> tuple[list[bytes], list[np.ndarray]] | None:
    """The skeleton texts and the arrays between them, in body order; None when the body's
    arrays are too small to stream. Raises what orjson raises on content it cannot write."""
    if streamed_elements(content) < STREAM_ELEMENTS:
        return None
    tree, arrays = split_arrays(content)
    parts = orjson.dumps(tree, option=ORJSON_OPTIONS).split(_MARK)
    order = [arrays[int(key)] for key in parts[1::2]]
    return parts[0::2], order


class JsonStreamResponse(StreamingResponse):
    """JSON written as it is sent: the skeleton's texts and each array slice by slice
    (chunked transfer, no Content-Length)."""

    media_type = "application/json"

    def __init__(
        self,
        texts: list[bytes],
        arrays: list[np.ndarray],
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(body_chunks(texts, arrays), status_code=status_code, headers=headers)


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """The JSON response of `content`: streamed when its arrays hold STREAM_ELEMENTS or more,
    else rendered whole by OrjsonResponse (with a Content-Length). The bytes are the same."""
    framed = frame(content)
    if framed is None:
        return OrjsonResponse(content, status_code=status_code, headers=headers)
    texts, arrays = framed
    return JsonStreamResponse(texts, arrays, status_code=status_code, headers=headers)
