"""What the summary tests compare with: torchinfo's summary of a model and FlopCounterMode's
counts of the very forward pass torchinfo runs; torchvision architectures built straight from
torchvision (not by the service's zoo), on the meta device or for real."""

from collections import Counter
from dataclasses import dataclass
from typing import Any
from unittest import mock

import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torchinfo import summary as torchinfo_summary
from torchinfo.layer_info import LayerInfo
from torchinfo.model_statistics import ModelStatistics
from torchvision.models import regnet

NAMES: list[str] = sorted(torchvision.models.list_models(module=torchvision.models))
"""Every torchvision classification architecture."""

COLUMNS = ("input_size", "output_size", "num_params")
"""The columns of the service's text table (before its FLOPs column)."""

COLUMN_WIDTH = 25


def _regnet_widths_on_cpu() -> Any:
    """Patch RegNet's `BlockParams.from_init_params` to compute on the CPU: its builder derives
    the stage widths with tensor arithmetic and `.tolist()`, which the meta device cannot."""
    original = regnet.BlockParams.from_init_params.__func__  # type: ignore[attr-defined]

    def on_cpu(cls: type, *args: Any, **kwargs: Any) -> Any:
        with torch.device("cpu"):
            return original(cls, *args, **kwargs)

    return mock.patch.object(regnet.BlockParams, "from_init_params", classmethod(on_cpu))


def meta_model(name: str, **kwargs: Any) -> nn.Module:
    """`torchvision.models.get_model(name, weights=None)` with every parameter and buffer on
    the meta device (no memory, no initialisation cost)."""
    try:
        with torch.device("meta"):
            return torchvision.models.get_model(name, weights=None, **kwargs)
    except NotImplementedError:  # RegNet: its widths come from tensor arithmetic
        with torch.device("meta"), _regnet_widths_on_cpu():
            return torchvision.models.get_model(name, weights=None, **kwargs)


def real_model(name: str, **kwargs: Any) -> nn.Module:
    """The architecture for real, on the CPU, with random weights."""
    torch.manual_seed(0)
    return torchvision.models.get_model(name, weights=None, **kwargs)


def qualified_name(info: LayerInfo) -> str:
    """A row's qualified name by torchinfo's own parent links (`layer1.0.conv1`; `""` for the
    model)."""
    parts: list[str] = []
    while info is not None and info.depth > 0:
        parts.append(info.var_name)
        info = info.parent_info
    return ".".join(reversed(parts))


@dataclass
class Reference:
    """torchinfo's summary of one forward pass and FlopCounterMode's counts of the same pass."""

    stats: ModelStatistics
    flops: dict[str, int]
    """FLOPs by qualified module name (`""`: the model), FlopCounterMode's
    `get_flop_counts()` with the model's class name taken off the keys."""
    total_flops: int

    def rows(self, depth: int) -> list[LayerInfo]:
        """torchinfo's rows shown at `depth`, the model's first."""
        return [info for info in self.stats.summary_list if info.depth <= depth]

    def row_flops(self) -> list[int]:
        """FLOPs of each row of the listing: its module's count, shared by its calls (a row of
        a container that never ran: 0)."""
        listing = self.stats.summary_list
        calls = Counter(qualified_name(info) for info in listing if info.executed)
        shares = []
        for info in listing:
            name = qualified_name(info)
            count = self.flops.get(name, 0) if info.executed else 0
            assert count % max(calls[name], 1) == 0, name
            shares.append(count // max(calls[name], 1))
        return shares

    def text(self, depth: int) -> list[str]:
        """torchinfo's own text table at `depth` (its listing does not depend on `depth`)."""
        self.stats.formatting.max_depth = depth
        return str(self.stats).splitlines()

    def expected_text(self, depth: int) -> list[str]:
        """torchinfo's text at `depth` as the service writes it: every line of torchinfo's, with
        a FLOPs column after Param # (FlopCounterMode's count of the row's module), dividers
        one column wider, and FlopCounterMode's total in place of the mult-adds line."""
        theirs = self.text(depth)
        width = len(theirs[0])
        flops = [
            count
            for count, info in zip(self.row_flops(), self.stats.summary_list, strict=True)
            if info.depth <= depth
        ]
        divider = "=" * (width + COLUMN_WIDTH)
        dividers = [i for i, line in enumerate(theirs) if set(line) == {"="}]
        header, first_row, last_row = dividers[0] + 1, dividers[1] + 1, dividers[2]
        assert last_row - first_row == len(flops)
        flops_at = width + 4  # torchinfo's divider is 3 short of its three padded columns
        out = []
        for i, line in enumerate(theirs):
            if i in dividers:
                out.append(divider)
            elif i == header:
                out.append(f"{line:<{flops_at}}FLOPs")
            elif first_row <= i < last_row:
                count = flops[i - first_row]
                out.append(f"{line:<{flops_at}}{f'{count:,}' if count else '--'}")
            elif line.startswith("Total mult-adds"):
                out.append(f"Total FLOPs (forward, multiply-add = 2): {self.total_flops:,}")
            else:
                out.append(line)
        return out


def reference(model: nn.Module, input_size: list[int], device: str, **kwargs: Any) -> Reference:
    """`torchinfo.summary(model, input_size, device=device)` in eval mode, with FlopCounterMode
    counting the very forward pass torchinfo runs."""
    counter = FlopCounterMode(display=False)
    with counter:
        stats = torchinfo_summary(
            model,
            input_size=input_size,
            device=device,
            col_names=COLUMNS,
            verbose=0,
            depth=3,
            **kwargs,
        )
    root = type(model).__name__
    flops: dict[str, int] = {}
    for key, ops in counter.get_flop_counts().items():
        if key == "Global":
            continue
        name = "" if key == root else key.removeprefix(root + ".")
        flops[name] = sum(ops.values())
    return Reference(stats, flops, counter.get_total_flops())


def first_shape(shape: Any) -> Any:
    """torchinfo's one shape of a row: the shape, or the first of several."""
    while shape and isinstance(shape[0], list):
        shape = shape[0]
    return shape


def table_rows(table: Any) -> list[tuple[Any, ...]]:
    """The service's rows as (qualified name, var name, depth, output shape, parameters,
    trainable, executed, recursive); a row with several outputs by its first, as torchinfo
    shows it."""
    return [
        (
            row["name"],
            row["name"].split(".")[-1],
            row["depth"],
            first_shape(row["output_shape"]),
            row["parameter_count"],
            row["trainable_parameter_count"],
            row["executed"],
            row["recursive"],
        )
        for row in table["layers"]
    ]


def torchinfo_rows(ref: Reference, depth: int) -> list[tuple[Any, ...]]:
    """torchinfo's rows at `depth` but the model's, as `table_rows` gives the service's."""
    return [
        (
            qualified_name(info),
            info.var_name,
            info.depth,
            info.output_size,
            info.num_params,
            info.trainable_params,
            info.executed,
            info.is_recursive,
        )
        for info in ref.rows(depth)[1:]
    ]


def table_flops(table: Any) -> dict[str, int]:
    """The service's FLOPs by module name (a module called twice: its calls added up)."""
    flops: Counter[str] = Counter()
    for row in table["layers"]:
        flops[row["name"]] += row["flops"]
    return {name: count for name, count in flops.items() if count}


def torchinfo_flops(ref: Reference, depth: int) -> dict[str, int]:
    """FlopCounterMode's FLOPs by module name, for the modules down to `depth`."""
    return {
        name: count
        for name, count in ref.flops.items()
        if name and name.count(".") < depth and count
    }


def check_totals(totals: Any, ref: Reference) -> None:
    """The service's `summary` has torchinfo's totals and FlopCounterMode's FLOPs."""
    stats = ref.stats
    assert totals["parameter_count"] == stats.total_params
    assert totals["trainable_parameter_count"] == stats.trainable_params
    assert totals["parameter_bytes"] == stats.total_param_bytes
    assert totals["forward_backward_bytes"] == stats.total_output_bytes
    assert totals["output_shape"] == stats.summary_list[0].output_size
    assert totals["flops"] == ref.total_flops == ref.flops.get("", 0)
