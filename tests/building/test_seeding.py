"""Seeds reproduce `torch.manual_seed(seed); ...` exactly, also from many threads at once."""

from concurrent.futures import ThreadPoolExecutor

import torch
from torch import nn
from torch.testing import assert_close

from service.building.seeding import seeded, seeded_randn


def test_seeded_randn_equals_manual_seed() -> None:
    torch.manual_seed(42)
    expected = torch.randn(3, 4, 5)
    assert torch.equal(seeded_randn([3, 4, 5], 42), expected)


def test_seeded_constructor_equals_manual_seed_and_leaves_global_rng() -> None:
    torch.manual_seed(5)
    expected = nn.Conv2d(1, 20, 5)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    got = seeded(5, lambda: nn.Conv2d(1, 20, 5))
    assert torch.equal(torch.get_rng_state(), before)
    assert_close(got.weight, expected.weight)
    assert_close(got.bias, expected.bias)


def test_seeding_is_thread_safe() -> None:
    torch.manual_seed(9)
    expected = nn.Linear(64, 64).weight.detach()

    def build(_: int) -> torch.Tensor:
        return seeded(9, lambda: nn.Linear(64, 64)).weight.detach()

    with ThreadPoolExecutor(8) as pool:
        for weight in pool.map(build, range(64)):
            assert torch.equal(weight, expected)
