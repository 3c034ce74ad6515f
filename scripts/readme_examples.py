"""Print the curl examples (docs/examples.md, three of them in the README) with the real output of
a live server.

Starts `python -m service.cli serve` on a free loopback port, runs each curl command, and prints
Markdown: the command, then its output (JSON pretty-printed, long arrays cut to 4 values,
floats rounded to 6 significant digits).
Usage: `PYTHONPATH=. .venv/bin/python scripts/readme_examples.py > /tmp/examples.md`.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

SEED_CONV = {"type": "conv2d", "in_channels": 1, "out_channels": 20, "kernel_size": 5, "stride": 1}
SEED_PIPELINE = [
    SEED_CONV,
    {"type": "activation", "name": "relu"},
    {"type": "maxpool2d", "kernel_size": 2, "stride": 2},
    {"type": "flatten"},
    {"type": "linear", "in_features": 2880, "out_features": 10},
    {"type": "activation", "name": "softmax", "dim": 1},
]

EXAMPLES: list[tuple[str, str]] = [
    ("Liveness and readiness", "curl -s $URL/healthz; echo; curl -s $URL/readyz"),
    ("Versions, devices and limits", "curl -s $URL/v1/info"),
    (
        "One layer: Conv2d(1, 20, 5, 1) on an MNIST digit, forward and backward",
        "curl -s $URL/v1/layers/inspect -H 'content-type: application/json' -d '"
        + json.dumps(
            {
                "layer": SEED_CONV,
                "input": {"mnist": {"split": "test", "index": 0}},
                "backward": {"target": "sum"},
                "include": ["parameters"],
            }
        )
        + "'",
    ),
    (
        "Explicit data, explicit weights, y.backward(v)",
        "curl -s $URL/v1/layers/inspect -H 'content-type: application/json' -d '"
        + json.dumps(
            {
                "layer": {"type": "linear", "in_features": 2, "out_features": 1},
                "input": {"tensor": {"data": [[1.0, 2.0]]}},
                "weights": {"state": {"weight": {"data": [[3.0, 4.0]]}, "bias": {"data": [0.5]}}},
                "backward": {"grad_output": {"data": [[2.0]]}},
            }
        )
        + "'",
    ),
    (
        "A shape that does not fit: 422 problem details with the fix",
        "curl -s $URL/v1/layers/inspect -H 'content-type: application/json' -d '"
        + json.dumps(
            {
                "layer": {"type": "linear", "in_features": 784, "out_features": 10},
                "input": {"shape": [1, 500]},
            }
        )
        + "'",
    ),
    (
        "A pipeline, layer by layer: the gradient of p(7) for the digit 7 (values left out)",
        "curl -s $URL/v1/models/inspect -H 'content-type: application/json' -d '"
        + json.dumps(
            {
                "layers": SEED_PIPELINE,
                "input": {"mnist": {"split": "test", "index": 0}},
                "backward": {"grad_output": {"data": [[0, 0, 0, 0, 0, 0, 0, 1, 0, 0]]}},
                "include": [],
            }
        )
        + "'",
    ),
    (
        "The same table without data, on the meta device, as text",
        "curl -s '$URL/v1/models/summary?format=text' -H 'content-type: application/json' -d '"
        + json.dumps({"layers": SEED_PIPELINE, "input_shape": [64, 1, 28, 28]})
        + "'",
    ),
    (
        "Autograd: a = ones(2, 2); b = a + 2; c = b ** 2; out = c.sum()",
        "curl -s $URL/v1/autograd -H 'content-type: application/json' -d '"
        + json.dumps(
            {
                "tensors": {"a": {"fill": 1.0, "shape": [2, 2]}},
                "ops": [
                    {"name": "b", "op": "add", "args": ["a", 2]},
                    {"name": "c", "op": "pow", "args": ["b", 2]},
                    {"name": "out", "op": "sum", "args": ["c"]},
                ],
                "backward": {"of": "out"},
            }
        )
        + "'",
    ),
    ("The MNIST sample set", "curl -s $URL/v1/mnist"),
    ("One digit as a PNG", "curl -s $URL/v1/mnist/test/0.png -o seven.png && file seven.png"),
    (
        "A shuffled batch of 8, as the seed's DataLoader yields it, through the pipeline",
        "curl -s $URL/v1/models/inspect -H 'content-type: application/json' -d '"
        + json.dumps(
            {
                "layers": SEED_PIPELINE,
                "input": {"mnist": {"split": "test", "batch_size": 8, "shuffle": True, "seed": 0}},
                "weights": {"seed": 0},
                "include": [],
            }
        )
        + "' | jq '{input: .input.shape, output: .summary.output_shape, "
        + "source: .preprocessing.source, labels}'",
    ),
    (
        "The same batch as the seed's figure: digits titled with their labels",
        "curl -s '$URL/v1/mnist/test/batch.png?batch_size=8&shuffle=true&seed=0&columns=4' "
        + "-o batch.png && file batch.png",
    ),
    (
        "Upload a drawing (multipart) and inspect a layer on it",
        "curl -s $URL/v1/layers/inspect/upload -F image=@seven.png -F 'spec="
        + json.dumps({"layer": {"type": "maxpool2d", "kernel_size": 2}, "include": []})
        + "'",
    ),
    (
        "Render the 20 kernels of the conv layer as a PNG grid",
        "curl -s $URL/v1/layers/render -H 'content-type: application/json' -d '"
        + json.dumps(
            {
                "layer": SEED_CONV,
                "input": {"mnist": {"split": "test", "index": 0}},
                "view": "weights",
                "colormap": "coolwarm",
                "scale": 8,
            }
        )
        + "' -o kernels.png && file kernels.png",
    ),
    (
        "Render layer 1's feature maps (after ReLU) of the pipeline",
        "curl -s $URL/v1/models/render -H 'content-type: application/json' -d '"
        + json.dumps(
            {
                "layers": SEED_PIPELINE,
                "input": {"mnist": {"split": "test", "index": 0}},
                "layer": 1,
                "view": "output",
                "colormap": "viridis",
                "scale": 4,
            }
        )
        + "' -o features.png && file features.png",
    ),
    (
        "Receptive field: what one unit of the pipeline's max pool sees of the digit 7",
        "curl -s $URL/v1/models/receptive-field -H 'content-type: application/json' -d '"
        + json.dumps(
            {
                "layers": SEED_PIPELINE,
                "input": {"mnist": {"split": "test", "index": 0}},
                "module": 2,
                "unit": {"channel": 0, "position": [5, 7]},
                "png": True,
                "scale": 8,
            }
        )
        + "' | tee rf.json | jq 'del(.image)' && jq -r .image rf.json | cut -d, -f2 | base64 -d"
        + " > receptive_field.png",
    ),
    (
        "Attribution: integrated gradients of class 7 for the digit 7 (Captum)",
        "curl -s $URL/v1/models/attribute -H 'content-type: application/json' -d '"
        + json.dumps(
            {
                "layers": SEED_PIPELINE,
                "input": {"mnist": {"split": "test", "index": 0}},
                "method": "integrated_gradients",
                "target": 7,
                "n_steps": 32,
                "scale": 8,
            }
        )
        + "' | tee ig.json | jq '{captum, arguments, target, output: .output.data, attribution:"
        + " (.attribution | {shape, stats}), convergence_delta: .convergence_delta.data}'"
        + " && jq -r .heatmap ig.json | cut -d, -f2 | base64 -d > attribution.png",
    ),
    (
        "Sweep: Conv2d(1, 4, k) on the digit 7 for k = 1, 3, 5, 29",
        "curl -s $URL/v1/layers/sweep -H 'content-type: application/json' -d '"
        + json.dumps(
            {
                "layer": {"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3},
                "input": {"mnist": {"split": "test", "index": 0}},
                "argument": "kernel_size",
                "values": [1, 3, 5, 29],
                "include": [],
            }
        )
        + "' | jq '[.results[] | {value, status, output: .result.output.shape, problem:"
        + " .problem.detail}]'",
    ),
    ("Prometheus metrics", "curl -s $URL/metrics | grep -E '^layerscope_requests_total' | head -4"),
]


def _cut(value: Any) -> Any:
    if isinstance(value, list):
        if len(value) > 4 and all(not isinstance(v, dict | list) for v in value):
            return [*value[:4], f"... {len(value) - 4} more"]
        return [_cut(v) for v in value]
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {
            k: (v[:60] + "...")
            if k == "data_b64" and isinstance(v, str) and len(v) > 60
            else (v[:60] + "...")
            if isinstance(v, str) and v.startswith("data:image")
            else _cut(v)
            for k, v in value.items()
        }
    return value


def compact(value: Any, indent: int = 0, used: int = 0) -> str:
    """JSON indented by 2, with each object or list on one line when that line fits in 100."""
    flat = json.dumps(value)
    if used + len(flat) <= 120 or not isinstance(value, dict | list) or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, list):
        items = [pad + compact(v, indent + 2, len(pad)) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    lines = []
    for k, v in value.items():
        head = f"{pad}{json.dumps(k)}: "
        lines.append(head + compact(v, indent + 2, len(head)))
    return "{\n" + ",\n".join(lines) + "\n" + " " * indent + "}"


def main() -> None:
    """Run every example against a fresh server and print Markdown."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = os.environ | {"LAYERSCOPE_PORT": str(port), "LAYERSCOPE_LOG_LEVEL": "warning"}
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workdir = Path("/tmp/layerscope-readme")
    workdir.mkdir(exist_ok=True)
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(url + "/readyz") as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        for title, command in EXAMPLES:
            shown = command.replace("$URL", "http://127.0.0.1:8000")
            out = subprocess.run(
                ["bash", "-c", command.replace("$URL", url)],
                cwd=workdir,
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
            try:
                body = compact(_cut(json.loads(out)))
                lang = "json"
            except ValueError:
                body, lang = out, "text"
            print(f"### {title}\n\n```bash\n{shown}\n```\n\n```{lang}\n{body}\n```\n")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
