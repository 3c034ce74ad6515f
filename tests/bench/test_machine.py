"""bench.machine against what the interpreter and torch say themselves."""

import os
import platform
import re
from pathlib import Path

import pytest
import torch

from bench import machine


def test_describe_without_torch() -> None:
    info = machine.describe()
    assert info == {
        "cpu": machine.cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }


def test_describe_with_torch() -> None:
    info = machine.describe(with_torch=True)
    assert info["torch"] == torch.__version__
    assert info["torch_threads"] == torch.get_num_threads()
    assert ("gpu" in info) == torch.cuda.is_available()


def test_cpu_model_is_the_first_model_name_of_cpuinfo() -> None:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("no /proc/cpuinfo")
    found = re.search(r"^model name\s*:\s*(.*)$", cpuinfo.read_text(), re.MULTILINE)
    if found is None:
        pytest.skip("/proc/cpuinfo has no model name here")
    assert machine.cpu_model() == found.group(1).strip()
