"""service/orjson_response.py: OrjsonResponse writes what orjson writes, numpy buffers included."""

import json

import numpy as np
import orjson
import torch

from service.orjson_response import ORJSON_OPTIONS, OrjsonResponse
from service.tensors.codec import encode


def test_body_equals_orjson_dumps_with_numpy() -> None:
    content = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "b": np.array([1.5, -2.25], dtype=np.float64),
        "n": 3,
        "s": "x",
        "none": None,
    }
    r = OrjsonResponse(content)
    assert ORJSON_OPTIONS == orjson.OPT_SERIALIZE_NUMPY
    assert r.body == orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
    assert json.loads(r.body) == {
        "a": [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]],
        "b": [1.5, -2.25],
        "n": 3,
        "s": "x",
        "none": None,
    }
    assert r.media_type == "application/json"
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-length"] == str(len(r.body))


def test_nan_and_inf_become_null() -> None:
    array = np.array([1.0, np.nan, np.inf, -np.inf, 0.5], dtype=np.float32)
    r = OrjsonResponse({"data": array, "x": float("nan")})
    assert r.body == b'{"data":[1.0,null,null,null,0.5],"x":null}'


def test_float32_values_round_trip_exactly() -> None:
    torch.manual_seed(0)
    t = torch.randn(1000)
    r = OrjsonResponse(encode(t, with_values=True, encoding="json"))
    back = torch.tensor(json.loads(r.body)["data"], dtype=torch.float32)
    torch.testing.assert_close(back, t, rtol=0, atol=0)


def test_status_and_headers_pass_through() -> None:
    r = OrjsonResponse({"ok": True}, status_code=201, headers={"x-a": "1"})
    assert r.status_code == 201
    assert r.headers["x-a"] == "1"
    assert r.body == b'{"ok":true}'
