"""Tensor codec: exact round trips, stats against torch, and the buffer-speed path."""

import base64
import math

import numpy as np
import orjson
import pytest
import torch
from torch.testing import assert_close

from schemas.tensors import TensorData
from service.errors import ProblemError
from service.orjson_response import ORJSON_OPTIONS
from service.tensors.codec import decode, encode
from service.tensors.stats import stats


def test_decode_flat_nested_and_base64_agree() -> None:
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 7
    flat = TensorData(shape=[2, 3], data=t.reshape(-1).tolist())
    nested = TensorData(data=t.tolist())
    b64 = TensorData(shape=[2, 3], data_b64=base64.b64encode(t.numpy().tobytes()).decode())
    for data in (flat, nested, b64):
        assert_close(decode(data, "x", 100), t)
    as64 = TensorData(
        shape=[2, 3],
        dtype="float64",
        data_b64=base64.b64encode(t.double().numpy().tobytes()).decode(),
    )
    assert_close(decode(as64, "x", 100), t.double())  # in its own dtype: nothing is converted


def test_decode_null_is_nan_and_limits_apply() -> None:
    out = decode(TensorData(data=[1.0, None]), "x", 10)
    assert math.isnan(out[1].item())
    with pytest.raises(ProblemError) as err:
        decode(TensorData(shape=[5, 5], data=[0] * 25), "x", 10)
    assert err.value.status == 413
    with pytest.raises(ProblemError) as err:
        decode(TensorData(data=[True, False]), "x", 10)
    assert err.value.status == 422


def test_stats_equal_torch_and_skip_non_finite() -> None:
    torch.manual_seed(0)
    t = torch.randn(50, 7)
    t[0, 0] = 0.0
    s = stats(t)
    assert s["min"] == pytest.approx(t.min().item())
    assert s["max"] == pytest.approx(t.max().item())
    assert s["mean"] == pytest.approx(t.mean().item(), abs=1e-6)
    assert s["std"] == pytest.approx(t.std().item(), rel=1e-5)
    assert s["zero_fraction"] == pytest.approx(1 / 350)
    u = torch.tensor([1.0, float("nan"), float("inf"), -float("inf"), 3.0])
    s = stats(u)
    assert (s["min"], s["max"], s["mean"], s["nan_count"], s["inf_count"]) == (1.0, 3.0, 2.0, 1, 2)
    s = stats(torch.tensor([float("nan")]))
    assert s["min"] is None and s["std"] is None and s["nan_count"] == 1
    assert stats(torch.tensor([2.0]))["std"] is None


def test_encode_json_writes_the_buffer_with_nan_as_null() -> None:
    t = torch.tensor([[1.5, float("nan")], [float("inf"), -2.0]])
    obj = encode(t, with_values=True, encoding="json")
    assert isinstance(obj["data"], np.ndarray)
    body = orjson.loads(orjson.dumps(obj, option=ORJSON_OPTIONS))
    assert body["data"] == [1.5, None, None, -2.0]
    assert body["shape"] == [2, 2] and body["dtype"] == "float32"


def test_encode_base64_is_little_endian_bytes() -> None:
    t = torch.tensor([1.0, -2.5, 3.25])
    obj = encode(t, with_values=True, encoding="base64")
    body = orjson.loads(orjson.dumps(obj, option=ORJSON_OPTIONS))
    raw = base64.b64decode(body["data_b64"])
    assert np.frombuffer(raw, dtype="<f4").tolist() == [1.0, -2.5, 3.25]
    assert "data" not in obj
    assert "data_b64" not in encode(t, with_values=False, encoding="base64")


def test_large_output_encodes_from_the_buffer() -> None:
    t = torch.randn(20, 33, 26, 100)
    obj = encode(t, with_values=True, encoding="json")
    body = orjson.dumps(obj, option=ORJSON_OPTIONS)
    back = np.asarray(orjson.loads(body)["data"], dtype=np.float32)
    assert_close(torch.from_numpy(back).reshape(t.shape), t)
