"""The client imports and runs without torch: in a subprocess where importing torch fails, every
module of the package imports, and an inspection against the live server gives numpy arrays
(bfloat16 as float32) equal to the torch tensors of a client here. The README's five-line
example prints, against the live server, what the README shows."""

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

import layerscope_client
from bench.processes import Server
from layerscope_client import Client
from tests.layerscope_client.conftest import API_KEY

ROOT = Path(__file__).resolve().parents[2]

REQUEST = {
    "layer": {"type": "linear", "in_features": 4, "out_features": 3},
    "input": {"shape": [2, 4], "seed": 1},
    "backward": {"target": "sum"},
    "dtype": "bfloat16",
}


def test_the_client_runs_without_torch(live_server: Server, live: Client) -> None:
    modules = sorted(
        m.name for m in pkgutil.walk_packages(layerscope_client.__path__, "layerscope_client.")
    )
    assert {"layerscope_client.client", "layerscope_client.arrays"} <= set(modules)
    code = (
        "import importlib, json, sys\n"
        "for blocked in ('torch', 'torchvision'):\n"
        "    sys.modules[blocked] = None\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "from layerscope_client import Client\n"
        f"with Client({live_server.url!r}, api_key={API_KEY!r}) as client:\n"
        f"    result = client.inspect_layer({REQUEST!r})\n"
        "arrays = {key: [type(a).__module__, str(a.dtype), a.tolist()]\n"
        "          for key, a in result.tensors.items()}\n"
        "loaded = [m for m, v in sys.modules.items() if v is not None and m.split('.')[0] in "
        "('torch', 'torchvision')]\n"
        "print(json.dumps({'arrays': arrays, 'loaded': loaded}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["loaded"] == []
    expected = live.inspect_layer(REQUEST)
    assert out["arrays"].keys() == expected.tensors.keys()
    for key, (module, dtype, values) in out["arrays"].items():
        tensor = expected[key]
        assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.bfloat16
        assert (module, dtype) == ("numpy", "float32")
        np.testing.assert_array_equal(np.array(values, dtype=np.float32), tensor.float().numpy())


def readme_example() -> tuple[str, str]:
    """The README's Python client example and the output it shows."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Python client\n", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0]
    return code, shown


def test_the_readme_example_prints_what_the_readme_shows(live_server: Server) -> None:
    code, shown = readme_example()
    assert len([line for line in code.splitlines() if line.strip()]) == 5
    url = "http://127.0.0.1:8000"
    assert url in code
    code = code.replace(url, live_server.url).replace(
        f'Client("{live_server.url}")', f'Client("{live_server.url}", api_key="{API_KEY}")'
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == shown
