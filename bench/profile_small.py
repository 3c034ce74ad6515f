"""Where the small case's time goes: in-process (cProfile over the request path) or through HTTP
(py-spy sampling the served process).

    PYTHONPATH=. .venv/bin/python -m bench.profile_small [--device cuda] [--calls 300]
    PYTHONPATH=. .venv/bin/python -m bench.profile_small --http [--seconds 10] [--torch-threads 1]

In-process: runs `inspect_layer` + response rendering for the small case (Conv2d(1, 20, 5) on
[1, 1, 28, 28], forward + backward from `sum`, every tensor's values) and prints the
plain-PyTorch time beside it and the functions that take the most time (the standard
library's profiler).

--http: starts the service as the benchmark does (`layerscope serve`, one worker), sends the
small case over one keep-alive connection for `--seconds`, and meanwhile samples the server
with py-spy (`pip install .[bench]`; reading another process needs ptrace rights). Prints the
share of samples in which each of the service's own stages is on the stack (uvicorn and
Starlette's parts, the middleware, metrics, logging, the job limiter, planning, building,
running, stats, encoding), then the functions that take the most samples themselves.
"""

import argparse
import contextlib
import cProfile
import io
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import orjson
import torch

from bench import plain_torch
from bench.clients import KeepAliveClient, timed_post
from bench.http_bench import SMALL_LAYER, SMALL_SHAPE, bench_service, small_body
from bench.processes import running
from schemas.requests import LayerInspectRequest
from service.app import create_app
from service.inspection.layer import inspect_layer
from service.orjson_response import OrjsonResponse
from service.settings import Settings

STAGES: dict[str, tuple[str, ...]] = {
    "uvicorn: HTTP parsing and writing": ("httptools_impl.py", "h11_impl.py"),
    "request context middleware (id, metrics, log)": ("request_context.py",),
    "body limit middleware": ("body_limit.py",),
    "metrics (prometheus_client)": ("prometheus_client",),
    "logging": ("logging/__init__.py", "service/logs.py"),
    "job limiter (slot, deadline)": ("service/jobs.py", "_torch_job"),
    "FastAPI: request validation (pydantic)": ("_validate_request_body", "request_body_to_args"),
    "thread pool hop (anyio to_thread)": ("to_thread.py", "run_in_threadpool"),
    "planning (prepare, plan_model, estimate)": ("preparation.py", "model_plan.py"),
    "FlopCounterMode": ("flop_counter.py",),
    "module build/copy": ("module_cache.py", "weights.py:", "copy.py"),
    "run (torch forward+backward)": ("execution.py",),
    "report (stats and values)": ("tensors/report.py", "tensors/codec.py"),
    "stats": ("tensors/stats.py",),
    "orjson encode": ("orjson_response.py",),
}
"""Each stage, by what appears in a sampled frame (file or function) while it runs."""


def per_call_ms(fn: Callable[[], object], calls: int) -> float:
    """Mean milliseconds of `fn` over `calls` calls, after 20 warm-up calls."""
    for _ in range(20):
        fn()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e3


def in_process(device_name: str, calls: int, sort: str, top: int) -> None:
    """Time and profile the small case in this process."""
    app = create_app(Settings(device=device_name, log_level="warning"))
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
    print(f"plain PyTorch forward+backward: {per_call_ms(plain, calls):.3f} ms")
    print(f"inspect_layer + render:         {per_call_ms(served, calls):.3f} ms")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        served()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(top)
    print(out.getvalue())


def stage_shares(stacks: Counter[str]) -> dict[str, float]:
    """The share of all samples in which each stage is on the stack (a sample may count for
    several stages: a stage inside another)."""
    total = sum(stacks.values()) or 1
    return {
        name: sum(n for stack, n in stacks.items() if any(m in stack for m in marks)) / total
        for name, marks in STAGES.items()
    }


def self_shares(stacks: Counter[str]) -> Counter[str]:
    """Samples per innermost frame (the function running itself)."""
    own: Counter[str] = Counter()
    for stack, n in stacks.items():
        own[stack.rsplit(";", 1)[-1]] += n
    return own


def read_raw(path: Path) -> Counter[str]:
    """py-spy's raw output: one collapsed stack per line, its sample count last."""
    stacks: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[stack] += int(count)
    return stacks


def over_http(device: str, seconds: float, threads: int, top: int, gil: bool) -> int:
    """Serve the small case for `seconds` while py-spy samples the server; print the shares."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("py-spy is not installed: pip install .[bench]", file=sys.stderr)
        return 2
    body = orjson.dumps(small_body(device))
    with (
        running(bench_service(device, 1, threads), "/readyz") as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        raw = Path(tmp) / "stacks.txt"
        client = KeepAliveClient(server.url)
        with contextlib.closing(client):
            for _ in range(50):
                timed_post(client, "/v1/layers/inspect", body)
            spy_proc = subprocess.Popen(
                [
                    spy,
                    "record",
                    "--pid",
                    str(server.pid),
                    "--format",
                    "raw",
                    "--rate",
                    "500",
                    "--duration",
                    str(int(seconds)),
                    "--output",
                    str(raw),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            latencies: list[float] = []
            while spy_proc.poll() is None:
                latencies.append(timed_post(client, "/v1/layers/inspect", body))
        if spy_proc.returncode != 0 or not raw.exists():
            print(f"py-spy failed ({spy_proc.returncode}); it needs ptrace rights", file=sys.stderr)
            return 1
        stacks = read_raw(raw)
    latencies.sort()
    print(f"{len(latencies)} requests, p50 {latencies[len(latencies) // 2]:.3f} ms")
    print(f"{sum(stacks.values())} samples of the server (idle time of the event loop included)")
    for name, share in sorted(stage_shares(stacks).items(), key=lambda kv: -kv[1]):
        print(f"  {share * 100:5.1f}%  {name}")
    print("most samples, innermost frame:")
    total = sum(stacks.values()) or 1
    for frame, n in self_shares(stacks).most_common(top):
        print(f"  {n / total * 100:5.1f}%  {frame}")
    return 0


def main() -> int:
    """Profile in-process (default) or through HTTP (--http)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--sort", default="tottime", help="pstats key (cumulative: by subtree)")
    parser.add_argument("--top", type=int, default=22, help="rows of the profile to print")
    parser.add_argument("--http", action="store_true", help="sample the served process")
    parser.add_argument("--seconds", type=float, default=10.0, help="--http: how long")
    parser.add_argument("--torch-threads", type=int, default=1, help="--http: the server's")
    parser.add_argument(
        "--gil",
        action="store_true",
        help="--http: count only samples holding the GIL (the Python work; without it, threads "
        "waiting for the GIL count where they wait)",
    )
    args = parser.parse_args()
    if args.http:
        return over_http(args.device, args.seconds, args.torch_threads, args.top, args.gil)
    in_process(args.device, args.calls, args.sort, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
