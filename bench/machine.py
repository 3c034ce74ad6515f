"""What a benchmark ran on: the CPU, its cores, Python, and (when asked) torch and the GPU."""

import os
import platform
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo; else what `platform` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def describe(*, with_torch: bool = False) -> dict[str, Any]:
    """CPU model, core count and Python version; with `with_torch`, torch's version and thread
    count and the first GPU's name when there is one (torch is imported only then, so a client
    that does not need it stays light)."""
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }
    if with_torch:
        import torch

        info |= {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    return info
