"""layerscope_client.arrays: tensor objects of JSON responses and stored bits as numpy arrays or
torch tensors, every dtype, bfloat16 exactly."""

import base64

import numpy as np
import pytest
import torch

from layerscope_client.arrays import Bits, json_bits, to_array, torch_module
from schemas.tensors import TensorOut

STATS = {
    "min": None,
    "max": None,
    "mean": None,
    "std": None,
    "nan_count": 0,
    "inf_count": 0,
    "zero_fraction": 0.0,
}

# Values each dtype holds exactly (bfloat16 keeps 8 significant bits), and a NaN.
VALUES = torch.tensor([[1.0, -2.5, 0.0], [3.0e38, 1.0 / 1024, float("nan")]])


def tensor_object(t: torch.Tensor, encoding: str) -> TensorOut:
    """The tensor as the service's codec writes it (flat data, NaN as null; or raw bytes)."""
    fields: dict[str, object] = {"shape": list(t.shape), "dtype": str(t.dtype)[6:], "stats": STATS}
    if encoding == "json":
        fields["data"] = [None if v != v else v for v in t.float().reshape(-1).tolist()]
    else:
        raw = t.view(torch.int16) if t.dtype == torch.bfloat16 else t
        fields["data_b64"] = base64.b64encode(raw.numpy().tobytes()).decode()
    return TensorOut.model_validate(fields)


@pytest.mark.parametrize("encoding", ["json", "base64"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16])
def test_json_tensors_decode_to_their_own_values(encoding: str, dtype: torch.dtype) -> None:
    t = VALUES.to(dtype) if dtype != torch.float16 else VALUES.clamp(max=6e4).to(dtype)
    bits = json_bits(tensor_object(t, encoding))
    as_torch = to_array(bits, torch)
    assert isinstance(as_torch, torch.Tensor)
    assert as_torch.dtype == dtype
    torch.testing.assert_close(as_torch, t, rtol=0, atol=0, equal_nan=True)
    as_numpy = to_array(bits, None)
    assert isinstance(as_numpy, np.ndarray)
    assert as_numpy.dtype == (np.float32 if dtype == torch.bfloat16 else t.numpy().dtype)
    want = t.float() if dtype == torch.bfloat16 else t
    np.testing.assert_array_equal(as_numpy, want.numpy())


def test_int64_tensors_decode_as_integers() -> None:
    t = torch.tensor([[0, 7], [2**53 + 1, -3]])  # 2**53 + 1: no float64 holds it
    as_numpy = to_array(json_bits(tensor_object(t, "base64")), None)
    np.testing.assert_array_equal(as_numpy, t.numpy(), strict=True)
    plain = TensorOut(shape=[2, 2], dtype="int64", stats=STATS, data=t.reshape(-1).tolist())
    np.testing.assert_array_equal(to_array(json_bits(plain), None), t.numpy(), strict=True)


def test_bfloat16_bits_become_the_same_float32_values() -> None:
    t = torch.tensor([1.0, -0.5, 3.140625, -1e-40, float("inf")], dtype=torch.bfloat16)
    bits = Bits(t.view(torch.int16).numpy().view(np.uint16), "bfloat16")
    np.testing.assert_array_equal(to_array(bits, None), t.float().numpy(), strict=True)
    assert torch.equal(to_array(bits, torch), t)  # type: ignore[arg-type]


def test_a_tensor_without_values_says_how_to_get_them() -> None:
    empty = TensorOut(shape=[2], dtype="float32", stats=STATS)
    with pytest.raises(ValueError, match="include"):
        json_bits(empty)


def test_the_array_kind_picks_the_module() -> None:
    assert torch_module("numpy") is None
    assert torch_module("torch") is torch
    assert torch_module("auto") is torch  # importable here
