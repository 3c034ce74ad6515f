"""torchvision architectures run directly, for the tests' comparisons: built with
`torch.manual_seed(w); torchvision.models.get_model(name, weights=None, **kwargs)`, run with
forward hooks on every module that copy its output when it returns (torchvision's
`ReLU(inplace=True)` changes some outputs afterwards) and a tensor hook for the gradient of the
target with respect to the value the module returned; and the checks of a response against it.
"""

import fnmatch
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import torch
import torchvision
from torch import nn
from torch.testing import assert_close

from tests.helpers import tensor_from


@dataclass
class Record:
    """One call of one module in the direct run."""

    output: torch.Tensor
    grad_fn: str | None
    grad: torch.Tensor | None = None


@dataclass
class DirectRun:
    """A model run directly: the model (after the run), its input, every module call."""

    model: nn.Module
    x: torch.Tensor
    y: torch.Tensor
    calls: dict[tuple[str, int], Record] = field(default_factory=dict)

    def names(self) -> list[str]:
        """Qualified names of the modules that ran."""
        return list(dict.fromkeys(name for name, _ in self.calls))


def build(name: str, kwargs: dict[str, Any], weight_seed: int) -> nn.Module:
    """The architecture with the weights `torch.manual_seed(weight_seed)` gives it."""
    torch.manual_seed(weight_seed)
    return torchvision.models.get_model(name, weights=None, **kwargs)


def first_tensor(value: Any) -> torch.Tensor | None:
    """A module's output tensor, or the first of a tuple (MultiheadAttention's)."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, tuple | list):
        return next((v for v in value if isinstance(v, torch.Tensor)), None)
    return None


def run(
    model: nn.Module,
    shape: list[int],
    input_seed: int,
    *,
    train: bool = False,
    forward_seed: int = 0,
    backward: bool = True,
) -> DirectRun:
    """Run `model` on `torch.manual_seed(input_seed); torch.randn(shape)` (requiring grad),
    hooked on every module, after `torch.manual_seed(forward_seed)`; then `.sum().backward()`."""
    model.train(train)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(input_seed))
    x.requires_grad_(True)
    calls: dict[tuple[str, int], Record] = {}
    counts: dict[str, int] = {}

    def hook_of(name: str) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            y = first_tensor(output)
            if y is None:
                return
            call = counts.get(name, 0)
            counts[name] = call + 1
            grad_fn = None if y.grad_fn is None else type(y.grad_fn).__name__
            record = Record(y.detach().clone(), grad_fn)
            if y.requires_grad:

                def keep(grad: torch.Tensor) -> None:
                    record.grad = grad.detach().clone()

                y.register_hook(keep)
            calls[(name, call)] = record

        return hook

    handles = [
        module.register_forward_hook(hook_of(name))
        for name, module in model.named_modules()
        if name
    ]
    torch.manual_seed(forward_seed)
    if backward:
        y = model(x)
        y.sum().backward()
    else:
        with torch.no_grad():
            y = model(x)
    for handle in handles:
        handle.remove()
    return DirectRun(model, x, y.detach(), calls)


def selected_names(direct: DirectRun, patterns: list[str]) -> set[str]:
    """The modules that ran whose qualified names match any of `patterns` (shell globs)."""
    return {n for n in direct.names() if any(fnmatch.fnmatchcase(n, p) for p in patterns)}


def exact(got: torch.Tensor, want: torch.Tensor) -> None:
    """Equal to the bit (same shape and dtype)."""
    assert_close(got, want, rtol=0, atol=0)


ALL_INCLUDES = ("input", "output", "parameters", "buffers", "gradients")


def values_of(obj: dict[str, Any], kind: str, include: Collection[str]) -> torch.Tensor | None:
    """A response tensor's values where `include` asks for them (then they must be there),
    else None (then they must not be)."""
    if kind not in include:
        assert "data" not in obj and "data_b64" not in obj, kind
        return None
    return tensor_from(obj)


def same(got: torch.Tensor | None, want: torch.Tensor, grad: bool = False) -> None:
    """Equal to the bit (values), or within assert_close (gradients); None: not asked for."""
    if got is None:
        return
    if grad:
        assert_close(got, want)
    else:
        exact(got, want)


def check_run(
    body: dict[str, Any],
    direct: DirectRun,
    patterns: list[str],
    include: Collection[str] = ALL_INCLUDES,
) -> int:
    """Every selected row's output (values, grad_fn, gradient) and every parameter and buffer
    the response reports equal the direct run's (values where `include` names them); the rows
    selected are exactly the calls of the modules `patterns` name, each state_dict entry
    reported once, under the first selected row that holds it, and the model's own (held by no
    module) at the top level. Returns how many rows were compared."""
    chosen = selected_names(direct, patterns)
    rows = {(row["name"], row["call"]): row for row in body["layers"]}
    selected = {key for key, row in rows.items() if row["selected"]}
    assert selected == {key for key in direct.calls if key[0] in chosen}
    params = dict(direct.model.named_parameters())
    buffers = dict(direct.model.named_buffers())
    seen: set[str] = set()
    for row in sorted(body["layers"], key=lambda row: row["index"]):
        if not row["selected"]:
            assert row["output"] is None and row["parameters"] == {} == row["buffers"]
            continue
        want = direct.calls[(row["name"], row["call"])]
        got = row["output"]
        assert got["shape"] == list(want.output.shape), row["name"]
        same(values_of(got, "output", include), want.output)
        assert got["grad_fn"] == want.grad_fn, row["name"]
        if want.grad is None:
            assert got["grad"] is None, row["name"]
        else:
            same(values_of(got["grad"], "gradients", include), want.grad, grad=True)
        module = direct.model.get_submodule(row["name"])
        prefix = f"{row['name']}."
        owned = {prefix + n for n, _ in module.named_parameters()} - seen
        assert set(row["parameters"]) == owned, row["name"]
        owned_buffers = {prefix + n for n, _ in module.named_buffers()} - seen
        assert set(row["buffers"]) == owned_buffers, row["name"]
        seen |= owned | owned_buffers
    own = {n for n, _ in direct.model.named_parameters(recurse=False)}
    assert set(body["parameters"]) == own
    reported = {n: obj for row in body["layers"] for n, obj in row["parameters"].items()}
    for name, obj in (reported | body["parameters"]).items():
        same(values_of(obj, "parameters", include), params[name].detach())
        grad = params[name].grad
        if grad is None:
            assert obj["grad"] is None, name
        else:
            same(values_of(obj["grad"], "gradients", include), grad, grad=True)
    reported_buffers = {n: obj for row in body["layers"] for n, obj in row["buffers"].items()}
    for name, obj in (reported_buffers | body["buffers"]).items():
        same(values_of(obj, "buffers", include), buffers[name])
    same(values_of(body["input"], "input", include), direct.x.detach())
    if direct.x.grad is not None:
        same(values_of(body["input"]["grad"], "gradients", include), direct.x.grad, grad=True)
    return len(selected)


def perturbed_state(model: nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """The model's state_dict, each float tensor moved by small noise and the batch norms'
    counters changed (other integer buffers, such as Swin's relative_position_index, are
    indices the model needs as they are): weights no seed gives."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, t in model.state_dict().items():
        if t.is_floating_point():
            state[name] = t + 0.05 * torch.randn(t.shape, generator=g, dtype=t.dtype)
        elif name.endswith("num_batches_tracked"):
            state[name] = t + 3
        else:
            state[name] = t.clone()
    return state
