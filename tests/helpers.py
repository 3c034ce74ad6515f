"""Helpers for tests: turn response tensor objects back into torch tensors."""

import base64
from typing import Any

import numpy as np
import torch


def tensor_from(obj: dict[str, Any]) -> torch.Tensor:
    """Decode a response tensor object (`data` or `data_b64`) into a float tensor."""
    shape = obj["shape"]
    if obj.get("data_b64") is not None:
        dtype = np.dtype(obj["dtype"]).newbyteorder("<")
        array = np.frombuffer(base64.b64decode(obj["data_b64"]), dtype=dtype)
    else:
        values = [float("nan") if v is None else v for v in obj["data"]]
        array = np.asarray(values, dtype=np.float32)
    return torch.from_numpy(array.copy()).reshape(shape)


def tensor_json(t: torch.Tensor) -> dict[str, Any]:
    """Encode a tensor as a request tensor object (flat row-major data)."""
    return {"shape": list(t.shape), "data": t.detach().reshape(-1).tolist()}
