"""Capture hooks: on the selected modules only, they record outputs (copies), their autograd
facts and gradients, change nothing, and are always removed."""

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from service.running.capture import capture

ALL = ("0", "1", "2")


class Boom(nn.Module):
    """A layer that fails in forward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom")


class Twice(nn.Module):
    """Calls one shared layer twice, with an in-place ReLU after the first call."""

    def __init__(self) -> None:
        super().__init__()
        self.shared = nn.Linear(3, 3)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shared(self.act(self.shared(x)))


def model() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))


def no_module_hooks(m: nn.Module) -> bool:
    return all(not layer._forward_hooks and not layer._forward_pre_hooks for layer in m.modules())


def test_records_outputs_and_grads_without_changing_results() -> None:
    m = model()
    x = torch.randn(5, 4, requires_grad=True)
    expected_y = m(x)
    expected_y.sum().backward()
    expected_x_grad = x.grad.clone()  # type: ignore[union-attr]
    expected_w_grad = m[0].weight.grad.clone()  # type: ignore[union-attr]
    x.grad = None
    m.zero_grad(set_to_none=True)

    with capture(m, ALL, inputs=["2"]) as found:
        y = m(x)
        y.sum().backward()
    assert_close(y, expected_y)
    assert_close(x.grad, expected_x_grad)
    assert_close(m[0].weight.grad, expected_w_grad)
    h0 = m[0](x)
    assert_close(found.calls[("0", 0)].output, h0)
    assert found.calls[("0", 0)].grad_fn == "AddmmBackward0"
    assert_close(found.calls[("2", 0)].output, y)
    assert_close(found.calls[("2", 0)].grad, torch.ones(5, 2))
    # d sum / d h1 = W2^T ones, both as the output of layer 1 and as the input of layer 2
    assert_close(found.calls[("1", 0)].grad, torch.ones(5, 2) @ m[2].weight)
    assert_close(found.calls[("2", 0)].input_grad, torch.ones(5, 2) @ m[2].weight)
    assert_close(found.calls[("2", 0)].input, torch.tanh(h0))
    assert found.calls[("0", 0)].input is None  # inputs only where asked
    assert no_module_hooks(m)
    assert found.handles == []


def test_only_the_selected_modules_are_hooked() -> None:
    m = model()
    seen: list[int] = []
    with capture(m, ["1"]) as found:
        seen = [len(layer._forward_hooks) for layer in m]
        m(torch.randn(2, 4))
    assert seen == [0, 1, 0]
    assert set(found.calls) == {("1", 0)}


def test_each_call_is_recorded_and_in_place_changes_do_not_reach_the_copy() -> None:
    torch.manual_seed(1)
    m = Twice()
    x = torch.randn(4, 3, requires_grad=True)
    with capture(m, ["shared"]) as found:
        y = m(x)
        (y * torch.arange(3.0)).sum().backward()
    first = m.shared(x)
    assert set(found.calls) == {("shared", 0), ("shared", 1)}
    assert_close(found.calls[("shared", 0)].output, first)  # before the in-place ReLU
    assert found.calls[("shared", 0)].grad_fn == "AddmmBackward0"
    assert_close(found.calls[("shared", 1)].output, y)
    # the gradient with respect to the first call's output, as PyTorch gives it
    h = first.detach().requires_grad_(True)
    (m.shared(torch.relu(h)) * torch.arange(3.0)).sum().backward()
    assert_close(found.calls[("shared", 0)].grad, h.grad)


def test_hooks_removed_after_error() -> None:
    m = nn.Sequential(nn.Linear(2, 2), Boom())
    with pytest.raises(RuntimeError, match="boom"), capture(m, ["0", "1"], ["1"]) as found:
        m(torch.randn(1, 2, requires_grad=True))
    assert no_module_hooks(m)
    assert found.handles == []
    assert set(found.calls) == {("0", 0)}


def test_hooks_removed_after_error_in_backward() -> None:
    m = model()
    with pytest.raises(RuntimeError), capture(m, ALL) as found:
        y = m(torch.randn(2, 4))
        y.backward()  # not a scalar: PyTorch refuses
    assert no_module_hooks(m)
    assert found.handles == []


def test_forward_only_registers_no_tensor_hooks() -> None:
    m = model()
    with torch.no_grad(), capture(m, ALL) as found:
        m(torch.randn(1, 4))
    assert all(c.grad is None and not c.requires_grad for c in found.calls.values())
    assert found.handles == [] and no_module_hooks(m)


def test_an_in_place_modules_input_is_kept_as_it_arrived() -> None:
    """ReLU(inplace=True) overwrites its input: the copy and the gradient are of the value it
    received (negative entries included), not of what it left there."""
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(inplace=True), nn.Linear(4, 2))
    x = torch.randn(5, 3, requires_grad=True)
    with capture(m, ["1"], inputs=["1"]) as found:
        m(x).sum().backward()
    h = m[0](x)
    h.retain_grad()
    m[2](torch.relu(h)).sum().backward()
    record = found.calls[("1", 0)]
    assert (h < 0).any()
    assert_close(record.input, h.detach(), rtol=0, atol=0)
    assert_close(record.input_grad, h.grad)
    assert_close(record.output, torch.relu(h).detach(), rtol=0, atol=0)
    assert no_module_hooks(m) and found.handles == []
