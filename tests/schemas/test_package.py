"""The schemas package imports without torch (clients validate with it, torch not installed)."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import schemas

ROOT = Path(__file__).resolve().parents[2]


def test_every_schema_module_imports_without_torch() -> None:
    modules = sorted(m.name for m in pkgutil.walk_packages(schemas.__path__, "schemas."))
    assert {"schemas.requests", "schemas.models", "schemas.autograd_examples"} <= set(modules)
    code = (
        "import importlib, sys\n"
        "for blocked in ('torch', 'torchvision'):\n"
        "    sys.modules[blocked] = None\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = [m for m, v in sys.modules.items() if v is not None and m.split('.')[0] in "
        "('torch', 'torchvision')]\n"
        "assert not loaded, loaded\n"
        "print('ok', len([m for m in sys.modules if m.startswith('schemas.')]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok", str(len(modules))]


def test_the_blocking_sentinel_works() -> None:
    # The check above can fail: with the sentinel, importing torch raises.
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "try:\n import torch\nexcept ImportError:\n print('blocked')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "blocked"
