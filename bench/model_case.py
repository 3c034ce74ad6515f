"""The model-scale case (issue 16): torchvision's resnet18 on [1, 3, 224, 224], every module's
output selected (`"select": ["*"]`), the safetensors response; forward only, and with a
backward pass from `sum` and every gradient.

Its floors, measured in the benchmark's own process: the same model (seeded as the service
seeds it) run forward with a hook on every module that clones its output, as the service's
capture does (with a backward pass: a tensor hook keeping each output's gradient), and
TorchLens's `trace` of the same model and input, which logs every operation's output.
"""

import contextlib
import os
import subprocess
import sys
import time
from functools import partial
from typing import Any

import torch
import torchvision
from torch import nn

from bench.processes import ROOT

MODEL = "resnet18"
MODEL_SHAPE = [1, 3, 224, 224]


def model_body(device: str, backward: bool) -> dict[str, Any]:
    """The request: every module's output; with `backward`, every gradient too."""
    body: dict[str, Any] = {
        "model": {"torchvision": MODEL},
        "input": {"shape": MODEL_SHAPE, "seed": 0},
        "select": ["*"],
        "include": ["output"],
        "encoding": "safetensors",
        "device": device,
    }
    if backward:
        body |= {"backward": {"target": "sum"}, "include": ["output", "gradients"]}
    return body


def seeded_model(device: torch.device, seed: int = 0) -> nn.Module:
    """resnet18 as the service builds it for `{"seed": seed}`: torch.manual_seed, then
    torchvision's builder (random weights), in eval mode, on `device`."""
    torch.manual_seed(seed)
    model: nn.Module = torchvision.models.get_model(MODEL, weights=None)
    return model.eval().to(device)


def _first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, list | tuple):
        for item in value:
            found = _first_tensor(item)
            if found is not None:
                return found
    return None


class HookedRun:
    """The floor's run: every module but the model itself hooked, each call's output cloned
    (and with `backward`, its gradient kept by a tensor hook), by (name, call) as the service
    names them; the input made on the CPU from its seed and moved to the device, as the service
    makes it."""

    def __init__(
        self,
        model: nn.Module,
        device: torch.device,
        backward: bool,
        shape: list[int] | None = None,
    ) -> None:
        self.model = model
        self.device = device
        self.backward = backward
        self.shape = shape or MODEL_SHAPE
        self.outputs: dict[tuple[str, int], torch.Tensor] = {}
        self.grads: dict[tuple[str, int], torch.Tensor] = {}
        self.calls: dict[str, int] = {}
        self.generator = torch.Generator()
        for name, module in model.named_modules():
            if name:
                module.register_forward_hook(partial(self._hook, name))

    def _hook(self, name: str, module: nn.Module, args: Any, output: Any) -> None:
        y = _first_tensor(output)
        if y is None:
            return
        call = self.calls.get(name, 0)
        self.calls[name] = call + 1
        key = (name, call)
        self.outputs[key] = y.detach().clone()
        if self.backward and y.requires_grad:
            y.register_hook(partial(self.grads.__setitem__, key))  # type: ignore[no-untyped-call]

    def run(self) -> torch.Tensor:
        """One run; returns the model's output (outputs and gradients in `outputs`, `grads`)."""
        self.outputs.clear()
        self.grads.clear()
        self.calls.clear()
        x = torch.randn(*self.shape, generator=self.generator.manual_seed(0)).to(self.device)
        if not self.backward:
            with torch.no_grad():
                y: torch.Tensor = self.model(x)
            return y
        self.model.zero_grad(set_to_none=True)
        y = self.model(x.requires_grad_(True))
        y.sum().backward()  # type: ignore[no-untyped-call]
        return y

    def timed(self) -> float:
        """One run in ms (CUDA: synchronized, every kept tensor copied to the host)."""
        _sync(self.device)
        start = time.perf_counter()
        self.run()
        if self.device.type == "cuda":
            for t in (*self.outputs.values(), *self.grads.values()):
                t.cpu()
            if self.backward:
                for p in self.model.parameters():
                    if p.grad is not None:
                        p.grad.cpu()
        _sync(self.device)
        return (time.perf_counter() - start) * 1e3


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def torchlens_available() -> bool:
    """Whether TorchLens is installed (`pip install .[bench]`)."""
    try:
        import torchlens  # noqa: F401
    except ImportError:
        return False
    return True


def torchlens_loop(device: str, threads: int) -> None:
    """The TorchLens process's loop: build the model, then answer each line on stdin with the
    ms of one `torchlens.trace(model, x)` on stdout (the input made from its seed, as the
    service makes it), until stdin closes."""
    import torchlens

    if threads:
        torch.set_num_threads(threads)
    dev = torch.device(device)
    model = seeded_model(dev)
    generator = torch.Generator()
    for _ in sys.stdin:
        _sync(dev)
        start = time.perf_counter()
        x = torch.randn(*MODEL_SHAPE, generator=generator.manual_seed(0)).to(dev)
        torchlens.trace(model, x)
        _sync(dev)
        print((time.perf_counter() - start) * 1e3, flush=True)


class TorchLens:
    """`torchlens.trace` of the same model and input, timed in an interpreter of its own
    (`python -m bench.model_case DEVICE THREADS`): TorchLens wraps torch's functions on its
    first call and leaves them wrapped, which would slow every other in-process floor of the
    benchmark's process, and it refuses to trace in a multiprocessing child."""

    def __init__(self, device: torch.device, threads: int) -> None:
        argv = [sys.executable, "-m", "bench.model_case", str(device), str(threads)]
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(
                    p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
                ),
            },
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def timed(self) -> float:
        """One trace in ms."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("trace\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the TorchLens process ended ({self.proc.wait()})")
        return float(line)

    def close(self) -> None:
        """Stop the process."""
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


if __name__ == "__main__":
    torchlens_loop(sys.argv[1], int(sys.argv[2]))
