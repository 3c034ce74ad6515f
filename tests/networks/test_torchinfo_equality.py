"""/v1/models/summary of every torchvision classification architecture equals torchinfo's
summary of the same architecture built by torchvision in the test: rows (qualified and var
names, depth, output shape, parameter and trainable counts, executed and recursive, in order),
totals, and FLOPs per module and in all as FlopCounterMode counts them on the forward pass
torchinfo runs.

Every architecture at depths 1, 2 and 3, one torchinfo pass each (torchinfo's listing does not
depend on `depth`, only what it shows does, so one pass serves the three depths).

Where each runs: every architecture is built on the meta device and summarised by torchinfo
with `device="meta"` (torchinfo moves the model and its input there and runs the same hooks; a
real build of the big ones, vit_h_14 or regnet_y_128gf, would take GBs and minutes). A slice of
small ones is also built for real on the CPU and summarised by torchinfo there, on real data,
so the meta plan is checked against an ordinary run too. The service always plans on meta.
"""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.networks import zoo
from tests.torchinfo_reference import (
    NAMES,
    Reference,
    check_totals,
    meta_model,
    real_model,
    reference,
    table_flops,
    table_rows,
    torchinfo_flops,
    torchinfo_rows,
)

REAL_ON_CPU = [
    "googlenet",
    "mobilenet_v3_small",
    "regnet_x_400mf",
    "resnet18",
    "squeezenet1_1",
]
"""Small architectures also compared with torchinfo on a real CPU build (a second or so each)."""


def input_size(name: str) -> list[int]:
    """The architecture's default input, as GET /v1/models lists it."""
    return zoo.architecture(name).input_size


def post(client: TestClient, name: str, depth: int) -> Any:
    response = client.post(
        "/v1/models/summary", json={"model": {"torchvision": name}, "depth": depth}
    )
    assert response.status_code == 200, response.text
    return response.json()


def check(client: TestClient, name: str, ref: Reference, depths: tuple[int, ...]) -> None:
    """The summary at each depth equals the reference."""
    for depth in depths:
        body = post(client, name, depth)
        assert table_rows(body) == torchinfo_rows(ref, depth), f"{name} at depth {depth}"
        check_totals(body["summary"], ref)
        assert table_flops(body) == torchinfo_flops(ref, depth), f"{name} at depth {depth}"


@pytest.mark.parametrize("name", NAMES)
def test_summary_equals_torchinfo_on_meta(client: TestClient, name: str) -> None:
    model = meta_model(name)
    ref = reference(model, input_size(name), "meta")
    check(client, name, ref, (1, 2, 3))
    # no torchvision model shares a parameter, so torchinfo's total is every parameter once
    assert ref.stats.total_params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", REAL_ON_CPU)
def test_summary_equals_torchinfo_of_a_real_run(client: TestClient, name: str) -> None:
    check(client, name, reference(real_model(name), input_size(name), "cpu"), (3,))


def test_every_architecture_is_covered() -> None:
    assert zoo.names() == NAMES
    assert set(REAL_ON_CPU) <= set(NAMES)
