"""Colormap lookup tables: ends, centres, known colours."""

import numpy as np
import pytest

from service.images import colormaps


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("gray", (0, 0, 0), (255, 255, 255)),
        ("jet", (0, 0, 128), (128, 0, 0)),
        ("viridis", (68, 1, 84), (253, 231, 37)),
        ("coolwarm", (59, 76, 192), (180, 4, 38)),
        ("seismic", (0, 0, 76), (128, 0, 0)),
    ],
)
def test_ends_are_the_first_and_last_colours(name: str, first: tuple, last: tuple) -> None:
    table = colormaps.lut(name)  # type: ignore[arg-type]
    assert tuple(table[0]) == first and tuple(table[-1]) == last
    got = colormaps.apply(name, np.array([0.0, 1.0, -3.0, 7.0]))  # type: ignore[arg-type]
    assert [tuple(c) for c in got] == [first, last, first, last]


@pytest.mark.parametrize(
    ("name", "middle"), [("seismic", (255, 255, 255)), ("coolwarm", (221, 221, 221))]
)
def test_diverging_maps_put_one_half_on_the_middle_colour(name: str, middle: tuple) -> None:
    table = colormaps.lut(name)  # type: ignore[arg-type]
    assert len(table) == 257 and tuple(table[128]) == middle
    assert tuple(colormaps.apply(name, np.array(0.5))) == middle  # type: ignore[arg-type]


def test_gray_is_the_identity_on_levels() -> None:
    t = np.arange(256) / 255.0
    np.testing.assert_array_equal(colormaps.apply("gray", t)[:, 0], np.arange(256))
