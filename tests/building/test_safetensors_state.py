"""Uploaded safetensors weights (service/building/safetensors_state.py), through POST
/v1/models/inspect/upload: a file written by `safetensors.torch.save` of a model's state_dict
runs as `load_state_dict` with it; each kind of bad file (truncated, header over the limit,
byte ranges outside the file or overlapping, unknown or wrong dtype, float64 with and without
`cast`, missing, unexpected or misshapen keys) is its own 4xx naming the key or the byte range,
and the service stays ready."""

import json
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from safetensors.torch import save
from torch import nn
from torch.testing import assert_close

from service.app import create_app
from tests.conftest import make_settings
from tests.helpers import tensor_from
from tests.image_files import decode_png
from tests.images.test_rendering import gray_levels, tile

LAYERS = [
    {"type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3},
    {"type": "batchnorm2d", "num_features": 2},
    {"type": "flatten"},
    {"type": "linear", "in_features": 32, "out_features": 3},
]
SPEC = {"layers": LAYERS, "input": {"shape": [2, 1, 6, 6], "seed": 4}, "include": ["output"]}


def direct_model() -> nn.Sequential:
    """The pipeline from torch.nn, with weights no seed of the service gives."""
    torch.manual_seed(123)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(32, 3))
    with torch.no_grad():
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
        model[1].weight.uniform_(0.5, 2)
    model[1].num_batches_tracked += 7
    return model.eval()


def good_state() -> dict[str, torch.Tensor]:
    return direct_model().state_dict()


def upload(client: TestClient, data: bytes, spec: dict[str, Any] | None = None) -> Any:
    return client.post(
        "/v1/models/inspect/upload",
        data={"spec": json.dumps(spec or SPEC)},
        files={"weights": ("w.safetensors", data, "application/octet-stream")},
    )


def header_of(data: bytes) -> tuple[dict[str, Any], bytes]:
    """A safetensors file's JSON header and its data section."""
    (size,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + size]), data[8 + size :]


def with_header(header: dict[str, Any], rest: bytes) -> bytes:
    """A file of `header` (padded to 8 bytes, as safetensors writes it) and `rest`."""
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + rest


def edited(change: Callable[[dict[str, Any]], None]) -> bytes:
    header, rest = header_of(save(good_state()))
    change(header)
    return with_header(header, rest)


def direct_output(state: dict[str, torch.Tensor]) -> torch.Tensor:
    model = direct_model()
    model.load_state_dict(state)
    x = torch.randn(2, 1, 6, 6, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        out: torch.Tensor = model(x)
    return out


def test_a_saved_state_dict_runs_as_load_state_dict_with_it(client: TestClient) -> None:
    r = upload(client, save(good_state()))
    assert r.status_code == 200, r.text
    body = r.json()
    assert_close(tensor_from(body["layers"][-1]["output"]), direct_output(good_state()))
    assert body["seeds"]["weights"] is None


def set_offsets(name: str, offsets: list[int]) -> Callable[[dict[str, Any]], None]:
    def change(header: dict[str, Any]) -> None:
        header[name]["data_offsets"] = offsets

    return change


def set_dtype(name: str, dtype: str) -> Callable[[dict[str, Any]], None]:
    def change(header: dict[str, Any]) -> None:
        header[name]["dtype"] = dtype

    return change


GOOD = save(good_state())
HEADER, DATA = header_of(GOOD)
DATA_BYTES = len(DATA)
LAST = max(
    HEADER, key=lambda name: HEADER[name]["data_offsets"][1] if name != "__metadata__" else -1
)
LAST_START, LAST_END = HEADER[LAST]["data_offsets"]


def state_with(**changes: torch.Tensor | None) -> bytes:
    state = dict(good_state())
    for name, tensor in changes.items():
        key = name.replace("__", ".")
        if tensor is None:
            del state[key]
        else:
            state[key] = tensor
    return save(state)


BAD_FILES = [
    # (id, file, status, slug, field, words in the message)
    (
        "truncated_data",
        GOOD[:-5],
        422,
        "invalid-safetensors",
        f"weights.{LAST}",
        f"data bytes {LAST_START}..{LAST_END}, outside the file's 0..{DATA_BYTES - 5}",
    ),
    (
        "truncated_header",
        GOOD[:40],
        422,
        "truncated-safetensors",
        "weights",
        f"declares bytes 8..{8 + len(GOOD) - DATA_BYTES - 8} but the file ends at byte 40",
    ),
    ("shorter_than_8", GOOD[:5], 422, "invalid-safetensors", "weights", "has 5 bytes"),
    (
        "offsets_outside",
        edited(set_offsets("0.bias", [0, 10**9])),
        422,
        "invalid-safetensors",
        "weights.0.bias",
        f"claims data bytes 0..1000000000, outside the file's 0..{DATA_BYTES}",
    ),
    (
        "offsets_negative",
        edited(set_offsets("0.bias", [-8, 0])),
        422,
        "invalid-safetensors",
        "weights.0.bias",
        "claims data bytes -8..0",
    ),
    (
        "offsets_overlapping",
        edited(set_offsets(LAST, [LAST_START - 4, LAST_END - 4])),
        422,
        "invalid-safetensors",
        f"weights.{LAST}",
        "overlapping or with a gap",
    ),
    (
        "bytes_after_the_last_tensor",
        GOOD + b"\0" * 8,
        422,
        "invalid-safetensors",
        "weights",
        f"the tensors cover data bytes 0..{DATA_BYTES} but the file holds {DATA_BYTES + 8}",
    ),
    (
        "range_not_its_size",
        edited(lambda h: h["0.bias"].update(shape=[3])),
        422,
        "invalid-safetensors",
        "weights.0.bias",
        "needs 12 bytes, its range {}..{} holds 8".format(*HEADER["0.bias"]["data_offsets"]),
    ),
    (
        "unknown_dtype",
        edited(set_dtype("0.bias", "F8_E4M3")),
        422,
        "invalid-safetensors",
        "weights.0.bias",
        "has dtype 'F8_E4M3', which layerscope does not read",
    ),
    (
        "integer_weight",
        state_with(**{"3__weight": torch.zeros(3, 32, dtype=torch.int64)}),
        422,
        "state-mismatch",
        "weights.3.weight",
        "3.weight is int64, the model expects float32",
    ),
    (
        "float_counter",
        state_with(**{"1__num_batches_tracked": torch.tensor(7.0)}),
        422,
        "state-mismatch",
        "weights.1.num_batches_tracked",
        "1.num_batches_tracked is float32, the model expects int64",
    ),
    (
        "float64_without_cast",
        state_with(**{"3__weight": good_state()["3.weight"].double()}),
        422,
        "dtype-mismatch",
        "weights.3.weight",
        "weights.3.weight has dtype float64 but the computation runs in float32",
    ),
    (
        "missing_key",
        state_with(**{"1__running_var": None}),
        422,
        "state-mismatch",
        "weights.1.running_var",
        "'1.running_var' is missing",
    ),
    (
        "unexpected_key",
        state_with(**{"3__scale": torch.ones(3)}),
        422,
        "state-mismatch",
        "weights.3.scale",
        "'3.scale' is not in the model's state_dict",
    ),
    (
        "misshapen",
        state_with(**{"3__weight": torch.zeros(32, 3)}),
        422,
        "state-mismatch",
        "weights.3.weight",
        "3.weight has shape [32, 3], the model expects [3, 32]",
    ),
    (
        "header_not_json",
        struct.pack("<Q", 8) + b"{not js}",
        422,
        "invalid-safetensors",
        "weights",
        "(bytes 8..16) is not JSON",
    ),
    (
        "header_over_the_limit",
        struct.pack("<Q", 8 * 1024 * 1024 + 1) + GOOD[8:],
        413,
        "safetensors-header-too-large",
        "weights",
        "header of 8,388,609 bytes",
    ),
]


@pytest.mark.parametrize(
    ("data", "status", "slug", "field", "words"),
    [case[1:] for case in BAD_FILES],
    ids=[case[0] for case in BAD_FILES],
)
def test_each_bad_file_is_a_4xx_naming_the_key_or_byte_range(
    client: TestClient, data: bytes, status: int, slug: str, field: str, words: str
) -> None:
    r = upload(client, data)
    assert r.status_code == status, r.text
    problem = r.json()
    assert problem["type"] == f"/problems/{slug}"
    assert [e["field"] for e in problem["errors"]] == [field]
    assert words in problem["errors"][0]["message"], problem["errors"][0]["message"]
    assert problem["errors"][0]["fix"]
    assert client.get("/readyz").json() == {"status": "ready"}


def test_missing_and_unexpected_keys_are_all_named(client: TestClient) -> None:
    r = upload(client, state_with(**{"0__weight": None, "0__bias": None, "9__bias": torch.ones(1)}))
    assert r.status_code == 422
    errors = {e["field"]: e for e in r.json()["errors"]}
    assert set(errors) == {"weights.0.weight", "weights.0.bias", "weights.9.bias"}
    assert errors["weights.0.weight"]["fix"] == "add 0.weight of shape [2, 1, 3, 3]"
    assert errors["weights.9.bias"]["type"] == "unexpected_key"


def test_float64_weights_with_cast_run_rounded_to_float32(client: TestClient) -> None:
    state = {name: t.double() if t.is_floating_point() else t for name, t in good_state().items()}
    r = upload(client, save(state), {**SPEC, "cast": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {c["field"] for c in body["casts"]} == {
        f"weights.{name}" for name, t in state.items() if t.is_floating_point()
    }
    rounded = {name: t.float() if t.is_floating_point() else t for name, t in state.items()}
    assert_close(tensor_from(body["layers"][-1]["output"]), direct_output(rounded))


def test_a_header_over_a_lower_limit_is_413_naming_it() -> None:
    app = create_app(make_settings(max_safetensors_header_bytes=64))
    with TestClient(app) as c:
        r = upload(c, GOOD)
        assert r.status_code == 413
        problem = r.json()
        size = len(GOOD) - DATA_BYTES - 8
        assert problem["context"] == {"header_bytes": size, "limit": 64}
        assert f"declares {size:,} bytes, over the limit of 64" in problem["detail"]


def test_the_service_stays_ready_and_runs_after_bad_files(client: TestClient) -> None:
    for _, data, *_ in BAD_FILES:
        assert upload(client, data).status_code in (413, 422)
    assert client.get("/readyz").json() == {"status": "ready"}
    r = upload(client, GOOD)
    assert r.status_code == 200
    assert_close(tensor_from(r.json()["layers"][-1]["output"]), direct_output(good_state()))


def test_the_render_form_draws_the_uploaded_weights(client: TestClient) -> None:
    """/v1/models/render/upload: the conv's kernels as the file holds them (2 kernels of 3 x 3,
    gray over their range), not the seed's."""
    r = client.post(
        "/v1/models/render/upload",
        data={"spec": json.dumps({**SPEC, "layer": 0, "view": "weights"})},
        files={"weights": ("w.safetensors", GOOD, "application/octet-stream")},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    picture = decode_png(r.content)
    w = good_state()["0.weight"].numpy()[:, 0]
    assert picture.shape == (3 + 2, 2 * (3 + 1) + 1)  # one row of two tiles, padded
    for k in range(2):
        np.testing.assert_array_equal(
            tile(picture, k, 2, 3, 3, 1), gray_levels(w[k], w.min(), w.max())
        )
