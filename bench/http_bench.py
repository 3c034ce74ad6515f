"""HTTP benchmark of layerscope against its floors (issue 16) and a naive peer (issue 6).

    PYTHONPATH=. .venv/bin/python -m bench.http_bench [--quick|--full] [--device cuda]
        [--torch-threads N] [--workers 1,2,4] [--no-peer] [--no-model] [--out FILE]

Starts the real service (`python -m service.cli serve`, i.e. `layerscope serve`, on a free
loopback port, configured by LAYERSCOPE_* variables), the bare floor server
(`bench/floor_app.py`: the service's request models validated, a ready-made body of a given size
answered) and the naive peer (`bench/naive_app.py`) as uvicorn subprocesses, and measures every
figure that feeds a ratio interleaved, round-robin in one loop (service, floor server,
in-process torch and encoding), so a noisy machine slows all sides alike; ratios of medians.

The cases and their floors:
- small: Conv2d(1, 20, 5) on [1, 1, 28, 28], forward and backward, every value, JSON. Floor:
  the floor server's answer of the same byte count to the same request + the in-process torch
  forward/backward + the in-process orjson encode of the same 8 tensors' values.
- large: Conv2d(16, 33, (3, 5), ...) on [20, 16, 50, 100] ([20, 33, 26, 100] out), forward,
  the output's values; binary (safetensors) against torch + the floor server's blob of the same
  size; JSON against torch + orjson's encode of the output + the blob of the JSON's size.
- model: resnet18 on [1, 3, 224, 224], `"select": ["*"]`, safetensors; forward (every module's
  output) and forward+backward (every gradient too). Floor: the same forward in-process with a
  hook on every module cloning its output (and keeping its gradient) + the floor server's blob
  of the same byte count; and TorchLens's `trace` of the same model and input, in-process.
- peak RSS: the service's VmHWM growth while serving one large response (reset before each),
  against the bytes of the tensors it returns (the output's values).
- throughput: the small case at concurrency 32 with 1, 2 and 4 workers, the load from separate
  client processes (httpx's async client, spawned); on a machine without cores to spare the
  clients compete with the server and the figures are a lower bound.

Latencies come from one keep-alive `http.client` connection per server (the standard library
reads a large body in large socket reads, where httpx's pure-Python path spends ~45 ms of client
time on a 19 MB one), so every HTTP figure, the floor's included, carries the same client cost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import torch

from bench import model_case, plain_torch
from bench.clients import KeepAliveClient, timed_get, timed_post
from bench.machine import describe
from bench.processes import Server, read_status_kib, reset_peak_rss, running, service_server
from bench.stats import percentile, ratio, verdict
from schemas.examples import LAYER_EXAMPLES

# The two layer cases, taken from the OpenAPI worked examples so they cannot drift apart.
SMALL_LAYER: dict[str, Any] = LAYER_EXAMPLES["mnist_conv"]["value"]["layer"]
SMALL_SHAPE = [1, 1, 28, 28]
LARGE_LAYER: dict[str, Any] = LAYER_EXAMPLES["strided_dilated_conv"]["value"]["layer"]
LARGE_SHAPE = [20, 16, 50, 100]

INSPECT = "/v1/layers/inspect"
MODELS = "/v1/models/inspect"

TARGETS = {
    "small_vs_floor": 1.5,
    "large_binary_vs_floor": 1.3,
    "large_json_vs_floor": 1.5,
    "model_vs_floor": 1.5,
    "model_vs_torchlens": 4.0,
    "model_backward_vs_floor": 1.5,
    "peak_rss_vs_returned_bytes": 2.0,
    # issue 6's, kept for comparison
    "large_base64_speedup": 4.0,
    "peer_speedup_large": 10.0,
    "peer_speedup_small": 5.0,
}


def small_body(device: str) -> dict[str, Any]:
    """The seed MNIST case, everything included: forward, backward from sum, all values."""
    return {
        "layer": SMALL_LAYER,
        "input": {"shape": SMALL_SHAPE, "seed": 0},
        "backward": {"target": "sum"},
        "device": device,
    }


def large_body(device: str, encoding: str) -> dict[str, Any]:
    """The large case: forward only, the output's values (1.7 M) in `encoding`."""
    return {
        "layer": LARGE_LAYER,
        "input": {"shape": LARGE_SHAPE, "seed": 0},
        "include": ["output"],
        "encoding": encoding,
        "device": device,
    }


# --- servers ----------------------------------------------------------------------------------


def bench_service(device: str, workers: int, torch_threads: int) -> Server:
    """layerscope itself, started as `layerscope serve` is, `torch_threads` per worker."""
    env = {
        "LAYERSCOPE_TORCH_THREADS": str(torch_threads),
        # The default queue (16 waiting jobs) is meant to shed load: with one job slot per GPU,
        # 32 clients that keep a request in flight each overflow it and get 503s by design.
        # The throughput figures measure serving, not shedding, so the queue holds them all.
        "LAYERSCOPE_MAX_QUEUED_JOBS": "64",
    }
    return service_server(device, workers=workers, env=env)


def _uvicorn(name: str, app: str) -> Server:
    argv = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", "{port}"]
    return Server(name, [*argv, "--log-level", "warning", "--no-access-log"])


def floor_server() -> Server:
    """The bare floor server (bench/floor_app.py), one uvicorn worker."""
    return _uvicorn("floor", "bench.floor_app:app")


def peer_server(torch_threads: int) -> Server:
    """The naive peer, started with uvicorn the same way."""
    server = _uvicorn("naive peer", "bench.naive_app:app")
    if torch_threads:
        server.env["OMP_NUM_THREADS"] = str(torch_threads)
    return server


# --- in-process floors ------------------------------------------------------------------------


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _settle() -> None:
    """Let this process's OpenMP workers stop spinning (they busy-wait for a while after a
    parallel region) before the next HTTP request, so they do not steal the server's cores."""
    time.sleep(0.02)


def torch_small_step(device: torch.device) -> tuple[Callable[[], float], list[np.ndarray]]:
    """Plain PyTorch forward+backward of the small case, seeded input made on the CPU as the
    service makes it (CUDA: synchronized, the returned tensors copied to the host); returns a
    timer (ms per call) and the values the service returns (input, output, parameters and every
    gradient), for the encode floor."""
    layer = plain_torch.layer(SMALL_LAYER).to(device)
    generator = torch.Generator()
    kept: list[torch.Tensor] = []

    def step() -> float:
        _sync(device)
        start = time.perf_counter()
        layer.zero_grad(set_to_none=True)
        x = torch.randn(*SMALL_SHAPE, generator=generator.manual_seed(0)).to(device)
        y = layer(x.requires_grad_(True))
        y.retain_grad()
        y.sum().backward()
        params = list(layer.parameters())
        tensors = [x, y, *params]
        grads = [t.grad for t in tensors]
        kept[:] = [t.detach() for t in tensors] + [g for g in grads if g is not None]
        if device.type == "cuda":  # the device-to-host copies of what the service returns
            kept[:] = [t.cpu() for t in kept]
        _sync(device)
        elapsed = (time.perf_counter() - start) * 1e3
        _settle()
        return elapsed

    step()
    return step, [t.cpu().numpy().reshape(-1) for t in kept]


def torch_large_forward(device: torch.device) -> tuple[Callable[[], float], np.ndarray]:
    """Plain PyTorch forward of the large case, seeded input included (made on the CPU and
    copied over, as the service does); device-to-host copy of the output counted on CUDA."""
    layer = plain_torch.layer(LARGE_LAYER).to(device)
    generator = torch.Generator()
    with torch.no_grad():
        out = layer(torch.randn(*LARGE_SHAPE, generator=generator).to(device)).cpu().numpy()

    def step() -> float:
        _sync(device)
        start = time.perf_counter()
        with torch.no_grad():
            x = torch.randn(*LARGE_SHAPE, generator=generator.manual_seed(0)).to(device)
            y = layer(x)
            if device.type == "cuda":
                y = y.cpu()
        _sync(device)
        elapsed = (time.perf_counter() - start) * 1e3
        _settle()
        return elapsed

    return step, out


def orjson_encode_ms(arrays: Sequence[np.ndarray]) -> float:
    """In-process time to encode `arrays` with orjson from their numpy buffers (ms)."""
    start = time.perf_counter()
    orjson.dumps(list(arrays), option=orjson.OPT_SERIALIZE_NUMPY)
    return (time.perf_counter() - start) * 1e3


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


# --- HTTP drivers -----------------------------------------------------------------------------


async def _drive(
    url: str,
    body: bytes,
    concurrency: int,
    requests: int,
    cap_s: float,
    barrier: Any = None,
) -> tuple[int, float, float]:
    """Post `body` over `concurrency` keep-alive connections until `requests` are done or
    `cap_s` passes; return (requests done, start, end) on the monotonic clock."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"content-type": "application/json"}
    done = 0
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120.0) as client:
        # warm every connection once
        await asyncio.gather(
            *(
                client.post("/v1/layers/inspect", content=body, headers=headers)
                for _ in range(concurrency)
            )
        )
        if barrier is not None:
            await asyncio.to_thread(barrier.wait)
        start = time.monotonic()
        deadline = start + cap_s

        async def worker() -> None:
            nonlocal done
            while done < requests and time.monotonic() < deadline:
                done += 1
                r = await client.post("/v1/layers/inspect", content=body, headers=headers)
                if r.status_code != 200:
                    raise RuntimeError(f"{r.status_code}: {r.text[:300]}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done, start, time.monotonic()


def _client_process(
    url: str,
    body: bytes,
    concurrency: int,
    requests: int,
    cap_s: float,
    barrier: Any,
    results: Any,
) -> None:
    results.put(asyncio.run(_drive(url, body, concurrency, requests, cap_s, barrier)))


def throughput(
    url: str, body: bytes, concurrency: int, requests: int, cap_s: float, processes: int = 1
) -> float:
    """req/s of `concurrency` keep-alive connections posting `body`, for `requests` requests
    in all or `cap_s` seconds, whichever comes first.

    With `processes` > 1 the connections are spread over that many client processes (started
    with `spawn`, synchronised on a barrier), so one Python client's CPU does not cap the
    figure; req/s is all requests over the span from the first start to the last end.
    """
    processes = max(1, min(processes, concurrency))
    if processes == 1:
        done, start, end = asyncio.run(_drive(url, body, concurrency, requests, cap_s))
        return done / (end - start)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    shares = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    procs = [
        ctx.Process(
            target=_client_process,
            args=(url, body, n, max(1, requests * n // concurrency), cap_s, barrier, results),
        )
        for n in shares
    ]
    for proc in procs:
        proc.start()
    outcomes: list[tuple[int, float, float]] = [results.get(timeout=cap_s + 180) for _ in procs]
    for proc in procs:
        proc.join(10)
    total = sum(o[0] for o in outcomes)
    return total / (max(o[2] for o in outcomes) - min(o[1] for o in outcomes))


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Plan:
    """How many of each measurement to take."""

    small_rounds: int
    large_rounds: int
    rss_rounds: int
    model_rounds: int
    torchlens_rounds: int
    peer_large_rounds: int
    tput_requests: int
    tput_cap_s: float

    @classmethod
    def for_mode(cls, quick: bool) -> Plan:
        """The quick plan (a few minutes on 2 cores) or the full one."""
        if quick:
            return cls(
                small_rounds=200,
                large_rounds=6,
                rss_rounds=3,
                model_rounds=5,
                torchlens_rounds=3,
                peer_large_rounds=2,
                tput_requests=300,
                tput_cap_s=5.0,
            )
        return cls(
            small_rounds=800,
            large_rounds=16,
            rss_rounds=6,
            model_rounds=15,
            torchlens_rounds=6,
            peer_large_rounds=3,
            tput_requests=2000,
            tput_cap_s=12.0,
        )


def log(msg: str) -> None:
    """Progress on stderr."""
    print(msg, file=sys.stderr, flush=True)


def post(client: KeepAliveClient, path: str, body: bytes) -> bytes:
    """POST and return the body; raise on a non-200."""
    status, data = client.request("POST", path, body)
    if status != 200:
        raise RuntimeError(f"POST {path} -> {status}: {data[:500]!r}")
    return data


def p50s(samples: dict[str, list[float]], prefix: str) -> dict[str, float]:
    """`{prefix}{key}_p50_ms` of every series."""
    return {f"{prefix}{k}_p50_ms": percentile(v, 50) for k, v in samples.items() if v}


def measure_small(
    svc: KeepAliveClient,
    floor: KeepAliveClient,
    peer: KeepAliveClient | None,
    device: torch.device,
    plan: Plan,
) -> dict[str, Any]:
    """The small case against its floor (floor server + torch + encode), interleaved."""
    body = orjson.dumps(small_body(str(device)))
    size = len(post(svc, INSPECT, body))
    step, values = torch_small_step(device)
    sync_path, async_path = f"{INSPECT}?bytes={size}", f"/async{INSPECT}?bytes={size}"
    t: dict[str, list[float]] = {
        k: [] for k in ("service", "floor_http", "floor_http_async", "torch", "encode", "healthz")
    }
    peer_t: dict[str, list[float]] = {"small": [], "healthz": []}
    for _ in range(20):  # warm-up: connections, allocator, caches
        post(svc, INSPECT, body)
        post(floor, sync_path, body)
        post(floor, async_path, body)
        step()
        if peer:
            post(peer, INSPECT, body)
    log(f"small case: {plan.small_rounds} interleaved rounds ({size} bytes)")
    for _ in range(plan.small_rounds):
        t["healthz"].append(timed_get(svc, "/healthz"))
        t["service"].append(timed_post(svc, INSPECT, body))
        t["floor_http"].append(timed_post(floor, sync_path, body))
        t["floor_http_async"].append(timed_post(floor, async_path, body))
        t["torch"].append(step())
        t["encode"].append(orjson_encode_ms(values))
        if peer:
            peer_t["healthz"].append(timed_get(peer, "/healthz"))
            peer_t["small"].append(timed_post(peer, INSPECT, body))
    res = p50s(t, "small_") | {
        "small_bytes": size,
        "small_service_p99_ms": percentile(t["service"], 99),
    }
    if peer:
        res |= p50s(peer_t, "peer_") | {"peer_small_p99_ms": percentile(peer_t["small"], 99)}
    return res


def _rss_growth_kib(pid: int, send: Callable[[], object]) -> int | None:
    """The growth of `pid`'s peak RSS over its RSS before, while `send` runs (KiB); None when
    the peak cannot be reset here."""
    before = read_status_kib(pid, "VmRSS")
    if before is None or not reset_peak_rss(pid):
        return None
    send()
    peak = read_status_kib(pid, "VmHWM")
    return None if peak is None else peak - before


def measure_large(
    svc: KeepAliveClient,
    floor: KeepAliveClient,
    peer: KeepAliveClient | None,
    pid: int,
    device: torch.device,
    plan: Plan,
) -> dict[str, Any]:
    """The large case in JSON, base64 and safetensors against torch + encode + blob, interleaved;
    then the peak RSS growth of one large response in each of JSON and safetensors."""
    dev = str(device)
    encodings = ("json", "base64", "safetensors")
    bodies = {e: orjson.dumps(large_body(dev, e)) for e in encodings}
    # Warm the layer's kernels on a small input first (one-off library loading is not serving).
    for e in encodings:
        warm = large_body(dev, e)
        warm["input"]["shape"] = [1, *LARGE_SHAPE[1:]]
        post(svc, INSPECT, orjson.dumps(warm))
    sizes = {e: len(post(svc, INSPECT, bodies[e])) for e in encodings}
    step, out = torch_large_forward(device)
    blobs = {e: f"{INSPECT}?bytes={sizes[e]}" for e in ("json", "safetensors")}
    for e in blobs:
        post(floor, blobs[e], bodies[e])
    t: dict[str, list[float]] = {
        k: [] for k in (*encodings, "torch", "orjson", "floor_http_json", "floor_http_safetensors")
    }
    log(f"large case: {plan.large_rounds} interleaved rounds")
    for _ in range(plan.large_rounds):
        for e in encodings:
            t[e].append(timed_post(svc, INSPECT, bodies[e]))
        for e in blobs:
            t[f"floor_http_{e}"].append(timed_post(floor, blobs[e], bodies[e]))
        t["torch"].append(step())
        t["orjson"].append(orjson_encode_ms([out.reshape(-1)]))
    res: dict[str, Any] = p50s(t, "large_") | {f"large_{e}_bytes": n for e, n in sizes.items()}
    log(f"peak RSS: {plan.rss_rounds} large responses in each of json and safetensors")
    for e in ("safetensors", "json"):
        growth = [
            _rss_growth_kib(pid, lambda e=e: post(svc, INSPECT, bodies[e]))  # type: ignore[misc]
            for _ in range(plan.rss_rounds)
        ]
        known = [g for g in growth if g is not None]
        res[f"rss_growth_{e}_mib"] = max(known) / 1024 if known else None
        res[f"rss_growth_{e}_median_mib"] = percentile(known, 50) / 1024 if known else None
    res["returned_values_mib"] = out.nbytes / 2**20
    if peer:
        log(f"peer large case: {plan.peer_large_rounds} rounds (slow by design)")
        res["peer_large_json_p50_ms"] = percentile(
            [timed_post(peer, INSPECT, bodies["json"]) for _ in range(plan.peer_large_rounds)], 50
        )
    return res


def measure_model(
    svc: KeepAliveClient, floor: KeepAliveClient, device: torch.device, threads: int, plan: Plan
) -> dict[str, Any]:
    """resnet18, every module selected, safetensors: forward and forward+backward against the
    hooked in-process run + the blob of the same size, and TorchLens's trace, interleaved."""
    dev = str(device)
    variants = {"forward": False, "backward": True}
    bodies = {v: orjson.dumps(model_case.model_body(dev, b)) for v, b in variants.items()}
    sizes = {v: len(post(svc, MODELS, bodies[v])) for v in variants}
    runs = {
        v: model_case.HookedRun(model_case.seeded_model(device), device, b)
        for v, b in variants.items()
    }
    blobs = {v: f"{MODELS}?bytes={sizes[v]}" for v in variants}
    lens = model_case.TorchLens(device, threads) if model_case.torchlens_available() else None
    t: dict[str, list[float]] = {
        f"{v}_{k}": [] for v in variants for k in ("service", "inprocess", "floor_http")
    }
    t["torchlens"] = []
    try:
        for v in variants:  # warm-up
            post(svc, MODELS, bodies[v])
            post(floor, blobs[v], bodies[v])
            runs[v].timed()
        if lens is not None:
            lens.timed()
        log(
            f"model case: {plan.model_rounds} interleaved rounds "
            f"(torchlens: {plan.torchlens_rounds})"
        )
        for i in range(plan.model_rounds):
            for v in variants:
                t[f"{v}_service"].append(timed_post(svc, MODELS, bodies[v]))
                t[f"{v}_floor_http"].append(timed_post(floor, blobs[v], bodies[v]))
                t[f"{v}_inprocess"].append(runs[v].timed())
                _settle()
            if lens is not None and i < plan.torchlens_rounds:
                t["torchlens"].append(lens.timed())
    finally:
        if lens is not None:
            lens.close()
    return p50s(t, "model_") | {f"model_{v}_bytes": n for v, n in sizes.items()}


def measure_throughput(
    url: str, device: str, plan: Plan, levels: Sequence[int], processes: int = 1
) -> dict[int, float]:
    """req/s of the small case at each concurrency level."""
    body = orjson.dumps(small_body(device))
    out: dict[int, float] = {}
    for c in levels:
        log(f"throughput at concurrency {c} ({min(processes, c)} client process(es))")
        out[c] = throughput(url, body, c, plan.tput_requests, plan.tput_cap_s, processes)
    return out


def floors(r: dict[str, Any]) -> dict[str, float]:
    """Each target's floor (ms), as the issue defines it, from the measured medians."""
    out = {
        "small": r["small_floor_http_p50_ms"] + r["small_torch_p50_ms"] + r["small_encode_p50_ms"],
        "large_binary": r["large_torch_p50_ms"] + r["large_floor_http_safetensors_p50_ms"],
        "large_json": r["large_torch_p50_ms"]
        + r["large_orjson_p50_ms"]
        + r["large_floor_http_json_p50_ms"],
    }
    for v in ("forward", "backward"):
        if f"model_{v}_inprocess_p50_ms" in r:
            out[f"model_{v}"] = r[f"model_{v}_inprocess_p50_ms"] + r[f"model_{v}_floor_http_p50_ms"]
    return out


def evaluate(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with its measured value and PASS/FAIL."""
    rows: list[dict[str, Any]] = []
    floor = floors(r)

    def add(name: str, value: float | None, target: float, at_most: bool, how: str) -> None:
        if value is None:
            return
        rows.append(
            {
                "target": name,
                "value": value,
                "goal": f"{'<=' if at_most else '>='} {target:g}",
                "verdict": verdict(value, target, at_most=at_most),
                "how": how,
            }
        )

    add(
        "small p50 / floor",
        ratio(r["small_service_p50_ms"], floor["small"]),
        TARGETS["small_vs_floor"],
        True,
        "floor: bare route answering the same bytes + torch + orjson encode of the values",
    )
    add(
        "large binary p50 / floor",
        ratio(r["large_safetensors_p50_ms"], floor["large_binary"]),
        TARGETS["large_binary_vs_floor"],
        True,
        "floor: torch + blob of the same size",
    )
    add(
        "large json p50 / floor",
        ratio(r["large_json_p50_ms"], floor["large_json"]),
        TARGETS["large_json_vs_floor"],
        True,
        "floor: torch + orjson encode + blob of the same size",
    )
    if "model_forward" in floor:
        add(
            "resnet18 forward p50 / floor",
            ratio(r["model_forward_service_p50_ms"], floor["model_forward"]),
            TARGETS["model_vs_floor"],
            True,
            "floor: hooked forward cloning every output + blob of the same size",
        )
        if "model_torchlens_p50_ms" in r:
            add(
                "torchlens.trace p50 / resnet18 forward p50",
                ratio(r["model_torchlens_p50_ms"], r["model_forward_service_p50_ms"]),
                TARGETS["model_vs_torchlens"],
                False,
                "in-process trace vs the service over HTTP",
            )
        add(
            "resnet18 forward+backward p50 / floor",
            ratio(r["model_backward_service_p50_ms"], floor["model_backward"]),
            TARGETS["model_backward_vs_floor"],
            True,
            "floor: hooked forward+backward keeping every output and gradient + blob",
        )
    for e in ("safetensors", "json"):
        growth = r.get(f"rss_growth_{e}_mib")
        add(
            f"peak RSS growth / returned bytes, {'binary' if e == 'safetensors' else 'JSON'}",
            None if growth is None else ratio(growth, r["returned_values_mib"]),
            TARGETS["peak_rss_vs_returned_bytes"],
            True,
            f"VmHWM growth serving one large response (worst of the rounds) vs the "
            f"{r['returned_values_mib']:.1f} MiB of output values",
        )
    add(
        "large json / large base64 (issue 6)",
        ratio(r["large_json_p50_ms"], r["large_base64_p50_ms"]),
        TARGETS["large_base64_speedup"],
        False,
        "base64 speed-up",
    )
    if "peer_small_p50_ms" in r:
        add(
            "naive peer / service, large json (issue 6)",
            ratio(r["peer_large_json_p50_ms"], r["large_json_p50_ms"]),
            TARGETS["peer_speedup_large"],
            False,
            "p50 latency",
        )
        add(
            "naive peer / service, small (issue 6)",
            ratio(r["peer_small_p50_ms"], r["small_service_p50_ms"]),
            TARGETS["peer_speedup_small"],
            False,
            "p50 latency",
        )
    return rows


def render_markdown(r: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The results as the README's tables."""
    m = r["machine"]
    where = f"{m['cpu']}, {m['cores']} cores" + (f", {m['gpu']}" if "gpu" in m else "")
    lines = [
        f"Device `{r['device']}` on {where}; torch {m['torch']}, Python {m['python']}; "
        f"mode {r['mode']}; command `{r['command']}`.",
        "",
        "| measure (p50) | ms |",
        "| --- | ---: |",
    ]

    def row(label: str, key: str) -> None:
        if r.get(key) is not None:
            lines.append(f"| {label} | {r[key]:.2f} |")

    for label, key in (
        ("small: service", "small_service_p50_ms"),
        ("small: service p99", "small_service_p99_ms"),
        ("small: floor server, same bytes (def route)", "small_floor_http_p50_ms"),
        ("small: floor server, same bytes (async def route)", "small_floor_http_async_p50_ms"),
        ("small: in-process torch forward+backward", "small_torch_p50_ms"),
        ("small: in-process orjson encode of the 8 tensors", "small_encode_p50_ms"),
        ("small: service healthz", "small_healthz_p50_ms"),
        ("small: naive peer", "peer_small_p50_ms"),
        ("large: service, safetensors", "large_safetensors_p50_ms"),
        ("large: service, json", "large_json_p50_ms"),
        ("large: service, base64", "large_base64_p50_ms"),
        ("large: in-process torch forward", "large_torch_p50_ms"),
        ("large: in-process orjson encode of the output", "large_orjson_p50_ms"),
        ("large: floor server, safetensors bytes", "large_floor_http_safetensors_p50_ms"),
        ("large: floor server, json bytes", "large_floor_http_json_p50_ms"),
        ("large: naive peer, json", "peer_large_json_p50_ms"),
        ("resnet18 forward: service", "model_forward_service_p50_ms"),
        ("resnet18 forward: in-process hooked forward", "model_forward_inprocess_p50_ms"),
        ("resnet18 forward: floor server, same bytes", "model_forward_floor_http_p50_ms"),
        ("resnet18 forward: torchlens.trace in-process", "model_torchlens_p50_ms"),
        ("resnet18 forward+backward: service", "model_backward_service_p50_ms"),
        ("resnet18 forward+backward: in-process hooked", "model_backward_inprocess_p50_ms"),
        ("resnet18 forward+backward: floor server, same bytes", "model_backward_floor_http_p50_ms"),
    ):
        row(label, key)
    sizes = ", ".join(
        f"{k.removesuffix('_bytes')} {r[k] / 2**20:.2f} MiB"
        for k in sorted(r)
        if k.endswith("_bytes") and isinstance(r[k], int)
    )
    lines += ["", f"Response sizes: {sizes}.", ""]
    rss = [
        f"{e} {r[f'rss_growth_{e}_mib']:.1f} MiB (median {r[f'rss_growth_{e}_median_mib']:.1f})"
        for e in ("safetensors", "json")
        if r.get(f"rss_growth_{e}_mib") is not None
    ]
    if rss:
        lines += [
            f"Peak RSS growth serving one large response, worst of the rounds: {', '.join(rss)}; "
            f"output values returned: {r['returned_values_mib']:.1f} MiB.",
            "",
        ]
    tput = r.get("throughput_c32", {})
    if tput:
        lines += [
            "Small case at concurrency 32: "
            + ", ".join(f"{w} worker(s) {v:.0f} req/s" for w, v in tput.items())
            + f" ({r.get('client_processes')} client process(es)).",
            "",
        ]
    lines += ["| target | measured | goal | verdict |", "| --- | ---: | ---: | --- |"]
    lines += [
        f"| {row['target']} ({row['how']}) | {row['value']:.2f} | {row['goal']} | "
        f"{row['verdict']} |"
        for row in rows
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the tables; write --out if asked."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.http_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="fewer rounds (default)")
    mode.add_argument("--full", action="store_true", help="more rounds, steadier figures")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    parser.add_argument(
        "--workers",
        default="1,2,4",
        help="worker counts for the c=32 throughput (default 1,2,4; empty: none)",
    )
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=0,
        help="torch threads of the service (1 worker) and of this process's floors (default: "
        "torch's default); with N workers each gets max(1, cores // N)",
    )
    parser.add_argument("--no-peer", action="store_true", help="skip the naive peer")
    parser.add_argument("--no-model", action="store_true", help="skip the resnet18 case")
    parser.add_argument(
        "--cases",
        default="small,large,model",
        help="the latency cases to run (default small,large,model; the targets need all)",
    )
    parser.add_argument(
        "--client-procs",
        type=int,
        default=max(2, (os.cpu_count() or 1) // 4),
        help="client processes for the throughput figures (default: cores // 4, at least 2)",
    )
    parser.add_argument(
        "--out", type=Path, help="write results to PATH.json and PATH.md (the README table)"
    )
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            print(
                f"--device {args.device}: CUDA is not available on this machine "
                f"(torch {torch.__version__}, cuda build {torch.version.cuda}); "
                "run on a GPU machine or use --device cpu",
                file=sys.stderr,
            )
            return 2
        if device.index is None:
            device = torch.device("cuda", 0)
        if device.index >= torch.cuda.device_count():
            print(
                f"--device {args.device}: only {torch.cuda.device_count()} GPU(s)", file=sys.stderr
            )
            return 2
    elif device.type != "cpu":
        print(f"--device {args.device}: use cpu, cuda or cuda:N", file=sys.stderr)
        return 2
    plan = Plan.for_mode(quick=not args.full)
    workers = [int(w) for w in args.workers.split(",") if w]
    cores = os.cpu_count() or 1
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)

    results: dict[str, Any] = {
        "device": str(device),
        "mode": "full" if args.full else "quick",
        "command": "python -m bench.http_bench " + " ".join(argv or sys.argv[1:]),
        "machine": describe(with_torch=True),
        "load_average_1m_before": os.getloadavg()[0],
        "client_processes": args.client_procs,
    }
    with contextlib.ExitStack() as stack:
        service = stack.enter_context(
            running(bench_service(str(device), 1, args.torch_threads), "/readyz")
        )
        floor_srv = stack.enter_context(running(floor_server(), "/healthz"))
        peer = None
        if not args.no_peer:
            peer = stack.enter_context(running(peer_server(args.torch_threads), "/healthz"))
        svc = stack.enter_context(contextlib.closing(KeepAliveClient(service.url)))
        floor_c = stack.enter_context(contextlib.closing(KeepAliveClient(floor_srv.url)))
        peer_c = (
            stack.enter_context(contextlib.closing(KeepAliveClient(peer.url))) if peer else None
        )
        cases = set(args.cases.split(","))
        if "small" in cases:
            results |= measure_small(svc, floor_c, peer_c, device, plan)
        if "large" in cases:
            results |= measure_large(svc, floor_c, peer_c, service.pid, device, plan)
        if "model" in cases and not args.no_model:
            results |= measure_model(svc, floor_c, device, args.torch_threads, plan)
    c32: dict[str, float] = {}
    per_worker: dict[str, int] = {}
    for w in workers:
        threads = args.torch_threads if w == 1 else max(1, cores // w)
        per_worker[str(w)] = threads
        with running(bench_service(str(device), w, threads), "/readyz", timeout=300) as svc_w:
            c32[str(w)] = measure_throughput(svc_w.url, str(device), plan, [32], args.client_procs)[
                32
            ]
    results["throughput_c32"] = c32
    results["torch_threads_per_worker"] = per_worker
    results["load_average_1m_after"] = os.getloadavg()[0]
    rows = evaluate(results) if {"small", "large"} <= set(args.cases.split(",")) else []
    results["floors_ms"] = floors(results) if rows else {}
    results["targets"] = rows
    table = render_markdown(results, rows)
    print(table)
    if args.out:
        # PATH gets its own format (.json: JSON, else markdown); the other lies beside it
        as_json = args.out.with_suffix(".json") if args.out.suffix != ".json" else args.out
        as_md = args.out if args.out.suffix != ".json" else args.out.with_suffix(".md")
        as_json.write_text(json.dumps(results, indent=2) + "\n")
        as_md.write_text(table)
        log(f"wrote {as_json} and {as_md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
