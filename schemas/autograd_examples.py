"""Worked examples of POST /v1/autograd for the OpenAPI docs: the classic autograd walk-throughs
(the tests run each one and check it against PyTorch)."""

from typing import Any

AUTOGRAD_EXAMPLES: dict[str, dict[str, Any]] = {
    "ones_plus_two_squared": {
        "summary": "a = ones(2, 2); b = a + 2; c = b ** 2; out = c.sum() -> 36, a.grad all 6",
        "value": {
            "tensors": {"a": {"fill": 1.0, "shape": [2, 2], "requires_grad": True}},
            "ops": [
                {"name": "b", "op": "add", "args": ["a", 2]},
                {"name": "c", "op": "pow", "args": ["b", 2]},
                {"name": "out", "op": "sum", "args": ["c"]},
            ],
            "backward": {"of": "out"},
        },
    },
    "mean_of_square": {
        "summary": "x = ones(3, 3); y = x + 5; z = y * y; out = z.mean() -> 36, x.grad all 4/3",
        "value": {
            "tensors": {"x": {"fill": 1.0, "shape": [3, 3]}},
            "ops": [
                {"name": "y", "op": "add", "args": ["x", 5]},
                {"name": "z", "op": "mul", "args": ["y", "y"]},
                {"name": "out", "op": "mean", "args": ["z"]},
            ],
            "backward": {"of": "out"},
        },
    },
    "vector_jacobian_product": {
        "summary": "y = x * 2 * 2 * 2; y.backward(v) -> x.grad = v * 8",
        "value": {
            "tensors": {"x": {"shape": [3], "seed": 0}},
            "ops": [
                {"name": "y1", "op": "mul", "args": ["x", 2]},
                {"name": "y2", "op": "mul", "args": ["y1", 2]},
                {"name": "y", "op": "mul", "args": ["y2", 2]},
            ],
            "backward": {
                "of": "y",
                "grad_output": {"shape": [3], "data": [0.1, 1.0, 0.0001]},
            },
        },
    },
    "no_grad_and_detach": {
        "summary": "(x ** 2) under no_grad and x.detach() do not require grad",
        "value": {
            "tensors": {"x": {"shape": [3], "seed": 0}},
            "ops": [
                {"name": "with_grad", "op": "pow", "args": ["x", 2]},
                {"name": "without_grad", "op": "pow", "args": ["x", 2], "no_grad": True},
                {"name": "detached", "op": "detach", "args": ["x"]},
            ],
        },
    },
    "logistic_neuron": {
        "summary": "loss = sigmoid(x @ w + b).mean(); backward twice: grads accumulate",
        "value": {
            "tensors": {
                "x": {"tensor": {"data": [[1.0, 2.0, 3.0]]}, "requires_grad": False},
                "w": {"shape": [3, 2], "seed": 1},
                "b": {"fill": 0.0, "shape": [2]},
            },
            "ops": [
                {"name": "xw", "op": "matmul", "args": ["x", "w"]},
                {"name": "z", "op": "add", "args": ["xw", "b"]},
                {"name": "p", "op": "sigmoid", "args": ["z"]},
                {"name": "loss", "op": "mean", "args": ["p"]},
            ],
            "backward": {"of": "loss", "retain_grad": ["z"], "repeat": 2},
        },
    },
}
