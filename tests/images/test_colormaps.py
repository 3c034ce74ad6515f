"""Colormap lookup tables against matplotlib's own maps: every entry, and t -> colour."""

import subprocess
import sys
from pathlib import Path
from typing import get_args

import matplotlib
import numpy as np
import pytest

from schemas.images import Colormap
from service.images import colormaps

NAMES: tuple[Colormap, ...] = get_args(Colormap)


def matplotlib_rgb(name: str, t: np.ndarray) -> np.ndarray:
    """What matplotlib writes into a saved image for the values t: uint8 RGB."""
    return np.asarray(matplotlib.colormaps[name](t, bytes=True))[..., :3]


def dense_grid() -> np.ndarray:
    """0, 1, 0.5, a fine grid, both sides of every entry boundary k/256, and out-of-range values."""
    bounds = np.arange(257) / 256
    edges = np.concatenate(
        [bounds, np.nextafter(bounds, -np.inf), np.nextafter(bounds, np.inf), bounds - 1e-9]
    )
    outside = [-np.inf, -1e9, -1.0, -1e-12, -0.0, 1.0 + 1e-12, 2.0, 1e9, np.inf]
    return np.concatenate([[0.0, 0.5, 1.0], np.linspace(0, 1, 10_001), edges, outside])


@pytest.mark.parametrize("name", NAMES)
def test_every_entry_is_matplotlibs(name: Colormap) -> None:
    table = colormaps.lut(name)
    assert table.shape == (256, 3) and table.dtype == np.uint8
    np.testing.assert_array_equal(table, matplotlib_rgb(name, np.arange(256)))


@pytest.mark.parametrize("name", NAMES)
def test_apply_colours_values_as_matplotlib_does(name: Colormap) -> None:
    t = dense_grid()
    np.testing.assert_array_equal(colormaps.apply(name, t), matplotlib_rgb(name, t))
    # Any shape, float32 too (matplotlib scales in float32 there; 256 is a power of two).
    square = t[:10_000].reshape(100, 100).astype(np.float32)
    np.testing.assert_array_equal(colormaps.apply(name, square), matplotlib_rgb(name, square))
    assert colormaps.apply(name, np.array(0.5)).shape == (3,)


@pytest.mark.parametrize("name", ["coolwarm", "seismic"])
def test_diverging_maps_put_zero_on_matplotlibs_colour_at_one_half(name: Colormap) -> None:
    assert colormaps.is_diverging(name)
    centre = matplotlib.colormaps[name](0.5, bytes=True)[:3]
    assert tuple(colormaps.apply(name, np.array(0.5))) == tuple(centre)
    assert tuple(colormaps.lut(name)[128]) == tuple(centre)


def test_sequential_maps_are_not_diverging() -> None:
    assert [n for n in NAMES if colormaps.is_diverging(n)] == ["coolwarm", "seismic"]


def test_nan_takes_the_first_entry() -> None:
    got = colormaps.apply("viridis", np.array([np.nan, 0.0]))
    np.testing.assert_array_equal(got[0], got[1])


def test_the_service_does_not_import_matplotlib() -> None:
    code = (
        "import sys, numpy as np\n"
        "from service.images import colormaps, rendering\n"
        "colormaps.apply('viridis', np.linspace(0, 1, 5))\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
