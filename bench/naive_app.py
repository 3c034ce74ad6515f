"""The naive peer: what a first FastAPI endpoint for the same job usually looks like.

Same request body as `POST /v1/layers/inspect` (one layer, the benchmark's conv2d, built from
its spec with plain torch.nn; seeded input and weights), the same tensors and stats in the
answer, but values go out through `tensor.tolist()` and FastAPI's default response
(`jsonable_encoder` + `json.dumps`; `response_model=None`, since a return annotation would route
it through pydantic-core's serializer instead). The benchmark starts it exactly as it starts the
service and sends it the same requests: the issue's "before".
"""

from typing import Any

import torch
from fastapi import FastAPI

from bench import plain_torch

app = FastAPI(title="naive peer")


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness."""
    return {"status": "ok"}


def _naive_stats(t: torch.Tensor) -> dict[str, Any]:
    """One reduction and one host sync per figure, as written by hand."""
    t = t.detach()
    return {
        "min": t.min().item(),
        "max": t.max().item(),
        "mean": t.mean().item(),
        "std": t.std().item() if t.numel() > 1 else None,
        "nan_count": int(torch.isnan(t).sum().item()),
        "inf_count": int(torch.isinf(t).sum().item()),
        "zero_fraction": (t == 0).float().mean().item(),
    }


def _tensor(t: torch.Tensor, with_values: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"shape": list(t.shape), "stats": _naive_stats(t)}
    if with_values:
        out["data"] = t.detach().reshape(-1).tolist()
    return out


@app.post("/v1/layers/inspect", response_model=None)  # FastAPI's default: jsonable_encoder
def inspect(body: dict[str, Any]) -> dict[str, Any]:
    """Run a conv2d forward (and backward) and return everything via `tolist()`."""
    spec = body["layer"]
    device = torch.device(body.get("device") or "cpu")
    include = set(body.get("include", ["input", "output", "parameters", "gradients"]))
    torch.manual_seed(body.get("weights", {}).get("seed", 0))
    layer = plain_torch.layer(spec).to(device)
    torch.manual_seed(body["input"].get("seed", 0))
    x = torch.randn(*body["input"]["shape"]).to(device)
    backward = body.get("backward") is not None
    x.requires_grad_(backward)
    with torch.set_grad_enabled(backward):
        y = layer(x)
    if backward:
        y.retain_grad()
        y.sum().backward()
    grads = backward and "gradients" in include

    def leaf(t: torch.Tensor, kind: str) -> dict[str, Any]:
        obj = _tensor(t, kind in include)
        obj["grad"] = _tensor(t.grad, grads) if backward and t.grad is not None else None
        return obj

    return {
        "layer": {"type": "conv2d", "repr": repr(layer)},
        "device": str(device),
        "input": leaf(x, "input"),
        "output": leaf(y, "output"),
        "parameters": {name: leaf(p, "parameters") for name, p in layer.named_parameters()},
    }
