"""schemas/autograd_examples.py: each example validates, and its summary's numbers are PyTorch's."""

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


def test_ones_plus_two_squared_numbers() -> None:
    a = torch.ones(2, 2, requires_grad=True)
    out = ((a + 2) ** 2).sum()
    out.backward()
    summary = AUTOGRAD_EXAMPLES["ones_plus_two_squared"]["summary"]
    assert f"-> {int(out.item())}," in summary
    assert a.grad is not None and torch.equal(a.grad, torch.full((2, 2), 6.0))
    assert "a.grad all 6" in summary


def test_mean_of_square_numbers() -> None:
    x = torch.ones(3, 3, requires_grad=True)
    y = x + 5
    out = (y * y).mean()
    out.backward()
    assert out.item() == 36
    assert x.grad is not None
    torch.testing.assert_close(x.grad, torch.full((3, 3), 4 / 3))
    assert "-> 36, x.grad all 4/3" in AUTOGRAD_EXAMPLES["mean_of_square"]["summary"]


def test_vector_jacobian_product_is_times_eight() -> None:
    value = AUTOGRAD_EXAMPLES["vector_jacobian_product"]["value"]
    v = torch.tensor(value["backward"]["grad_output"]["data"])
    torch.manual_seed(value["tensors"]["x"]["seed"])
    x = torch.randn(3, requires_grad=True)
    (x * 2 * 2 * 2).backward(v)
    assert x.grad is not None
    torch.testing.assert_close(x.grad, v * 8)
