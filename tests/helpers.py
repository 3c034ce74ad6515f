"""Helpers for tests: turn response tensor objects back into torch tensors."""

import base64
from typing import Any

import numpy as np
import torch


def tensor_from(obj: dict[str, Any]) -> torch.Tensor:
    """Decode a response tensor object (`data` or `data_b64`) into a tensor of its own dtype,
    as a client would (bfloat16's bytes through int16, which numpy knows)."""
    shape, name = obj["shape"], obj.get("dtype", "float32")
    dtype = getattr(torch, name)
    if obj.get("data_b64") is not None:
        raw = base64.b64decode(obj["data_b64"])
        if dtype == torch.bfloat16:
            array = np.frombuffer(raw, dtype=np.dtype("<i2"))
            return torch.from_numpy(array.copy()).view(torch.bfloat16).reshape(shape)
        array = np.frombuffer(raw, dtype=np.dtype(name).newbyteorder("<"))
        return torch.from_numpy(array.copy()).reshape(shape)
    if dtype == torch.int64:
        return torch.tensor(obj["data"], dtype=torch.int64).reshape(shape)
    values = [float("nan") if v is None else v for v in obj["data"]]
    return torch.tensor(values, dtype=torch.float64).to(dtype).reshape(shape)


def tensor_json(t: torch.Tensor) -> dict[str, Any]:
    """Encode a tensor as a request tensor object (flat row-major data)."""
    return {"shape": list(t.shape), "data": t.detach().reshape(-1).tolist()}


class FakeClock:
    """A stand-in for a module's `time`: perf_counter returns the given readings, in order.

    Patch it over `module.time` to check a reported duration against exact known numbers.
    """

    def __init__(self, *readings: float) -> None:
        self.readings = list(readings)

    def perf_counter(self) -> float:
        """The next reading; reading the clock more often than planned fails the test."""
        assert self.readings, "the clock was read more often than the test planned"
        return self.readings.pop(0)
