"""service/planning/tree_plan.py: the table of any module tree is torchinfo's listing, with
torchinfo's totals and FlopCounterMode's FLOPs, also for what torchvision's classification
models never do (tests/odd_modules.py): modules called twice, containers that never run entered
twice, a module reachable by two paths, containers with parameters of their own, frozen
parameters, tuple outputs, modules that never run."""

import pytest
import torch
from torch import nn

from service.planning.fit import Received
from service.planning.tree_plan import TreePlan, plan_tree
from tests.odd_modules import ODD_MODULES
from tests.torchinfo_reference import (
    Reference,
    check_totals,
    reference,
    table_flops,
    table_rows,
    torchinfo_flops,
    torchinfo_rows,
)


def planned(name: str) -> tuple[TreePlan, Reference]:
    """The odd module planned by the service, and torchinfo's summary of another instance."""
    make, size = ODD_MODULES[name]
    with torch.device("meta"):
        ours: nn.Module = make()
        theirs: nn.Module = make()
    tree = plan_tree(ours, Received(size), 1 << 40, field="body.model")
    return tree, reference(theirs, size, "meta")


@pytest.mark.parametrize("name", ODD_MODULES)
def test_table_is_torchinfos_listing(name: str) -> None:
    tree, ref = planned(name)
    for depth in (1, 2, 3, 4):
        table = tree.table(depth)
        assert table_rows(table) == torchinfo_rows(ref, depth), f"{name} at depth {depth}"
        check_totals(table["summary"], ref)
        assert table_flops(table) == torchinfo_flops(ref, depth), f"{name} at depth {depth}"


def test_several_outputs_are_all_listed() -> None:
    tree, _ = planned("two_heads")
    split = next(row for row in tree.table(1)["layers"] if row["name"] == "split")
    assert split["output_shape"] == [2, 8]  # the first tensor's, as torchinfo shows it
    assert split["output_shapes"] == [[2, 8], [2, 3]]
    assert split["output_bytes"] == 2 * 8 * 4  # torchinfo's: the first tensor's


@pytest.mark.parametrize(
    ("name", "unique", "torchinfos"), [("two_paths", 72, 216), ("tied", 98, 162)]
)
def test_shared_parameters_in_the_total_as_torchinfo_counts_them(
    name: str, unique: int, torchinfos: int
) -> None:
    """torchinfo's Total params counts a layer on two paths once per listing and a tied weight
    once per layer; the table is torchinfo's, so it does too (no pipeline or torchvision model
    shares a module or a parameter: their totals are exact)."""
    tree, ref = planned(name)
    assert sum(p.numel() for p in ODD_MODULES[name][0]().parameters()) == unique
    assert ref.stats.total_params == torchinfos
    assert tree.table()["summary"]["parameter_count"] == torchinfos
