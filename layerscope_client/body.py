"""A binary response: one safetensors file, the JSON report in its header's `__metadata__`."""

import json
import struct

import numpy as np
import safetensors

from layerscope_client.arrays import STORAGE, Bits

MEDIA_TYPE = "application/x-safetensors"

DTYPES = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "I64": "int64",
    "I32": "int32",
    "BOOL": "bool",
}
"""safetensors' dtype codes, by the name the reports use."""


def report_text(content: bytes) -> str:
    """The JSON report the header's `__metadata__.report` carries."""
    (size,) = struct.unpack_from("<Q", content)
    header = json.loads(content[8 : 8 + size])
    text: str = header["__metadata__"]["report"]
    return text


def read(content: bytes) -> tuple[str, dict[str, Bits]]:
    """The report and every tensor's stored bits, by entry name (read by the safetensors
    library, which checks the header and the byte ranges)."""
    tensors: dict[str, Bits] = {}
    for name, entry in safetensors.deserialize(content):  # type: ignore[no-untyped-call]
        dtype = DTYPES[entry["dtype"]]
        array = np.frombuffer(entry["data"], dtype=STORAGE[dtype]).reshape(entry["shape"])
        tensors[name] = Bits(array, dtype)
    return report_text(content), tensors
