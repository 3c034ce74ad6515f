"""Where the small case's time goes, in-process (no HTTP): cProfile over the request path.

    PYTHONPATH=. .venv/bin/python -m bench.profile_small [--device cuda] [--calls 300]

Runs `inspect_layer` + response rendering for the small case (Conv2d(1, 20, 5) on [1, 1, 28, 28],
forward + backward from `sum`, every tensor's values) and prints the plain-PyTorch time beside it
and the functions that take the most time. Uses only the standard library's profiler, so it
runs wherever the service does.
"""

import argparse
import cProfile
import io
import pstats
import time
from collections.abc import Callable

import torch

from bench import plain_torch
from bench.http_bench import SMALL_LAYER, SMALL_SHAPE, small_body
from schemas.requests import LayerInspectRequest
from service.app import create_app
from service.inspection.layer import inspect_layer
from service.orjson_response import OrjsonResponse
from service.settings import Settings


def per_call_ms(fn: Callable[[], object], calls: int) -> float:
    """Mean milliseconds of `fn` over `calls` calls, after 20 warm-up calls."""
    for _ in range(20):
        fn()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e3


def main() -> None:
    """Time and profile the small case on the chosen device."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument(
        "--sort", default="tottime", help="pstats sort key (cumulative: by subtree)"
    )
    parser.add_argument("--top", type=int, default=22, help="rows of the profile to print")
    args = parser.parse_args()
    app = create_app(Settings(device=args.device, log_level="warning"))
    runtime = app.state.runtime
    device = torch.device(runtime.device)
    request = LayerInspectRequest.model_validate(small_body(str(device)))
    layer = plain_torch.layer(SMALL_LAYER).to(device)

    def plain() -> None:
        x = torch.randn(*SMALL_SHAPE, generator=torch.Generator().manual_seed(0)).to(device)
        layer(x.requires_grad_()).sum().backward()
        if device.type == "cuda":
            torch.cuda.synchronize()

    def served() -> None:
        OrjsonResponse(inspect_layer(request, runtime))

    print(f"device {device}; tf32 {torch.backends.cudnn.allow_tf32}")
    print(f"plain PyTorch forward+backward: {per_call_ms(plain, args.calls):.3f} ms")
    print(f"inspect_layer + render:         {per_call_ms(served, args.calls):.3f} ms")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.calls):
        served()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats(args.sort)
    stats.print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
