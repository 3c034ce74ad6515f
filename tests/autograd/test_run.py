"""POST /v1/autograd end to end: the classic walk-throughs against PyTorch run here, the graph
edges (next_functions), no_grad/detach/retain_grad/repeat, and every bad graph as a 422."""

from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from torch.testing import assert_close

from service.app import create_app
from tests.autograd.helpers import fields, post
from tests.conftest import make_settings
from tests.helpers import tensor_from as tensor


def leaf(shape: list[int], fill: float = 1.0, **extra: Any) -> dict[str, Any]:
    return {"fill": fill, "shape": shape, **extra}


def test_ones_plus_two_squared_sum(client: TestClient) -> None:
    body = {
        "tensors": {"a": leaf([2, 2], requires_grad=True)},
        "ops": [
            {"name": "b", "op": "add", "args": ["a", 2]},
            {"name": "c", "op": "pow", "args": ["b", 2]},
            {"name": "out", "op": "sum", "args": ["c"]},
        ],
        "backward": {"of": "out"},
    }
    got = post(client, body)["tensors"]
    assert list(got) == ["a", "b", "c", "out"]
    a = torch.ones(2, 2, requires_grad=True)
    b = a + 2
    c = b**2
    out = c.sum()
    out.backward()
    grad_fns = [None, "AddBackward0", "PowBackward0", "SumBackward0"]
    assert [got[n]["grad_fn"] for n in got] == grad_fns
    assert tensor(got["out"]["value"]).item() == 36.0
    assert_close(tensor(got["a"]["grad"]), torch.full((2, 2), 6.0))
    assert_close(tensor(got["a"]["grad"]), a.grad)
    for name, t in {"b": b, "c": c, "out": out}.items():
        assert_close(tensor(got[name]["value"]), t.detach())
        assert got[name]["grad"] is None
        assert got[name]["is_leaf"] is False and got[name]["requires_grad"] is True
    assert got["a"]["is_leaf"] is True and got["a"]["op"] is None
    assert got["out"]["shape"] == [] and got["out"]["dtype"] == "float32"
    # The edges: PyTorch's own next_functions, a number being None.
    assert [fn is None for fn, _ in b.grad_fn.next_functions] == [False, True]
    assert got["a"]["next_functions"] == []
    assert got["b"]["next_functions"] == ["a", None]
    assert got["c"]["next_functions"] == ["b"]
    assert got["out"]["next_functions"] == ["c"]


def test_mean_of_square(client: TestClient) -> None:
    body = {
        "tensors": {"x": leaf([3, 3])},
        "ops": [
            {"name": "y", "op": "add", "args": ["x", 5]},
            {"name": "z", "op": "mul", "args": ["y", "y"]},
            {"name": "out", "op": "mean", "args": ["z"]},
        ],
        "backward": {"of": "out"},
    }
    got = post(client, body)["tensors"]
    x = torch.ones(3, 3, requires_grad=True)
    out = ((x + 5) * (x + 5)).mean()
    out.backward()
    assert tensor(got["out"]["value"]).item() == 36.0
    assert_close(tensor(got["x"]["grad"]), torch.full((3, 3), 4 / 3))
    assert_close(tensor(got["x"]["grad"]), x.grad)
    assert got["z"]["grad_fn"] == "MulBackward0"
    assert got["z"]["next_functions"] == ["y", "y"]
    assert got["out"]["grad_fn"] == "MeanBackward0"


@pytest.mark.parametrize("k", [1, 3, 10])
def test_vector_jacobian_product(client: TestClient, k: int) -> None:
    v = [0.1, 1.0, 0.0001]
    ops = [{"name": "y1", "op": "mul", "args": ["x", 2]}]
    ops += [{"name": f"y{i}", "op": "mul", "args": [f"y{i - 1}", 2]} for i in range(2, k + 1)]
    body = {
        "tensors": {"x": {"shape": [3], "seed": 7}},
        "ops": ops,
        "backward": {"of": f"y{k}", "grad_output": {"shape": [3], "data": v}},
    }
    got = post(client, body)["tensors"]
    torch.manual_seed(7)
    x = torch.randn(3, requires_grad=True)
    y = x
    for _ in range(k):
        y = y * 2
    y.backward(torch.tensor(v))
    assert_close(tensor(got["x"]["value"]), x.detach())
    assert_close(tensor(got[f"y{k}"]["value"]), y.detach())
    assert_close(tensor(got["x"]["grad"]), x.grad)
    assert_close(tensor(got["x"]["grad"]), torch.tensor(v) * 2**k)


def test_no_grad_and_detach(client: TestClient) -> None:
    body = {
        "tensors": {"x": {"tensor": {"data": [1.0, -2.0, 3.0]}}},
        "ops": [
            {"name": "sq", "op": "pow", "args": ["x", 2]},
            {"name": "sq_no_grad", "op": "pow", "args": ["x", 2], "no_grad": True},
            {"name": "d", "op": "detach", "args": ["x"]},
            {"name": "dd", "op": "mul", "args": ["d", 3]},
        ],
    }
    got = post(client, body)["tensors"]
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    assert got["sq"]["requires_grad"] is True and got["sq"]["grad_fn"] == "PowBackward0"
    assert_close(tensor(got["sq"]["value"]), (x**2).detach())
    with torch.no_grad():
        y = x**2
    assert got["sq_no_grad"]["requires_grad"] is y.requires_grad is False
    assert got["sq_no_grad"]["grad_fn"] is None and got["sq_no_grad"]["next_functions"] == []
    assert_close(tensor(got["sq_no_grad"]["value"]), y)
    assert got["d"]["requires_grad"] is False and got["d"]["is_leaf"] is x.detach().is_leaf
    assert_close(tensor(got["d"]["value"]), x.detach())
    assert got["dd"]["requires_grad"] is False and got["dd"]["grad_fn"] is None
    assert_close(tensor(got["dd"]["value"]), x.detach() * 3)
    # Forward only: no gradient anywhere.
    assert all(t["grad"] is None for t in got.values())


def test_repeat_accumulates_and_retain_grad_keeps_a_non_leaf_grad(client: TestClient) -> None:
    def body(repeat: int, retain: list[str]) -> dict[str, Any]:
        return {
            "tensors": {"w": {"shape": [2, 3], "seed": 3}, "b": leaf([3], 0.5)},
            "ops": [
                {"name": "h", "op": "tanh", "args": ["w"]},
                {"name": "z", "op": "mul", "args": ["h", "b"]},
                {"name": "loss", "op": "sum", "args": ["z"]},
            ],
            "backward": {"of": "loss", "retain_grad": retain, "repeat": repeat},
        }

    once = post(client, body(1, []))["tensors"]
    twice = post(client, body(2, ["h"]))["tensors"]
    torch.manual_seed(3)
    w = torch.randn(2, 3, requires_grad=True)
    b = torch.full((3,), 0.5, requires_grad=True)
    h = torch.tanh(w)
    h.retain_grad()
    loss = (h * b).sum()
    loss.backward(retain_graph=True)
    assert_close(tensor(once["w"]["grad"]), w.grad)
    assert_close(tensor(once["b"]["grad"]), b.grad)
    assert once["h"]["grad"] is None
    loss.backward()
    assert_close(tensor(twice["w"]["grad"]), w.grad)
    assert_close(tensor(twice["w"]["grad"]), 2 * tensor(once["w"]["grad"]))
    assert_close(tensor(twice["b"]["grad"]), 2 * tensor(once["b"]["grad"]))
    assert h.grad is not None
    assert_close(tensor(twice["h"]["grad"]), h.grad)
    assert twice["z"]["grad"] is None


OPS_CASES: list[tuple[dict[str, Any], Any]] = [
    ({"op": "sub", "args": [1, "p"]}, lambda p, q: 1 - p),
    ({"op": "div", "args": ["p", "q"]}, lambda p, q: p / q),
    ({"op": "div", "args": [2.5, "q"]}, lambda p, q: 2.5 / q),
    ({"op": "pow", "args": [2, "p"]}, lambda p, q: 2**p),
    ({"op": "neg", "args": ["p"]}, lambda p, q: -p),
    ({"op": "exp", "args": ["p"]}, lambda p, q: torch.exp(p)),
    ({"op": "log", "args": ["q"]}, lambda p, q: torch.log(q)),
    ({"op": "sqrt", "args": ["q"]}, lambda p, q: torch.sqrt(q)),
    ({"op": "abs", "args": ["p"]}, lambda p, q: torch.abs(p)),
    ({"op": "relu", "args": ["p"]}, lambda p, q: torch.relu(p)),
    ({"op": "sigmoid", "args": ["p"]}, lambda p, q: torch.sigmoid(p)),
    ({"op": "matmul", "args": ["p", "q"]}, lambda p, q: p @ q.T),
    ({"op": "sum", "args": ["p"], "dim": 1, "keepdim": True}, lambda p, q: p.sum(1, True)),
    ({"op": "mean", "args": ["p"], "dim": [0, 1]}, lambda p, q: p.mean([0, 1])),
    ({"op": "view", "args": ["p"], "shape": [-1]}, lambda p, q: p.view(-1)),
    ({"op": "reshape", "args": ["p"], "shape": [3, 2]}, lambda p, q: p.reshape(3, 2)),
]


@pytest.mark.parametrize(("step", "torch_fn"), OPS_CASES, ids=[s["op"] for s, _ in OPS_CASES])
def test_each_op_matches_pytorch(client: TestClient, step: dict[str, Any], torch_fn: Any) -> None:
    """Value, grad_fn and gradients of every op equal PyTorch's (q transposed for matmul)."""
    q_shape = [3, 2] if step["op"] == "matmul" else [2, 3]
    body = {
        "tensors": {
            "p": {"shape": [2, 3], "seed": 1},
            "q": {"tensor": {"shape": q_shape, "data": [0.5, 1, 1.5, 2, 2.5, 3]}},
        },
        "ops": [
            {"name": "r", **step},
            {"name": "s", "op": "sum", "args": ["r"]},
        ],
        "backward": {"of": "s"},
    }
    got = post(client, body)["tensors"]
    torch.manual_seed(1)
    p = torch.randn(2, 3, requires_grad=True)
    q = torch.tensor([0.5, 1, 1.5, 2, 2.5, 3]).reshape(q_shape).requires_grad_()
    r = torch_fn(p, q.T if step["op"] == "matmul" else q)
    r.sum().backward()
    assert got["r"]["grad_fn"] == type(r.grad_fn).__name__
    assert_close(tensor(got["r"]["value"]), r.detach())
    for name, t in {"p": p, "q": q}.items():
        if t.grad is None:
            assert got[name]["grad"] is None
        else:
            assert_close(tensor(got[name]["grad"]), t.grad)


def test_next_functions_follow_nodes_inside_one_op(client: TestClient) -> None:
    """A batched matmul makes UnsafeViewBackward0 <- MmBackward0 <- ...: its edges still end
    at the named tensors; `1 / x` is MulBackward0 <- ReciprocalBackward0 <- x."""
    body = {
        "tensors": {"x": {"shape": [2, 3, 4], "seed": 0}, "w": {"shape": [4, 5], "seed": 1}},
        "ops": [
            {"name": "m", "op": "matmul", "args": ["x", "w"]},
            {"name": "r", "op": "div", "args": [1, "m"]},
        ],
    }
    got = post(client, body)["tensors"]
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, requires_grad=True)
    torch.manual_seed(1)
    w = torch.randn(4, 5, requires_grad=True)
    m = x @ w
    assert got["m"]["grad_fn"] == type(m.grad_fn).__name__
    assert set(got["m"]["next_functions"]) == {"x", "w"}
    assert got["r"]["grad_fn"] == type((1 / m).grad_fn).__name__
    assert got["r"]["next_functions"] == ["m", None]
    assert_close(tensor(got["m"]["value"]), m.detach())
    assert_close(tensor(got["r"]["value"]), (1 / m).detach())


def test_base64_encoding(client: TestClient) -> None:
    body = {
        "tensors": {"a": {"shape": [4], "seed": 2}},
        "ops": [{"name": "s", "op": "sum", "args": ["a"]}],
        "backward": {"of": "s"},
        "encoding": "base64",
    }
    got = post(client, body)["tensors"]
    assert "data" not in got["a"]["value"]
    torch.manual_seed(2)
    assert_close(tensor(got["a"]["value"]), torch.randn(4))
    assert_close(tensor(got["a"]["grad"]), torch.ones(4))


# Bad graphs: 422 problem details naming the step ---------------------------------------------


def graph(ops: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"tensors": {"a": leaf([2, 3]), "w": leaf([4, 5])}, "ops": ops, **extra}


def test_unknown_name(client: TestClient) -> None:
    problem = post(client, graph([{"name": "b", "op": "mul", "args": ["a", "aa"]}]), 422)
    assert problem["type"] == "/problems/unknown-name"
    assert fields(problem) == ["body.ops.0.args.1"]
    assert "step `b` (ops[0], mul)" in problem["detail"] and "`aa`" in problem["detail"]
    assert "did you mean `a`?" in problem["errors"][0]["fix"]


def test_forward_reference(client: TestClient) -> None:
    ops = [
        {"name": "b", "op": "add", "args": ["a", "c"]},
        {"name": "c", "op": "mul", "args": ["a", 2]},
    ]
    problem = post(client, graph(ops), 422)
    assert problem["type"] == "/problems/forward-reference"
    assert fields(problem) == ["body.ops.0.args.1"]
    assert "defined later, by ops[1]" in problem["detail"]
    assert problem["context"]["name"] == "b"


@pytest.mark.parametrize(
    ("ops", "cycle"),
    [
        ([{"name": "b", "op": "neg", "args": ["b"]}], ["b", "b"]),
        (
            [
                {"name": "b", "op": "add", "args": ["a", "d"]},
                {"name": "c", "op": "exp", "args": ["b"]},
                {"name": "d", "op": "mul", "args": ["c", 2]},
            ],
            ["b", "d", "c", "b"],
        ),
    ],
)
def test_cycle(client: TestClient, ops: list[dict[str, Any]], cycle: list[str]) -> None:
    problem = post(client, graph(ops), 422)
    assert problem["type"] == "/problems/cycle"
    assert problem["errors"][0]["field"].startswith("body.ops.0.args")
    assert problem["context"]["cycle"] == cycle
    assert " -> ".join(cycle) in problem["detail"]


def test_duplicate_names(client: TestClient) -> None:
    ops = [
        {"name": "b", "op": "exp", "args": ["a"]},
        {"name": "b", "op": "neg", "args": ["a"]},
        {"name": "w", "op": "neg", "args": ["a"]},
    ]
    problem = post(client, graph(ops), 422)
    assert problem["type"] == "/problems/duplicate-name"
    assert fields(problem) == ["body.ops.1.name", "body.ops.2.name"]
    assert "the result of ops[0]" in problem["errors"][0]["message"]
    assert "a leaf" in problem["errors"][1]["message"]


@pytest.mark.parametrize(
    ("step", "slug", "field"),
    [
        ({"op": "neg", "args": ["a", "a"]}, "wrong-arity", "body.ops.0.args"),
        ({"op": "add", "args": ["a"]}, "wrong-arity", "body.ops.0.args"),
        ({"op": "add", "args": [1, 2]}, "no-tensor-argument", "body.ops.0.args"),
        ({"op": "matmul", "args": ["a", 2]}, "tensor-argument-required", "body.ops.0.args.1"),
        ({"op": "add", "args": ["a", 1], "dim": 0}, "option-not-allowed", "body.ops.0.dim"),
        ({"op": "sum", "args": ["a"], "keepdim": True}, "option-not-allowed", "body.ops.0.keepdim"),
        ({"op": "view", "args": ["a"]}, "missing-option", "body.ops.0.shape"),
    ],
)
def test_bad_step(client: TestClient, step: dict[str, Any], slug: str, field: str) -> None:
    problem = post(client, graph([{"name": "b", **step}]), 422)
    assert problem["type"] == f"/problems/{slug}"
    assert fields(problem)[0] == field
    assert problem["detail"].startswith(f"step `b` (ops[0], {step['op']})")


def test_every_graph_problem_is_listed(client: TestClient) -> None:
    ops = [
        {"name": "b", "op": "mul", "args": ["a", "zz"]},
        {"name": "c", "op": "exp", "args": ["b", "b"]},
    ]
    problem = post(client, graph(ops), 422)
    assert fields(problem) == ["body.ops.0.args.1", "body.ops.1.args"]
    assert problem["detail"].endswith("(and 1 more)")


def test_matmul_shape_mismatch(client: TestClient) -> None:
    ops = [
        {"name": "b", "op": "exp", "args": ["a"]},
        {"name": "m", "op": "matmul", "args": ["b", "w"]},
    ]
    problem = post(client, graph(ops), 422)
    assert problem["status"] == 422 and problem["type"] == "/problems/shape-mismatch"
    assert fields(problem) == ["body.ops.1"]
    assert "step `m` (ops[1], matmul)" in problem["detail"]
    assert "inner dimensions must agree: [2, 3] @ [4, 5]" in problem["errors"][0]["fix"]
    assert problem["context"]["shapes"] == [[2, 3], [4, 5]]
    with pytest.raises(RuntimeError):
        torch.ones(2, 3) @ torch.ones(4, 5)


@pytest.mark.parametrize(
    ("step", "words", "in_torch"),
    [
        (
            {"op": "view", "args": ["a"], "shape": [4]},
            "same number of elements",
            lambda a, w: a.view(4),
        ),
        ({"op": "sum", "args": ["a"], "dim": 5}, "dims that exist", lambda a, w: a.sum(5)),
        ({"op": "add", "args": ["a", "w"]}, "must broadcast", lambda a, w: a + w),
    ],
)
def test_pytorch_refuses_a_step(
    client: TestClient, step: dict[str, Any], words: str, in_torch: Any
) -> None:
    problem = post(client, graph([{"name": "b", **step}]), 422)
    assert problem["type"] == "/problems/op-failed"
    assert fields(problem) == ["body.ops.0"]
    assert "step `b` (ops[0]" in problem["detail"] and words in problem["detail"]
    # the context carries PyTorch's own message for the same step (its first line), as PyTorch
    # gives it on the meta device, where the service runs the graph first to check its shapes
    a, w = (torch.ones(s, device="meta", requires_grad=True) for s in ((2, 3), (4, 5)))
    with pytest.raises((RuntimeError, IndexError)) as refused:
        in_torch(a, w)
    assert problem["context"]["torch"] == str(refused.value).splitlines()[0].rstrip(".")


def test_backward_of_a_non_scalar_needs_grad_output(client: TestClient) -> None:
    body = graph([{"name": "b", "op": "mul", "args": ["a", 2]}], backward={"of": "b"})
    problem = post(client, body, 422)
    assert problem["type"] == "/problems/not-scalar"
    assert fields(problem) == ["body.backward.grad_output"]
    assert "shape [2, 3]" in problem["detail"]


def test_grad_output_shape_mismatch(client: TestClient) -> None:
    backward = {"of": "b", "grad_output": {"shape": [3], "data": [1, 1, 1]}}
    body = graph([{"name": "b", "op": "mul", "args": ["a", 2]}], backward=backward)
    problem = post(client, body, 422)
    assert problem["type"] == "/problems/grad-output-shape"
    assert fields(problem) == ["body.backward.grad_output"]
    assert problem["context"] == {"expected": [2, 3], "received": [3]}


@pytest.mark.parametrize(
    ("tensors", "ops"),
    [
        ({"a": leaf([2], requires_grad=False)}, [{"name": "s", "op": "sum", "args": ["a"]}]),
        ({"a": leaf([2])}, [{"name": "s", "op": "sum", "args": ["a"], "no_grad": True}]),
        (
            {"a": leaf([2])},
            [
                {"name": "d", "op": "detach", "args": ["a"]},
                {"name": "s", "op": "sum", "args": ["d"]},
            ],
        ),
    ],
)
def test_backward_of_a_tensor_without_grad(
    client: TestClient, tensors: dict[str, Any], ops: list[dict[str, Any]]
) -> None:
    problem = post(client, {"tensors": tensors, "ops": ops, "backward": {"of": "s"}}, 422)
    assert problem["type"] == "/problems/nothing-to-differentiate"
    assert fields(problem) == ["body.backward.of"]


def test_backward_names_are_checked(client: TestClient) -> None:
    ops = [{"name": "s", "op": "sum", "args": ["a"]}]
    body = graph(ops, backward={"of": "ss", "retain_grad": ["s", "nope"]})
    problem = post(client, body, 422)
    assert fields(problem) == ["body.backward.of", "body.backward.retain_grad.1"]
    body = graph(
        [*ops, {"name": "d", "op": "detach", "args": ["a"]}],
        backward={"of": "s", "retain_grad": ["d"]},
    )
    problem = post(client, body, 422)
    assert problem["type"] == "/problems/cannot-retain-grad"
    assert fields(problem) == ["body.backward.retain_grad.0"]


def test_element_limits_are_checked_before_allocation() -> None:
    with TestClient(create_app(make_settings(max_tensor_elements=100))) as small:
        problem = post(small, {"tensors": {"a": leaf([11, 10])}}, 413)
        assert fields(problem) == ["body.tensors.a"]
        body = {
            "tensors": {"a": leaf([10, 1]), "b": leaf([1, 11])},
            "ops": [{"name": "m", "op": "matmul", "args": ["a", "b"]}],
        }
        problem = post(small, body, 413)
        assert fields(problem) == ["body.ops.0"]


def test_scalar_grad_output_and_huge_numbers(client: TestClient) -> None:
    """A scalar takes a one-value grad_output; an integer past 2**53 is a float, never a 500."""
    ops = [{"name": "s", "op": "sum", "args": ["a"]}]
    body = graph(ops, backward={"of": "s", "grad_output": {"data": [2.5]}})
    got = post(client, body)["tensors"]
    assert_close(tensor(got["a"]["grad"]), torch.full((2, 3), 2.5))
    body = graph(ops, backward={"of": "s", "grad_output": {"data": [1.0, 2.0]}})
    assert "one value" in post(client, body, 422)["detail"]
    body = graph([{"name": "p", "op": "pow", "args": ["a", 2**70]}])
    got = post(client, body)["tensors"]
    assert_close(tensor(got["p"]["value"]), torch.ones(2, 3) ** float(2**70))


@pytest.mark.cuda
def test_on_cuda_equals_cpu(client: TestClient) -> None:
    body = {
        "tensors": {"x": {"shape": [4, 3], "seed": 5}, "w": {"shape": [3, 2], "seed": 6}},
        "ops": [
            {"name": "h", "op": "matmul", "args": ["x", "w"]},
            {"name": "a", "op": "relu", "args": ["h"]},
            {"name": "loss", "op": "mean", "args": ["a"]},
        ],
        "backward": {"of": "loss", "retain_grad": ["h"], "repeat": 2},
    }
    cpu = post(client, {**body, "device": "cpu"})
    cuda = post(client, {**body, "device": "cuda"})
    assert cuda["device"] == "cuda:0"
    for name, t in cpu["tensors"].items():
        other = cuda["tensors"][name]
        assert (other["grad_fn"], other["next_functions"]) == (t["grad_fn"], t["next_functions"])
        assert_close(tensor(other["value"]), tensor(t["value"]))
        if t["grad"] is None:
            assert other["grad"] is None
        else:
            assert_close(tensor(other["grad"]), tensor(t["grad"]))


def test_response_size_is_estimated_before_running() -> None:
    with TestClient(create_app(make_settings(max_response_bytes=20_000))) as small:
        body = {
            "tensors": {"a": leaf([30, 30])},
            "ops": [{"name": "s", "op": "sum", "args": ["a"]}],
            "backward": {"of": "s"},
        }
        problem = post(small, body, 413)
        assert problem["type"] == "/problems/response-too-large"
        body["encoding"] = "base64"
        got = post(small, body)["tensors"]
        assert_close(tensor(got["a"]["grad"]), torch.ones(30, 30))
