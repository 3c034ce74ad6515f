"""An upper estimate of a response's bytes, added up from what it will carry, before anything runs.

A response is its structure (keys, shapes, stats, table rows), the values of the tensors that
`include` names, and PNG data URIs when it names `images`. Each part is bounded from shapes
alone:
- every tensor object costs TENSOR_OBJECT_BYTES for its keys, shape, dtype and stats;
- values cost JSON_BYTES_PER_VALUE each in a JSON list (orjson's shortest float32 repr is at
  most 15 characters and a comma), 4/3 of their raw bytes in base64, or their raw bytes and a
  header entry in a safetensors body;
- a picture costs its PNG's worst case (raw pixels plus one filter byte per row, zlib's stored
  blocks and the PNG chunks) in base64, as rendering draws it with default options;
- text that is known in advance (the model table, reprs) is counted as it will be written.

tests/planning/test_response_size.py compares the estimate with the real length of responses
over a table of requests: it is never below it.
"""

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from schemas.tensors import Encoding
from service.errors import ProblemError
from service.images.rendering import PADDING, default_columns, grid_size, tile_shape

JSON_BYTES_PER_VALUE = 16
"""Upper bound of one float32 in a JSON list: sign, 9 significant digits, exponent, comma."""
TENSOR_OBJECT_BYTES = 640
"""Upper bound of a tensor object without its values: keys, shape, dtype, stats, grad_fn."""
BASE_BYTES = 2048
"""Upper bound of a response's fixed fields: device, seeds, timings, preprocessing echo."""
SAFETENSORS_ENTRY_BYTES = 256
"""Upper bound of one tensor's header entry in a safetensors body (name, dtype, shape, offsets),
and of the escaping its report object gets inside the header's JSON string."""
DATA_URI_PREFIX_BYTES = 64
"""`"view":"data:image/png;base64,` and the closing quote."""
PNG_FIXED_BYTES = 256
"""PNG signature, IHDR, IEND, zlib header and checksum."""
ZLIB_STORED_BLOCK = 16383
"""Pillow's zlib at its lowest level never expands a block past a stored block of this size."""


def base64_bytes(raw: int) -> int:
    """Bytes of `raw` bytes in base64, padding included."""
    return 4 * math.ceil(raw / 3)


@dataclass
class ResponseEstimate:
    """Adds up the upper bounds of the parts of one response (see the module docstring)."""

    encoding: Encoding
    bytes: int = BASE_BYTES
    parts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int) -> None:
        """Count `count` bytes of the part `kind` (for the 413's context)."""
        self.bytes += count
        self.parts[kind] = self.parts.get(kind, 0) + count

    def tensor(self, numel: int, *, with_values: bool, item_size: int = 4) -> None:
        """A tensor object of `numel` elements of `item_size` bytes, with or without values."""
        self.add("tensors", TENSOR_OBJECT_BYTES)
        if with_values:
            raw = numel * item_size
            if self.encoding == "json":
                self.add("values", numel * JSON_BYTES_PER_VALUE)
            elif self.encoding == "base64":
                self.add("values", base64_bytes(raw))
            else:  # safetensors: the raw bytes, and the entry in the header
                self.add("values", raw + SAFETENSORS_ENTRY_BYTES)

    def text(self, count: int) -> None:
        """Text known in advance, e.g. a model's table or a module's repr (in a safetensors
        body it sits in a JSON string: its quotes are escaped, at most doubling it)."""
        self.add("text", 2 * count if self.encoding == "safetensors" else count)

    def picture(self, shape: list[int], *, rgb: bool, spatial_dims: int | None = None) -> None:
        """The PNG data URI of a tensor of `shape` as rendering draws it (scale 1, default
        columns); `rgb` for a colour map, else one gray channel."""
        tiles, height, width = tile_shape(shape, spatial_dims)
        grid_h, grid_w = PADDING, PADDING
        if tiles and height and width:
            columns = default_columns(shape, spatial_dims)
            _, grid_h, grid_w = grid_size(tiles, height, width, columns, 1)
        raw = grid_h * (grid_w * (3 if rgb else 1) + 1)
        blocks = math.ceil(raw / ZLIB_STORED_BLOCK)
        png = raw + 5 * blocks + PNG_FIXED_BYTES + 12 * blocks
        self.add("images", base64_bytes(png) + DATA_URI_PREFIX_BYTES)


def add_run(
    estimate: ResponseEstimate,
    *,
    include: Collection[str],
    backward: bool,
    input_shape: list[int],
    input_grad: bool,
    outputs: list[list[int]],
    parameters: list[list[int]],
    buffers: Sequence[list[int]] = (),
    item_size: int = 4,
    input_item_size: int = 4,
) -> None:
    """The tensor objects of an inspection: the input, each output and each parameter, each
    with its gradient after a backward pass (the input's only when it requires grad), and each
    buffer (no gradient, counted at 8 bytes an element: int64 counters are the widest).
    `item_size` is the computation dtype's element size."""

    def one(shape: list[int], kind: str, grad: bool, size: int = item_size) -> None:
        numel = math.prod(shape)
        estimate.tensor(numel, with_values=kind in include, item_size=size)
        if backward and grad:
            estimate.tensor(numel, with_values="gradients" in include, item_size=size)

    one(input_shape, "input", input_grad, input_item_size)
    for shape in outputs:
        one(shape, "output", True)
    for shape in parameters:
        one(shape, "parameters", True)
    for shape in buffers:
        one(shape, "buffers", False, 8)


def add_images(
    estimate: ResponseEstimate,
    *,
    input: list[int],
    output: list[int],
    weight: list[int] | None,
    backward: bool,
    input_grad: bool,
    spatial_dims: int | None = None,
) -> None:
    """The pictures `include: images` draws for one layer (see rendering.default_images): values
    in gray, gradients in a colour map."""
    estimate.picture(input, rgb=False, spatial_dims=spatial_dims)
    estimate.picture(output, rgb=False, spatial_dims=spatial_dims)
    if weight is not None:
        estimate.picture(weight, rgb=False, spatial_dims=spatial_dims)
    if backward and input_grad:
        estimate.picture(input, rgb=True, spatial_dims=spatial_dims)
    if backward and weight is not None:
        estimate.picture(weight, rgb=True, spatial_dims=spatial_dims)


def check_response_size(estimate: ResponseEstimate, limit: int) -> int:
    """Refuse (413) a response estimated past `limit` bytes, naming its largest parts; return
    the estimate."""
    if estimate.bytes <= limit:
        return estimate.bytes
    largest = max(estimate.parts, key=estimate.parts.__getitem__, default="text")
    fixes = {
        "values": "ask for fewer tensors in `include`, or use encoding=base64 (about 3x smaller)",
        "images": "drop `images` from `include` and draw single views with /render",
    }
    fix = fixes.get(largest, "ask for fewer tensors in `include`, or use smaller shapes")
    raise ProblemError(
        413,
        "response-too-large",
        f"the response would take about {estimate.bytes:,} bytes, over the limit of {limit:,} "
        f"(most of it {largest}); {fix}",
        title="Response too large",
        context={"estimated_bytes": estimate.bytes, "limit": limit, "parts": estimate.parts},
        limit="response_bytes",
    )
