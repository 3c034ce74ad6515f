"""POST /v1/layers/inspect over PyTorch's own module test cases (tests/module_cases.py), each
compared with the same module run directly: output, input gradient, every parameter and its
gradient, every buffer after the forward pass, in train and eval mode, float32 and float64;
bfloat16 and float16 on a few cases per type, against PyTorch at the same dtype.

A case PyTorch runs must get 200 and the same tensors; one PyTorch refuses must get a 4xx
problem (a kernel PyTorch lacks for the dtype: `/problems/dtype-unsupported`), never a 500.
"""

import base64
import io
import warnings
from collections import Counter
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image
from torch import nn
from torch.testing import assert_close

from schemas.layer_specs import ALL_SPECS, type_name
from tests.direct import torch_class, torch_layer
from tests.module_cases import ModuleCase, collect

WEIGHT_SEED = 7
FORWARD_SEED = 11
GRAD_SEED = 5
DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}
WIRE = DTYPES | {"int64": torch.int64}
"""The dtypes tensors travel in, by name (read independently of the service's codec)."""

COLLECTED = collect()
CASES = COLLECTED.cases

pytestmark = [  # PyTorch's own notes on some cases, in the direct run and the service's alike
    pytest.mark.filterwarnings("ignore:dropout2d. Received a 3D input:UserWarning"),
    pytest.mark.filterwarnings("ignore:input's size at dim=1 does not match:UserWarning"),
    pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning"),
]


def _params() -> list[Any]:
    return [
        pytest.param(case, mode, dtype, id=f"{case.source}:{case.name}-{mode}-{dtype}")
        for case in CASES
        for mode in case.modes
        for dtype in ("float32", "float64")
    ]


def _half_params() -> list[Any]:
    """Two cases per type, PyTorch's first and our first (or the first two of either), the
    first in train mode and the second in eval mode, each in bfloat16 and float16."""
    by_type: dict[str, list[ModuleCase]] = {}
    for case in CASES:
        by_type.setdefault(case.tag, []).append(case)
    params = []
    for cases in by_type.values():
        theirs = [c for c in cases if c.source != "own"]
        ours = [c for c in cases if c.source == "own"]
        chosen = theirs[:1] + ours[:1] if theirs and ours else cases[:2]
        for case, mode in zip(chosen, ("train", "eval"), strict=False):
            mode = mode if mode in case.modes else case.modes[0]
            params += [
                pytest.param(case, mode, dtype, id=f"{case.source}:{case.name}-{mode}-{dtype}")
                for dtype in ("bfloat16", "float16")
            ]
    return params


def wire(t: torch.Tensor) -> dict[str, Any]:
    """A request tensor object: shape, dtype, the little-endian bytes in base64."""
    flat = t.detach().contiguous().reshape(-1)
    raw = flat.view(torch.int16) if flat.dtype == torch.bfloat16 else flat
    data = raw.numpy().astype(raw.numpy().dtype.newbyteorder("<")).tobytes()
    name = str(t.dtype).removeprefix("torch.")
    return {"shape": list(t.shape), "dtype": name, "data_b64": base64.b64encode(data).decode()}


def unwire(obj: dict[str, Any]) -> torch.Tensor:
    """A response tensor object (encoding=base64) as a tensor of its own dtype."""
    dtype = WIRE[obj["dtype"]]
    raw = base64.b64decode(obj["data_b64"])
    if not raw:
        return torch.empty(obj["shape"], dtype=dtype)
    return torch.frombuffer(bytearray(raw), dtype=dtype).reshape(obj["shape"])


class Direct:
    """The case run straight in PyTorch: `torch.manual_seed(S); m = cls(...)` (float32, CPU),
    `.to(dtype)`, `.train(...)`, `torch.manual_seed(forward_seed)`, forward, backward with a
    random grad_output where the output requires grad."""

    def __init__(self, case: ModuleCase, mode: str, dtype: torch.dtype) -> None:
        torch.manual_seed(WEIGHT_SEED)
        self.module: nn.Module = case.build().to(dtype).train(mode == "train")
        self.input = case.input_as(dtype).requires_grad_(case.requires_grad)
        self.grad_output: torch.Tensor | None = None
        self.error: Exception | None = None
        try:
            torch.manual_seed(FORWARD_SEED)
            self.output: torch.Tensor = self.module(self.input)
            if self.output.requires_grad:
                generator = torch.Generator().manual_seed(GRAD_SEED)
                self.grad_output = torch.randn(
                    self.output.shape, generator=generator, dtype=torch.float64
                ).to(dtype)
                self.output.backward(self.grad_output)
        except (RuntimeError, ValueError, IndexError, NotImplementedError) as exc:
            self.error = exc


def request(case: ModuleCase, mode: str, dtype: str, direct: Direct) -> dict[str, Any]:
    """The inspect request that says what `direct` did."""
    body: dict[str, Any] = {
        "layer": case.spec,
        "input": {"tensor": wire(direct.input), "requires_grad": case.requires_grad},
        "weights": {"seed": WEIGHT_SEED},
        "mode": mode,
        "dtype": dtype,
        "forward_seed": FORWARD_SEED,
        "encoding": "base64",
    }
    if direct.error is None and direct.grad_output is not None:
        body["backward"] = {"grad_output": wire(direct.grad_output)}
    elif direct.error is not None and case.requires_grad:
        body["backward"] = {"target": "sum"}
    return body


def check_case(client: TestClient, case: ModuleCase, mode: str, dtype: str) -> None:
    """Post the case and compare every tensor with the direct run, or check the refusal."""
    direct = Direct(case, mode, DTYPES[dtype])
    r = client.post("/v1/layers/inspect", json=request(case, mode, dtype, direct))
    if direct.error is not None:
        assert 400 <= r.status_code < 500, (direct.error, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        if "not implemented for" in str(direct.error):
            assert r.json()["type"] == "/problems/dtype-unsupported", r.text
        return
    assert r.status_code == 200, (case.spec, r.text)
    got = r.json()
    assert (got["mode"], got["dtype"], got["casts"]) == (mode, dtype, [])
    compare(got["input"], direct.input)
    compare(got["output"], direct.output)
    assert got["output"]["grad_fn"] == (
        None if direct.output.grad_fn is None else type(direct.output.grad_fn).__name__
    )
    if direct.grad_output is not None:
        compare(got["output"]["grad"], direct.grad_output)
    compare_grad(got["input"]["grad"], direct.input.grad)
    parameters = dict(direct.module.named_parameters())
    assert set(got["parameters"]) == set(parameters)
    for name, p in parameters.items():
        compare(got["parameters"][name], p)
        compare_grad(got["parameters"][name]["grad"], p.grad)
    buffers = dict(direct.module.named_buffers())
    assert set(got["buffers"]) == set(buffers)
    for name, b in buffers.items():
        compare(got["buffers"][name], b)


def compare(obj: dict[str, Any], want: torch.Tensor) -> None:
    """A response tensor equals `want`: shape, dtype and values (NaN where NaN)."""
    assert obj["shape"] == list(want.shape)
    want = want.detach()
    if want.layout != torch.strided:
        want = want.to_dense()  # a sparse gradient (embedding with sparse=True), as values
    assert_close(unwire(obj), want, equal_nan=True)


def compare_grad(obj: dict[str, Any] | None, want: torch.Tensor | None) -> None:
    """A gradient: absent where PyTorch has none, else equal."""
    if want is None:
        assert obj is None
    else:
        assert obj is not None
        compare(obj, want)


@pytest.mark.parametrize(("case", "mode", "dtype"), _params())
def test_case_matches_pytorch(client: TestClient, case: ModuleCase, mode: str, dtype: str) -> None:
    check_case(client, case, mode, dtype)


@pytest.mark.parametrize(("case", "mode", "dtype"), _half_params())
def test_half_precision_case_matches_pytorch(
    client: TestClient, case: ModuleCase, mode: str, dtype: str
) -> None:
    check_case(client, case, mode, dtype)


def test_every_type_has_cases() -> None:
    per_type = COLLECTED.per_type()
    assert {type_name(spec) for spec in ALL_SPECS} <= set(per_type)
    assert sum(per_type.values()) == len(CASES)


def test_cases_come_from_pytorch_and_skips_are_counted() -> None:
    sources = COLLECTED.per_source()
    assert sources["module_db"] >= 200 and sources["common_nn"] >= 80, sources
    assert set(COLLECTED.skipped) <= {
        "module_db: return_indices=True",
        "common_nn:functional: functional keywords the module lacks (dtype)",
    }, COLLECTED.skipped


def public(module: nn.Module) -> dict[str, Any]:
    """A module's configuration: its public attributes (torch.Size equals the tuple)."""
    return {k: v for k, v in vars(module).items() if not k.startswith("_")}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.source}:{c.name}" for c in CASES])
def test_spec_names_the_case_module(case: ModuleCase) -> None:
    """The raw spec, read by tests/direct (not the service), builds PyTorch's module: the same
    class, arguments and initial state."""
    assert torch_class(case.spec) is case.cls
    torch.manual_seed(WEIGHT_SEED)
    ours = torch_layer(case.spec)
    torch.manual_seed(WEIGHT_SEED)
    theirs = case.build()
    assert public(ours) == public(theirs)
    state = theirs.state_dict()
    assert ours.state_dict().keys() == state.keys()
    for name, value in ours.state_dict().items():
        assert torch.equal(value, state[name]), name


def test_case_names_are_unique() -> None:
    names = Counter(f"{c.source}:{c.name}" for c in CASES)
    assert max(names.values()) == 1


def _runs_empty(case: ModuleCase) -> bool:
    """A case with an empty float input that PyTorch runs (global RNG left as it was)."""
    if case.input.numel() or not case.input.is_floating_point():
        return False
    with torch.random.fork_rng(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's notes, at collection
        return Direct(case, "eval", torch.float32).error is None


EMPTY = [case for case in CASES if _runs_empty(case)]


@pytest.mark.parametrize("case", EMPTY, ids=[f"{c.source}:{c.name}" for c in EMPTY])
def test_zero_size_case_has_no_picture_of_an_empty_tensor(
    client: TestClient, case: ModuleCase
) -> None:
    """With `include: images`, a view of an empty tensor is null and every other is a PNG of
    at least one pixel; /render of an empty view is a 422 naming `view`."""
    direct = Direct(case, "eval", torch.float32)
    body = request(case, "eval", "float32", direct) | {"include": ["images"]}
    got = client.post("/v1/layers/inspect", json=body).json()["images"]
    weight = getattr(direct.module, "weight", None)
    views = {
        "input": direct.input,
        "output": direct.output,
        "weights": weight,
        "input_grad": direct.input.grad,
        "weight_grad": None if weight is None else weight.grad,
    }
    for view, tensor in views.items():
        if tensor is None or tensor.numel() == 0:
            assert got[view] is None, view
        else:
            png = base64.b64decode(got[view].removeprefix("data:image/png;base64,"))
            assert Image.open(io.BytesIO(png)).size >= (1, 1), view
    render = {k: v for k, v in body.items() if k != "include"} | {"view": "input"}
    r = client.post("/v1/layers/render", json=render)
    assert r.status_code == 422 and r.json()["type"] == "/problems/empty-tensor"
    assert r.json()["errors"][0]["field"] == "body.view"
