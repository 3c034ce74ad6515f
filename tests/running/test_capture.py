"""Capture hooks: they record outputs and gradients, change nothing, and are always removed."""

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from service.running.capture import capture


class Boom(nn.Module):
    """A layer that fails in forward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom")


def model() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))


def no_module_hooks(m: nn.Module) -> bool:
    return all(not layer._forward_hooks for layer in m.modules())


def test_records_outputs_and_grads_without_changing_results() -> None:
    m = model()
    x = torch.randn(5, 4, requires_grad=True)
    expected_y = m(x)
    expected_y.sum().backward()
    expected_x_grad = x.grad.clone()  # type: ignore[union-attr]
    expected_w_grad = m[0].weight.grad.clone()  # type: ignore[union-attr]
    x.grad = None
    m.zero_grad(set_to_none=True)

    with capture(m) as found:
        y = m(x)
        y.sum().backward()
    assert_close(y, expected_y)
    assert_close(x.grad, expected_x_grad)
    assert_close(m[0].weight.grad, expected_w_grad)
    h0 = m[0](x)
    assert found.outputs[0] is not None and found.outputs[2] is y
    assert_close(found.outputs[0], h0)
    assert_close(found.grads[2], torch.ones(5, 2))
    # d sum / d h1 = W2^T ones
    assert_close(found.grads[1], torch.ones(5, 2) @ m[2].weight)
    assert no_module_hooks(m)
    for out in found.outputs:
        assert out is not None and not out._backward_hooks


def test_hooks_removed_after_error() -> None:
    m = nn.Sequential(nn.Linear(2, 2), Boom())
    with pytest.raises(RuntimeError, match="boom"), capture(m) as found:
        m(torch.randn(1, 2, requires_grad=True))
    assert no_module_hooks(m)
    assert found.handles == []
    out = found.outputs[0]
    assert out is not None and not out._backward_hooks


def test_hooks_removed_after_error_in_backward() -> None:
    m = model()
    with pytest.raises(RuntimeError), capture(m) as found:
        y = m(torch.randn(2, 4))
        y.backward()  # not a scalar: PyTorch refuses
    assert no_module_hooks(m)
    assert all(out is not None and not out._backward_hooks for out in found.outputs)


def test_forward_only_registers_no_tensor_hooks() -> None:
    m = model()
    with torch.no_grad(), capture(m) as found:
        m(torch.randn(1, 4))
    assert found.grads == [None, None, None]
    assert all(out is not None and not out.requires_grad for out in found.outputs)
    assert no_module_hooks(m)
