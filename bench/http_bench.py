"""HTTP benchmark of layerscope against the floor and a naive peer (issue 6).

    PYTHONPATH=. .venv/bin/python -m bench.http_bench [--quick] [--device cuda] [--out FILE]

Starts the real service (`python -m service.cli serve`, i.e. `layerscope serve`, on a free
loopback port, configured by LAYERSCOPE_* variables) and the naive peer (`bench/naive_app.py`,
uvicorn the same way) as subprocesses, and drives both with httpx over keep-alive connections.
Every latency figure that feeds a ratio is measured interleaved, round-robin in one loop
(healthz, service, peer, in-process torch), so a noisy machine slows all sides alike.

Clients: latencies come from one keep-alive `http.client` connection per server (the standard
library reads a 19 MB body in large socket reads, where httpx's pure-Python path takes ~45 ms of
client time on it); its per-request overhead sits in every HTTP figure, healthz included, so the
floor carries it too. Throughput uses httpx's async client; at concurrency 8 and 32 the client
shares the machine's cores with the server, so req/s there is a lower bound.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
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

from bench import plain_torch
from bench.clients import KeepAliveClient, timed_get, timed_post
from bench.machine import describe
from bench.processes import Server, read_status_kib, reset_peak_rss, running, service_server
from bench.stats import percentile, ratio, verdict
from schemas.examples import LAYER_EXAMPLES

# The two cases, taken from the OpenAPI worked examples so they cannot drift apart.
SMALL_LAYER: dict[str, Any] = LAYER_EXAMPLES["mnist_conv"]["value"]["layer"]
SMALL_SHAPE = [1, 1, 28, 28]
LARGE_LAYER: dict[str, Any] = LAYER_EXAMPLES["strided_dilated_conv"]["value"]["layer"]
LARGE_SHAPE = [20, 16, 50, 100]

TARGETS = {
    "small_p50_vs_floor": 1.5,
    "large_json_vs_encode_floor": 1.5,
    "large_base64_speedup": 4.0,
    "peer_speedup_large": 10.0,
    "peer_speedup_small": 5.0,
    "peak_rss_vs_tensor_bytes": 4.0,
    "workers_scaling": 1.3,
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


def peer_server(workers: int, torch_threads: int) -> Server:
    """The naive peer, started with uvicorn the same way."""
    argv = [sys.executable, "-m", "uvicorn", "bench.naive_app:app", "--host", "127.0.0.1"]
    argv += ["--port", "{port}", "--workers", str(workers), "--log-level", "warning"]
    env = {"OMP_NUM_THREADS": str(torch_threads)} if torch_threads else {}
    return Server("naive peer", argv, env)


# --- in-process floors ------------------------------------------------------------------------


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _settle() -> None:
    """Let this process's OpenMP workers stop spinning (they busy-wait for a while after a
    parallel region) before the next HTTP request, so they do not steal the server's cores."""
    time.sleep(0.02)


def torch_small_step(device: torch.device) -> Callable[[], float]:
    """Plain PyTorch forward+backward of the small case, seeded input made on the CPU as the
    service makes it (CUDA: synchronized, the returned tensors copied to the host); returns a
    timer (ms per call)."""
    layer = plain_torch.layer(SMALL_LAYER).to(device)
    generator = torch.Generator()

    def step() -> float:
        _sync(device)
        start = time.perf_counter()
        x = torch.randn(*SMALL_SHAPE, generator=generator.manual_seed(0)).to(device)
        y = layer(x.requires_grad_(True))
        y.sum().backward()
        if device.type == "cuda":  # the device-to-host copies of what the service returns
            params = list(layer.parameters())
            for t in (x, x.grad, y, *params, *(p.grad for p in params)):
                assert t is not None
                t.detach().cpu()
        _sync(device)
        elapsed = (time.perf_counter() - start) * 1e3
        _settle()
        return elapsed

    return step


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


def orjson_encode_ms(array: np.ndarray) -> float:
    """In-process time to encode `array` with orjson from its numpy buffer (ms)."""
    start = time.perf_counter()
    orjson.dumps(array.reshape(-1), option=orjson.OPT_SERIALIZE_NUMPY)
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
    peer_large_rounds: int
    tput_requests: int
    tput_cap_s: float

    @classmethod
    def for_mode(cls, quick: bool) -> Plan:
        """The quick plan (about a minute on 2 cores) or the full one."""
        if quick:
            return cls(
                small_rounds=150,
                large_rounds=4,
                peer_large_rounds=2,
                tput_requests=200,
                tput_cap_s=4.0,
            )
        return cls(
            small_rounds=600,
            large_rounds=12,
            peer_large_rounds=3,
            tput_requests=1500,
            tput_cap_s=12.0,
        )


def log(msg: str) -> None:
    """Progress on stderr."""
    print(msg, file=sys.stderr, flush=True)


def measure_latency(
    service: Server, peer: Server | None, device: torch.device, plan: Plan
) -> dict[str, Any]:
    """Parts 1, 2 (c=1), 3 and the peer: interleaved latencies and in-process floors."""
    dev = str(device)
    small = orjson.dumps(small_body(dev))
    large = {e: orjson.dumps(large_body(dev, e)) for e in ("json", "base64")}
    step = torch_small_step(device)
    large_step, large_out = torch_large_forward(device)
    keys = ["healthz", "torch_small", "small", "peer_healthz", "peer_small"]
    t: dict[str, list[float]] = {k: [] for k in keys}
    with contextlib.ExitStack() as stack:
        svc = stack.enter_context(contextlib.closing(KeepAliveClient(service.url)))
        peer_c = (
            stack.enter_context(contextlib.closing(KeepAliveClient(peer.url))) if peer else None
        )
        for _ in range(20):  # warm-up: connections, allocator, autotuning
            svc.get("/healthz")
            timed_post(svc, "/v1/layers/inspect", small)
            step()
            if peer_c:
                peer_c.get("/healthz")
                timed_post(peer_c, "/v1/layers/inspect", small)
        log(f"small case: {plan.small_rounds} interleaved rounds")
        for _ in range(plan.small_rounds):
            t["healthz"].append(timed_get(svc, "/healthz"))
            t["torch_small"].append(step())
            t["small"].append(timed_post(svc, "/v1/layers/inspect", small))
            if peer_c:
                t["peer_healthz"].append(timed_get(peer_c, "/healthz"))
                t["peer_small"].append(timed_post(peer_c, "/v1/layers/inspect", small))

        # large case; peak RSS is read on the service process (1 worker: uvicorn serves in it).
        # Warm the large layer's kernels (cuDNN, libraries) on a small input first, so the
        # peak counts what serving the large case holds, not one-off library loading.
        for e in ("json", "base64"):
            warm = large_body(dev, e)
            warm["input"]["shape"] = [1, *LARGE_SHAPE[1:]]
            timed_post(svc, "/v1/layers/inspect", orjson.dumps(warm))
        pid = service.pid
        rss_before = read_status_kib(pid, "VmRSS") or 0
        peak_reset = reset_peak_rss(pid)
        hwm_before = read_status_kib(pid, "VmHWM") or 0
        lt: dict[str, list[float]] = {k: [] for k in ("json", "base64", "torch", "orjson")}
        log(f"large case: {plan.large_rounds} interleaved rounds")
        for _ in range(plan.large_rounds):
            lt["json"].append(timed_post(svc, "/v1/layers/inspect", large["json"]))
            lt["base64"].append(timed_post(svc, "/v1/layers/inspect", large["base64"]))
            lt["torch"].append(large_step())
            lt["orjson"].append(orjson_encode_ms(large_out))
        hwm_after = read_status_kib(pid, "VmHWM") or 0
        peer_large: list[float] = []
        if peer_c:
            log(f"peer large case: {plan.peer_large_rounds} rounds (slow by design)")
            for _ in range(plan.peer_large_rounds):
                peer_large.append(timed_post(peer_c, "/v1/layers/inspect", large["json"]))

    out_bytes = int(large_out.nbytes)
    in_bytes = math.prod(LARGE_SHAPE) * 4
    res: dict[str, Any] = {
        "healthz_p50_ms": percentile(t["healthz"], 50),
        "torch_small_p50_ms": percentile(t["torch_small"], 50),
        "small_p50_ms": percentile(t["small"], 50),
        "small_p99_ms": percentile(t["small"], 99),
        "large_torch_p50_ms": percentile(lt["torch"], 50),
        "large_orjson_p50_ms": percentile(lt["orjson"], 50),
        "large_json_p50_ms": percentile(lt["json"], 50),
        "large_base64_p50_ms": percentile(lt["base64"], 50),
        "rss_before_mib": rss_before / 1024,
        "peak_rss_mib": hwm_after / 1024,
        "peak_rss_growth_mib": (hwm_after - (hwm_before if peak_reset else rss_before)) / 1024,
        "peak_rss_reset": peak_reset,
        "returned_values_mib": out_bytes / 2**20,
        "response_tensors_mib": (out_bytes + in_bytes) / 2**20,
    }
    if peer_c is not None:
        res |= {
            "peer_healthz_p50_ms": percentile(t["peer_healthz"], 50),
            "peer_small_p50_ms": percentile(t["peer_small"], 50),
            "peer_small_p99_ms": percentile(t["peer_small"], 99),
            "peer_large_json_p50_ms": percentile(peer_large, 50),
        }
    return res


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


def evaluate(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with its measured value and PASS/FAIL."""
    rows: list[dict[str, Any]] = []

    def add(name: str, value: float, target: float, at_most: bool, how: str) -> None:
        rows.append(
            {
                "target": name,
                "value": value,
                "goal": f"{'<=' if at_most else '>='} {target:g}",
                "verdict": verdict(value, target, at_most=at_most),
                "how": how,
            }
        )

    floor = r["healthz_p50_ms"] + r["torch_small_p50_ms"]
    add(
        "small p50 / (healthz p50 + torch)",
        ratio(r["small_p50_ms"], floor),
        TARGETS["small_p50_vs_floor"],
        True,
        "c=1, forward+backward, all values",
    )
    enc_floor = r["large_orjson_p50_ms"] + r["large_torch_p50_ms"]
    add(
        "large json / (orjson encode + torch)",
        ratio(r["large_json_p50_ms"], enc_floor),
        TARGETS["large_json_vs_encode_floor"],
        True,
        "forward, output values",
    )
    add(
        "large json / large base64",
        ratio(r["large_json_p50_ms"], r["large_base64_p50_ms"]),
        TARGETS["large_base64_speedup"],
        False,
        "base64 speed-up",
    )
    if "peer_small_p50_ms" in r:
        add(
            "peer / service, large json",
            ratio(r["peer_large_json_p50_ms"], r["large_json_p50_ms"]),
            TARGETS["peer_speedup_large"],
            False,
            "p50 latency",
        )
        add(
            "peer / service, small",
            ratio(r["peer_small_p50_ms"], r["small_p50_ms"]),
            TARGETS["peer_speedup_small"],
            False,
            "p50 latency",
        )
    add(
        "peak RSS growth / returned tensor bytes",
        ratio(r["peak_rss_growth_mib"], r["response_tensors_mib"]),
        TARGETS["peak_rss_vs_tensor_bytes"],
        True,
        "VmHWM growth over the large requests vs input+output bytes of the response "
        f"(vs output values only: {ratio(r['peak_rss_growth_mib'], r['returned_values_mib']):.2f})",
    )
    tput = r.get("throughput_c32", {})
    if "1" in tput and "2" in tput:
        add(
            "req/s at c=32, 2 workers / 1 worker",
            ratio(tput["2"], tput["1"]),
            TARGETS["workers_scaling"],
            False,
            f"LAYERSCOPE_WORKERS=1,2 (TORCH_THREADS={r.get('torch_threads_per_worker')})",
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
        "| measure | layerscope | naive peer |",
        "| --- | ---: | ---: |",
    ]

    def ms(key: str) -> str:
        return f"{r[key]:.2f} ms" if key in r else "-"

    lines += [
        f"| healthz p50 | {ms('healthz_p50_ms')} | {ms('peer_healthz_p50_ms')} |",
        f"| small: in-process torch forward+backward p50 | {ms('torch_small_p50_ms')} | |",
        f"| small p50 (c=1) | {ms('small_p50_ms')} | {ms('peer_small_p50_ms')} |",
        f"| small p99 (c=1) | {ms('small_p99_ms')} | {ms('peer_small_p99_ms')} |",
    ]
    for c, v in r.get("throughput", {}).items():
        lines.append(f"| small req/s at c={c} (1 worker) | {v:.0f} | |")
    for w, v in r.get("throughput_c32", {}).items():
        lines.append(f"| small req/s at c=32, {w} worker(s) | {v:.0f} | |")
    lines += [
        f"| large: in-process torch forward p50 | {ms('large_torch_p50_ms')} | |",
        f"| large: in-process orjson encode of the output p50 | {ms('large_orjson_p50_ms')} | |",
        f"| large json p50 | {ms('large_json_p50_ms')} | {ms('peer_large_json_p50_ms')} |",
        f"| large base64 p50 | {ms('large_base64_p50_ms')} | |",
        f"| large: peak RSS growth (server, VmHWM) | {r['peak_rss_growth_mib']:.1f} MiB | |",
        f"| large: bytes of input+output tensors / of output values | "
        f"{r['response_tensors_mib']:.1f} / {r['returned_values_mib']:.1f} MiB | |",
        "",
        "| target | measured | goal | verdict |",
        "| --- | ---: | ---: | --- |",
    ]
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
        "--workers", default="1,2", help="worker counts for the c=32 throughput (default 1,2)"
    )
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=0,
        help="LAYERSCOPE_TORCH_THREADS for 1 worker (default: torch's default); "
        "with N workers each gets max(1, cores // N)",
    )
    parser.add_argument("--no-peer", action="store_true", help="skip the naive peer")
    parser.add_argument(
        "--client-procs",
        type=int,
        default=max(1, (os.cpu_count() or 1) // 4),
        help="client processes for the throughput figures (default: cores // 4, at least 1)",
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
    }
    with contextlib.ExitStack() as stack:
        service = stack.enter_context(
            running(bench_service(str(device), 1, args.torch_threads), "/readyz")
        )
        peer = None
        if not args.no_peer:
            peer = stack.enter_context(running(peer_server(1, args.torch_threads), "/healthz"))
        results |= measure_latency(service, peer, device, plan)
        results["throughput"] = {
            str(c): v
            for c, v in measure_throughput(
                service.url, str(device), plan, [1, 8, 32], args.client_procs
            ).items()
        }
    c32: dict[str, float] = {}
    per_worker: dict[str, int] = {}
    for w in workers:
        threads = args.torch_threads if w == 1 else max(1, cores // w)
        per_worker[str(w)] = threads
        if w == 1 and not args.torch_threads:
            c32["1"] = results["throughput"]["32"]
            continue
        with running(bench_service(str(device), w, threads), "/readyz") as svc:
            c32[str(w)] = measure_throughput(svc.url, str(device), plan, [32], args.client_procs)[
                32
            ]
    results["throughput_c32"] = c32
    results["torch_threads_per_worker"] = per_worker
    rows = evaluate(results)
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
