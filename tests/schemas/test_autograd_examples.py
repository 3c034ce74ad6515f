"""schemas/autograd_examples.py: each example validates, and its summary's numbers are PyTorch's."""

from fractions import Fraction
from typing import Any

import pytest
import torch

from schemas.autograd import AutogradRequest
from schemas.autograd_examples import AUTOGRAD_EXAMPLES


@pytest.mark.parametrize("name", sorted(AUTOGRAD_EXAMPLES))
def test_example_validates(name: str) -> None:
    example = AUTOGRAD_EXAMPLES[name]
    request = AutogradRequest.model_validate(example["value"])
    assert [op.name for op in request.ops] == [op["name"] for op in example["value"]["ops"]]
    assert example["summary"]


def example(name: str) -> tuple[str, dict[str, Any]]:
    """An example's summary and its request body."""
    return AUTOGRAD_EXAMPLES[name]["summary"], AUTOGRAD_EXAMPLES[name]["value"]


def constant(value: dict[str, Any], step: int) -> float:
    """The number argument of the example's ops[step] (e.g. the 2 of `a + 2`)."""
    (number,) = [a for a in value["ops"][step]["args"] if not isinstance(a, str)]
    return float(number)


# The summaries are documentation the service ships (OpenAPI). Each test runs the example's own
# numbers through PyTorch and checks that the summary states what PyTorch gives; that the
# service gives it too is tests/routes/test_autograd.py::test_the_examples_say_what_they_show.


def test_ones_plus_two_squared_summary_states_pytorchs_numbers() -> None:
    summary, value = example("ones_plus_two_squared")
    leaf = value["tensors"]["a"]
    a = torch.full(leaf["shape"], leaf["fill"], requires_grad=True)
    out = ((a + constant(value, 0)) ** constant(value, 1)).sum()
    out.backward()
    assert a.grad is not None and bool((a.grad == a.grad.flatten()[0]).all())
    assert f"-> {out.item():g}, a.grad all {a.grad.flatten()[0].item():g}" in summary


def test_mean_of_square_summary_states_pytorchs_numbers() -> None:
    summary, value = example("mean_of_square")
    leaf = value["tensors"]["x"]
    x = torch.full(leaf["shape"], leaf["fill"], requires_grad=True)
    y = x + constant(value, 0)
    out = (y * y).mean()
    out.backward()
    assert x.grad is not None and bool((x.grad == x.grad.flatten()[0]).all())
    grad = Fraction(x.grad.flatten()[0].item()).limit_denominator(100)
    assert f"-> {out.item():g}, x.grad all {grad}" in summary


def test_vector_jacobian_product_summary_states_pytorchs_factor() -> None:
    summary, value = example("vector_jacobian_product")
    v = torch.tensor(value["backward"]["grad_output"]["data"])
    torch.manual_seed(value["tensors"]["x"]["seed"])
    x = torch.randn(value["tensors"]["x"]["shape"], requires_grad=True)
    y = x
    for step in range(len(value["ops"])):
        y = y * constant(value, step)
    y.backward(v)
    assert x.grad is not None
    factor = x.grad / v
    assert bool((factor == factor[0]).all())
    assert f"x.grad = v * {factor[0].item():g}" in summary
