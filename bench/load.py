"""Load and soak benchmark: N concurrent clients against a real uvicorn server on loopback.

Starts `python -m service.cli serve` as a subprocess on a free 127.0.0.1 port, waits for
`/readyz`, then runs `--clients` threads (one `httpx.Client` each) for `--seconds`, mixing normal
inspection requests with bad ones (misfit shapes, unknown fields, oversized shapes, invalid JSON,
unknown paths) at `--bad-fraction`. Reports req/s, latency percentiles, errors, counts by status
and the server's RSS (VmRSS from /proc) at start, middle and end. `--soak` runs longer
(default 300 s), samples RSS every few seconds, and says whether RSS stopped growing.

An error is a 5xx, a connection error or timeout, a bad request that did not get its expected
4xx, or a normal request that did not get 200. The exit status is 1 when there was any error
(or, in soak mode, when RSS kept growing), else 0. The server is always stopped.

    PYTHONPATH=. python -m bench.load --clients 8 --seconds 20 --out load.json
    PYTHONPATH=. python -m bench.load --soak --seconds 300 --out soak.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from bench.machine import describe
from bench.processes import read_status_kib, running, service_server
from bench.stats import latency_summary
from schemas.examples import LAYER_EXAMPLES

INSPECT = "/v1/layers/inspect"
JSON_HEADERS = {"content-type": "application/json"}
CONN_ERROR = "conn-error"

Kind = Literal["normal", "bad"]


# ---------------------------------------------------------------------------------------------
# The request mix


@dataclass(frozen=True)
class Case:
    """One request the clients send, and the status it must get."""

    name: str
    kind: Kind
    method: str
    path: str
    expected: int
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _post(name: str, kind: Kind, expected: int, body: Any) -> Case:
    """A JSON POST to the inspection endpoint."""
    return Case(name, kind, "POST", INSPECT, expected, json.dumps(body).encode(), JSON_HEADERS)


def _example(name: str, **overrides: Any) -> dict[str, Any]:
    """A worked example from `schemas.examples`, with top-level fields replaced."""
    body: dict[str, Any] = dict(LAYER_EXAMPLES[name]["value"])
    body.update(overrides)
    return body


CONV = {"type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3}


def normal_cases() -> list[Case]:
    """Small, valid inspections (conv, linear, maxpool, softmax) with varied include/encoding;
    each must get 200."""
    return [
        _post("conv-output-json", "normal", 200, _example("mnist_conv")),
        _post(
            "conv-io-params-base64",
            "normal",
            200,
            _example("mnist_conv", include=["input", "output", "parameters"], encoding="base64"),
        ),
        _post("conv-stats-only", "normal", 200, _example("mnist_conv", include=[])),
        _post("linear-params-grads-json", "normal", 200, _example("linear")),
        _post(
            "linear-all-base64",
            "normal",
            200,
            _example(
                "linear", include=["input", "output", "parameters", "gradients"], encoding="base64"
            ),
        ),
        _post("maxpool-grads-json", "normal", 200, _example("maxpool")),
        _post(
            "maxpool-output-base64",
            "normal",
            200,
            _example("maxpool", include=["output"], encoding="base64"),
        ),
        _post("softmax-default", "normal", 200, _example("softmax")),
        _post(
            "softmax-forward-only",
            "normal",
            200,
            {k: v for k, v in _example("softmax", include=["output"]).items() if k != "backward"},
        ),
    ]


def bad_cases() -> list[Case]:
    """Requests the service must refuse with a 4xx problem, each with its documented status."""
    return [
        _post(
            "misfit-shape",
            "bad",
            422,
            {"layer": CONV | {"in_channels": 3}, "input": {"shape": [1, 1, 28, 28]}},
        ),
        _post(
            "misfit-linear",
            "bad",
            422,
            {
                "layer": {"type": "linear", "in_features": 20, "out_features": 3},
                "input": {"shape": [4, 21]},
            },
        ),
        _post(
            "unknown-field",
            "bad",
            422,
            {"layer": CONV | {"kernal_size": 3}, "input": {"shape": [1, 1, 5, 5]}},
        ),
        _post(
            "unknown-top-level-field",
            "bad",
            422,
            {"layer": CONV, "input": {"shape": [1, 1, 5, 5]}, "verbose": True},
        ),
        _post("zero-dim", "bad", 422, {"layer": CONV, "input": {"shape": [1, 0, 5, 5]}}),
        _post("oversized-input", "bad", 413, {"layer": CONV, "input": {"shape": [100000, 100000]}}),
        _post(
            "oversized-output",
            "bad",
            413,
            {
                "layer": CONV | {"out_channels": 4096, "kernel_size": 1},
                "input": {"shape": [1, 1, 1000, 1000]},
            },
        ),
        Case("invalid-json", "bad", "POST", INSPECT, 422, b"{not json", JSON_HEADERS),
        Case("unknown-path-get", "bad", "GET", "/v1/nothing-here", 404),
        Case("unknown-path-post", "bad", "POST", "/v1/layers/nope", 404, b"{}", JSON_HEADERS),
        Case("wrong-method", "bad", "GET", INSPECT, 405),
    ]


def request_mix() -> tuple[list[Case], list[Case]]:
    """The normal and the bad cases the clients draw from."""
    return normal_cases(), bad_cases()


def pick_case(
    rng: random.Random, normal: Sequence[Case], bad: Sequence[Case], bad_fraction: float
) -> Case:
    """Draw a bad case with probability `bad_fraction`, else a normal one (uniform within)."""
    if bad and (not normal or rng.random() < bad_fraction):
        return rng.choice(bad)
    return rng.choice(normal)


def is_error(case: Case, status: int | None) -> bool:
    """Whether a response counts as an error: no response at all, a 5xx, or any status other
    than the one the case expects."""
    return status is None or status >= 500 or status != case.expected


# ---------------------------------------------------------------------------------------------
# RSS over time (pure)


def rss_trend(samples_kib: Sequence[float], threshold: float = 0.05) -> dict[str, Any]:
    """Did RSS stop growing? Compares the mean of the last third of the samples with the mean
    of the middle third (the first third is warm-up): growth under `threshold` is "flat", else
    "growing". Fewer than 3 samples is "too-short"."""
    n = len(samples_kib)
    if n < 3:
        return {"verdict": "too-short", "samples": n, "threshold": threshold}
    third = n // 3
    middle = samples_kib[third : n - third]
    last = samples_kib[n - third :]
    middle_mean = sum(middle) / len(middle)
    last_mean = sum(last) / len(last)
    growth = (last_mean - middle_mean) / middle_mean
    return {
        "verdict": "flat" if growth < threshold else "growing",
        "samples": n,
        "threshold": threshold,
        "middle_mean_kib": middle_mean,
        "last_mean_kib": last_mean,
        "growth": growth,
    }


def rss_at(samples: Sequence[tuple[float, int]], t: float) -> int | None:
    """The RSS sample (time, KiB) taken closest to time `t`; None when there are none."""
    if not samples:
        return None
    return min(samples, key=lambda s: abs(s[0] - t))[1]


# ---------------------------------------------------------------------------------------------
# The load


@dataclass(frozen=True)
class Result:
    """One request's outcome: when it started (s since the load began), its case, its status
    (None: connection error or timeout) and its latency in seconds."""

    started: float
    case: Case
    status: int | None
    latency: float


def client_loop(
    base_url: str,
    normal: Sequence[Case],
    bad: Sequence[Case],
    bad_fraction: float,
    t0: float,
    deadline: float,
    seed: int,
    timeout: float,
    out: list[Result],
) -> None:
    """One client: send drawn cases back to back until `deadline` (monotonic), appending to
    `out`."""
    rng = random.Random(seed)
    with httpx.Client(base_url=base_url, timeout=timeout) as client:
        while (now := time.monotonic()) < deadline:
            case = pick_case(rng, normal, bad, bad_fraction)
            status: int | None
            try:
                response = client.request(
                    case.method, case.path, content=case.body, headers=case.headers
                )
                response.read()
                status = response.status_code
            except httpx.HTTPError:
                status = None
            out.append(Result(now - t0, case, status, time.monotonic() - now))


def rss_sampler(
    pid: int, t0: float, every: float, stop: threading.Event, out: list[tuple[float, int]]
) -> None:
    """Append (seconds since t0, VmRSS KiB) of `pid` every `every` seconds until `stop`."""
    while True:
        rss = read_status_kib(pid)
        if rss is not None:
            out.append((time.monotonic() - t0, rss))
        if stop.wait(every):
            return


def summarize(
    results: Sequence[Result], elapsed: float, rss_samples: Sequence[tuple[float, int]]
) -> dict[str, Any]:
    """The report's figures from the raw results and RSS samples."""
    by_status = Counter(CONN_ERROR if r.status is None else str(r.status) for r in results)
    by_case: dict[str, dict[str, int]] = {}
    for r in results:
        entry = by_case.setdefault(
            r.case.name, {"expected": r.case.expected, "count": 0, "errors": 0}
        )
        entry["count"] += 1
        entry["errors"] += is_error(r.case, r.status)
    errors = [r for r in results if is_error(r.case, r.status)]
    return {
        "requests": len(results),
        "elapsed_s": elapsed,
        "req_per_s": len(results) / elapsed if elapsed > 0 else None,
        "errors": len(errors),
        "server_errors_5xx": sum(1 for r in errors if r.status is not None and r.status >= 500),
        "connection_errors": sum(1 for r in errors if r.status is None),
        "by_status": dict(sorted(by_status.items())),
        "by_case": dict(sorted(by_case.items())),
        "latency": {
            "all": latency_summary([r.latency for r in results]),
            "normal": latency_summary([r.latency for r in results if r.case.kind == "normal"]),
            "bad": latency_summary([r.latency for r in results if r.case.kind == "bad"]),
        },
        "rss_kib": {
            "start": rss_samples[0][1] if rss_samples else None,
            "middle": rss_at(rss_samples, elapsed / 2),
            "end": rss_samples[-1][1] if rss_samples else None,
        },
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the server, run the load, stop the server; return the report."""
    normal, bad = request_mix()
    load_before = os.getloadavg()[0]
    server = service_server(args.device, log_level=args.log_level)
    with running(server, "/readyz", args.ready_timeout):
        info = httpx.get(f"{server.url}/v1/info", timeout=10).json()
        results: list[list[Result]] = [[] for _ in range(args.clients)]
        rss_samples: list[tuple[float, int]] = []
        stop = threading.Event()
        t0 = time.monotonic()
        deadline = t0 + args.seconds
        sampler = threading.Thread(
            target=rss_sampler, args=(server.pid, t0, args.sample_every, stop, rss_samples)
        )
        clients = [
            threading.Thread(
                target=client_loop,
                args=(
                    server.url,
                    normal,
                    bad,
                    args.bad_fraction,
                    t0,
                    deadline,
                    args.seed + i,
                    args.request_timeout,
                    results[i],
                ),
                name=f"load-client-{i}",
            )
            for i in range(args.clients)
        ]
        sampler.start()
        for c in clients:
            c.start()
        for c in clients:
            c.join(timeout=max(0.0, deadline - time.monotonic()) + args.request_timeout + 5)
        elapsed = time.monotonic() - t0
        stop.set()
        sampler.join(timeout=10)
        final_rss = read_status_kib(server.pid)
        if final_rss is not None:
            rss_samples.append((elapsed, final_rss))
        alive = server.proc is not None and server.proc.poll() is None
    report = summarize([r for rs in results for r in rs], elapsed, rss_samples)
    report["server_alive_at_end"] = alive
    report["rss_samples"] = [[round(t, 2), kib] for t, kib in rss_samples]
    if args.soak:
        report["rss_trend"] = rss_trend([kib for _, kib in rss_samples])
    report["config"] = {
        "clients": args.clients,
        "seconds": args.seconds,
        "bad_fraction": args.bad_fraction,
        "device": args.device,
        "soak": args.soak,
        "seed": args.seed,
        "sample_every_s": args.sample_every,
    }
    report["server"] = {
        "ready_s": server.ready_s,
        "default_device": info.get("default_device"),
        "torch": info.get("torch"),
        "version": info.get("version"),
    }
    report["machine"] = describe() | {
        "load_average_1m_before": load_before,
        "load_average_1m_after": os.getloadavg()[0],
    }
    return report


def failed(report: dict[str, Any]) -> bool:
    """Whether the run failed: any error, a dead server, or RSS still growing in soak mode."""
    trend = report.get("rss_trend", {}).get("verdict")
    return bool(report["errors"]) or not report["server_alive_at_end"] or trend == "growing"


# ---------------------------------------------------------------------------------------------
# Output


def _fmt_mib(kib: int | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"


def format_report(report: dict[str, Any]) -> str:
    """The report as plain text."""
    c, lat = report["config"], report["latency"]
    lines = [
        f"layerscope load: {c['clients']} clients, {report['elapsed_s']:.1f}s, "
        f"bad fraction {c['bad_fraction']}, device {report['server']['default_device']}, "
        f"{report['machine']['cpu']} ({report['machine']['cores']} cores, "
        f"load average {report['machine']['load_average_1m_before']:.2f} before, "
        f"{report['machine']['load_average_1m_after']:.2f} after)",
        f"requests {report['requests']}  req/s {report['req_per_s']:.1f}  "
        f"errors {report['errors']} (5xx {report['server_errors_5xx']}, "
        f"connection {report['connection_errors']})",
    ]
    for name in ("all", "normal", "bad"):
        s = lat[name]
        if not s["count"]:
            lines.append(f"latency {name:<6} n=0")
            continue
        lines.append(
            f"latency {name:<6} n={s['count']:<6} p50 {s['p50_ms']:.1f} ms  "
            f"p95 {s['p95_ms']:.1f} ms  p99 {s['p99_ms']:.1f} ms  max {s['max_ms']:.1f} ms"
        )
    lines.append("by status: " + ", ".join(f"{k}: {v}" for k, v in report["by_status"].items()))
    for name, entry in report["by_case"].items():
        if entry["errors"]:
            lines.append(
                f"  unexpected: {name} (expected {entry['expected']}) "
                f"{entry['errors']} of {entry['count']}"
            )
    rss = report["rss_kib"]
    lines.append(
        f"server RSS start {_fmt_mib(rss['start'])}, middle {_fmt_mib(rss['middle'])}, "
        f"end {_fmt_mib(rss['end'])}"
    )
    if "rss_trend" in report:
        lines.append(
            "RSS samples (s, MiB): "
            + ", ".join(f"{t:.0f}:{kib / 1024:.1f}" for t, kib in report["rss_samples"])
        )
        trend = report["rss_trend"]
        if trend["verdict"] == "too-short":
            lines.append(f"RSS trend: too-short ({trend['samples']} samples)")
        else:
            lines.append(
                f"RSS trend: {trend['verdict']} (last third {_fmt_mib(int(trend['last_mean_kib']))}"
                f" vs middle third {_fmt_mib(int(trend['middle_mean_kib']))}: "
                f"{trend['growth'] * 100:+.2f}%, threshold {trend['threshold'] * 100:.0f}%)"
            )
    lines.append("result: " + ("FAIL" if failed(report) else "ok"))
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument(
        "--seconds", type=float, default=None, help="duration (default 20; 300 with --soak)"
    )
    parser.add_argument(
        "--bad-fraction", type=float, default=0.2, help="share of bad requests (default 0.2)"
    )
    parser.add_argument("--device", default="cpu", help="LAYERSCOPE_DEVICE (default cpu)")
    parser.add_argument("--soak", action="store_true", help="soak mode: long run, RSS trend")
    parser.add_argument(
        "--sample-every",
        type=float,
        default=None,
        help="seconds between RSS samples (default 1; 5 with --soak)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the request draw")
    parser.add_argument("--request-timeout", type=float, default=30.0, help="per request, s")
    parser.add_argument("--ready-timeout", type=float, default=120.0, help="server start, s")
    parser.add_argument(
        "--log-level", default="warning", help="server log level (default warning: no access log)"
    )
    parser.add_argument("--out", type=Path, help="write the report as JSON here")
    args = parser.parse_args(argv)
    if args.seconds is None:
        args.seconds = 300.0 if args.soak else 20.0
    if args.sample_every is None:
        args.sample_every = 5.0 if args.soak else 1.0
    if args.clients < 1:
        parser.error("--clients must be at least 1")
    if args.seconds <= 0 or args.sample_every <= 0:
        parser.error("--seconds and --sample-every must be positive")
    if not 0 <= args.bad_fraction <= 1:
        parser.error("--bad-fraction must be within [0, 1]")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the report (and write it with --out); 1 on any error."""
    args = parse_args(argv)
    report = run(args)
    print(format_report(report), flush=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 1 if failed(report) else 0


if __name__ == "__main__":
    sys.exit(main())
