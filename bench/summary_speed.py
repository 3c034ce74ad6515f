"""Speed of POST /v1/models/summary beside a floor measured in the same run.

    PYTHONPATH=. .venv/bin/python -m bench.summary_speed [--case large_batch ...] [--rounds 30]
        [--server] [--out FILE]

A case is a request body for /v1/models/summary and the same model in plain torch.nn (built
without the service's code). Each round takes, interleaved, so a noisy machine slows all alike:

- `GET /healthz` through the same client: the bare route, what any answer costs in transport;
- the in-process floor: build the torch.nn model on meta and count one forward's FLOPs with
  FlopCounterMode on a meta input, the least work a summary needs;
- `POST /v1/models/summary` with the case's body.

It prints p50/p95 of each, `summary p50 / (healthz p50 + floor p50)` and the targets' verdicts:
p95 under 0.5 s (the bound the old timed test asserted) and the ratio. Before timing, the
service's answer must agree with the floor (output shape, FLOPs), so both do the same work.

In-process by default (FastAPI's TestClient on `create_app`, as the tests run it); `--server`
starts the real service (`layerscope serve`) on a loopback port and uses one keep-alive
connection. Cases: every SUMMARY_EXAMPLES body (default: `large_batch`, [64, 3, 1024, 1024]),
`resnet50_batch64`: torchvision's resnet50 by name on [64, 3, 224, 224] (its floor builds
`torchvision.models.resnet50(weights=None)` on meta), and `convnext_large_batch64` and
`vit_h_14_batch64` the same way at their default input sizes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import torch
import torchvision
from fastapi.testclient import TestClient
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models import get_model

from bench import plain_torch
from bench.clients import KeepAliveClient, Requester, timed_get, timed_post
from bench.machine import describe
from bench.processes import running, service_server
from bench.stats import latency_summary, ratio, verdict
from schemas.examples import SUMMARY_EXAMPLES

PATH = "/v1/models/summary"

TARGETS = {
    "summary_p95_s": 0.5,
    "summary_p50_vs_floor": 3.0,
}
"""p95 at most 0.5 s (the old test's bound); p50 at most 3x the bare route plus the floor."""


@dataclass(frozen=True)
class Case:
    """One summary request and the same model in plain torch.nn (built under meta)."""

    name: str
    body: dict[str, Any]
    model: Callable[[], nn.Module]
    input_shape: list[int]


def example_case(name: str) -> Case:
    """A case from `schemas.examples.SUMMARY_EXAMPLES`: its body, and its model in torch.nn
    (its layers) or torchvision (its architecture, `weights=None`), in eval mode as the
    service plans it."""
    body: dict[str, Any] = SUMMARY_EXAMPLES[name]["value"]
    if "model" in body:
        arch: dict[str, Any] = body["model"]

        def architecture() -> nn.Module:
            kwargs = arch.get("kwargs", {})
            model: nn.Module = get_model(arch["torchvision"], weights=None, **kwargs)
            return model.eval()

        return Case(name, body, architecture, list(body["input_shape"]))
    layers: list[dict[str, Any]] = body["layers"]
    return Case(name, body, lambda: plain_torch.sequential(layers), list(body["input_shape"]))


RESNET50_BATCH = Case(
    "resnet50_batch64",
    {"model": {"torchvision": "resnet50"}, "input_shape": [64, 3, 224, 224]},
    lambda: torchvision.models.resnet50(weights=None),
    [64, 3, 224, 224],
)
"""A real network by name: torchvision's resnet50 on a batch of 64 (issue 13's "well under a
second")."""


def architecture_case(name: str, batch: int) -> Case:
    """torchvision's `name` by name on a batch of its default input size, as GET /v1/models
    lists it."""
    from service.networks import zoo

    shape = [batch, *zoo.architecture(name).input_size[1:]]
    return Case(
        f"{name}_batch{batch}",
        {"model": {"torchvision": name}, "input_shape": shape},
        lambda: get_model(name, weights=None).eval(),
        shape,
    )


BIG = [architecture_case("convnext_large", 64), architecture_case("vit_h_14", 64)]
"""The largest networks issue 13 names beside resnet50 (198 M and 633 M parameters)."""

CASES: dict[str, Case] = (
    {name: example_case(name) for name in SUMMARY_EXAMPLES}
    | {RESNET50_BATCH.name: RESNET50_BATCH}
    | {case.name: case for case in BIG}
)


def meta_floor(case: Case) -> tuple[float, list[int], int]:
    """Build the case's model on meta and count one forward with FlopCounterMode; return
    (seconds, output shape, FLOPs)."""
    start = time.perf_counter()
    with torch.device("meta"):
        model = case.model()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        out = model(torch.empty(case.input_shape, device="meta"))
    elapsed = time.perf_counter() - start
    return elapsed, list(out.shape), int(counter.get_total_flops())


def check_agreement(case: Case, answer: dict[str, Any]) -> None:
    """Raise unless the service's summary has the floor's output shape and FLOPs."""
    _, shape, flops = meta_floor(case)
    got = answer["summary"]
    if got["output_shape"] != shape or got["flops"] != flops:
        raise RuntimeError(
            f"case {case.name}: the service says output {got['output_shape']}, "
            f"{got['flops']} FLOPs; the torch.nn floor says {shape}, {flops}: "
            "the floor does not do the same work"
        )


class InProcessClient:
    """A `Requester` over FastAPI's TestClient (the app in this process)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """Send one request (a body as JSON) and read the whole answer."""
        headers = {"content-type": "application/json"} if body is not None else {}
        response = self.client.request(method, path, content=body, headers=headers)
        return response.status_code, response.content


@contextlib.contextmanager
def open_client(server: bool) -> Iterator[Requester]:
    """The service on the CPU, ready: in this process, or (`server`) a real one on loopback."""
    if server:
        with (
            running(service_server("cpu"), "/readyz") as svc,
            contextlib.closing(KeepAliveClient(svc.url)) as conn,
        ):
            yield conn
        return
    from service.app import create_app
    from service.settings import Settings

    app = create_app(Settings(device="cpu", log_level="warning"))
    with TestClient(app) as client:
        if not app.state.runtime.ready.wait(timeout=120):
            raise RuntimeError("the in-process app was not ready within 120 s")
        yield InProcessClient(client)


def measure(client: Requester, case: Case, rounds: int, warmup: int = 3) -> dict[str, Any]:
    """Interleaved rounds of healthz, the meta floor and the summary; their latency summaries
    (ms) and the ratio of the summary's p50 to the floor's."""
    body = orjson.dumps(case.body)
    status, answer = client.request("POST", PATH, body)
    if status != 200:
        raise RuntimeError(f"case {case.name}: POST {PATH} -> {status}: {answer[:500]!r}")
    check_agreement(case, orjson.loads(answer))
    times: dict[str, list[float]] = {"healthz": [], "floor": [], "summary": []}
    for i in range(warmup + rounds):
        healthz = timed_get(client, "/healthz") / 1e3
        floor = meta_floor(case)[0]
        summary = timed_post(client, PATH, body) / 1e3
        if i >= warmup:
            times["healthz"].append(healthz)
            times["floor"].append(floor)
            times["summary"].append(summary)
    result: dict[str, Any] = {k: latency_summary(v) for k, v in times.items()}
    floor_ms = result["healthz"]["p50_ms"] + result["floor"]["p50_ms"]
    result["ratio"] = ratio(result["summary"]["p50_ms"], floor_ms)
    result["verdicts"] = {
        "summary_p95_s": verdict(
            result["summary"]["p95_ms"] / 1e3, TARGETS["summary_p95_s"], at_most=True
        ),
        "summary_p50_vs_floor": verdict(
            result["ratio"], TARGETS["summary_p50_vs_floor"], at_most=True
        ),
    }
    return result


def render(report: dict[str, Any]) -> str:
    """The report as plain text, one block a case."""
    m = report["machine"]
    lines = [
        f"{PATH} speed, {report['mode']}, {report['rounds']} rounds; {m['cpu']} "
        f"({m['cores']} cores), torch {m['torch']}, Python {m['python']}"
    ]
    for name, r in report["cases"].items():
        lines.append(f"case {name} (input {r['input_shape']})")
        for key, label in (
            ("summary", f"POST {PATH}"),
            ("healthz", "floor: GET /healthz"),
            ("floor", "floor: torch.nn on meta + FlopCounterMode"),
        ):
            s = r[key]
            lines.append(f"  {label:<45} p50 {s['p50_ms']:8.2f} ms  p95 {s['p95_ms']:8.2f} ms")
        v = r["verdicts"]
        lines.append(
            f"  summary p50 / (healthz p50 + floor p50) = {r['ratio']:.2f} "
            f"(target <= {TARGETS['summary_p50_vs_floor']:g}: {v['summary_p50_vs_floor']})"
        )
        lines.append(
            f"  summary p95 = {r['summary']['p95_ms'] / 1e3:.3f} s "
            f"(target <= {TARGETS['summary_p95_s']:g} s: {v['summary_p95_s']})"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the chosen cases; print the report (and write it as JSON with --out)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.summary_speed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--case",
        action="append",
        choices=sorted(CASES),
        help="a case to measure (repeatable; default large_batch)",
    )
    parser.add_argument("--rounds", type=int, default=30, help="timed rounds a case (default 30)")
    parser.add_argument(
        "--server", action="store_true", help="the real service on loopback, not in-process"
    )
    parser.add_argument("--out", type=Path, help="write the report as JSON here")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    cases = [CASES[name] for name in args.case or ["large_batch"]]
    report: dict[str, Any] = {
        "mode": "server (layerscope serve, loopback)" if args.server else "in-process TestClient",
        "rounds": args.rounds,
        "targets": TARGETS,
        "machine": describe(with_torch=True),
        "cases": {},
    }
    with open_client(args.server) as client:
        for case in cases:
            result = measure(client, case, args.rounds)
            report["cases"][case.name] = {"input_shape": case.input_shape, **result}
    print(render(report), end="")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
