"""Colormaps as small lookup tables (uint8 RGB), computed with numpy: no matplotlib.

A value t in [0, 1] takes the colour at index round(t * (n - 1)). Sequential maps have 256
entries; diverging maps (centred on zero) have 257, so that t = 0.5 (a zero) lands exactly on
the middle entry, their centre colour.
"""

from functools import cache

import numpy as np

from schemas.images import DIVERGING_COLORMAPS, Colormap

# Anchors (position, r, g, b) in [0, 1], interpolated linearly.
_ANCHORS: dict[str, list[tuple[float, float, float, float]]] = {
    # matplotlib's viridis at 9 evenly spaced points of its 256-entry table.
    "viridis": [
        (0.000, 0.267004, 0.004874, 0.329415),
        (0.125, 0.282623, 0.140926, 0.457517),
        (0.250, 0.229739, 0.322361, 0.545706),
        (0.375, 0.172719, 0.448791, 0.557885),
        (0.500, 0.127568, 0.566949, 0.550556),
        (0.625, 0.134692, 0.658636, 0.517649),
        (0.750, 0.369214, 0.788888, 0.382914),
        (0.875, 0.678489, 0.863742, 0.189503),
        (1.000, 0.993248, 0.906157, 0.143936),
    ],
    # Moreland's cool-warm (matplotlib's coolwarm), from its end and middle colours.
    "coolwarm": [
        (0.00, 0.229806, 0.298718, 0.753683),
        (0.25, 0.552485, 0.689928, 0.995370),
        (0.50, 0.865003, 0.865003, 0.865003),
        (0.75, 0.958898, 0.602398, 0.481332),
        (1.00, 0.705673, 0.015556, 0.149702),
    ],
    # matplotlib's seismic: dark blue, blue, white, red, dark red.
    "seismic": [
        (0.00, 0.0, 0.0, 0.3),
        (0.25, 0.0, 0.0, 1.0),
        (0.50, 1.0, 1.0, 1.0),
        (0.75, 1.0, 0.0, 0.0),
        (1.00, 0.5, 0.0, 0.0),
    ],
}


def is_diverging(name: Colormap) -> bool:
    """Diverging maps are centred on zero: values are scaled by their largest magnitude."""
    return name in DIVERGING_COLORMAPS


@cache
def lut(name: Colormap) -> np.ndarray:
    """The lookup table of a colormap: uint8 [n, 3]."""
    n = 257 if is_diverging(name) else 256
    t = np.linspace(0.0, 1.0, n)
    if name == "gray":
        rgb = np.stack([t, t, t], axis=1)
    elif name == "jet":
        rgb = np.stack(
            [np.clip(1.5 - np.abs(4 * t - c), 0.0, 1.0) for c in (3.0, 2.0, 1.0)], axis=1
        )
    else:
        anchors = np.array(_ANCHORS[name])
        rgb = np.stack([np.interp(t, anchors[:, 0], anchors[:, c]) for c in (1, 2, 3)], axis=1)
    table: np.ndarray = np.rint(rgb * 255.0).astype(np.uint8)
    table.flags.writeable = False
    return table


def apply(name: Colormap, t: np.ndarray) -> np.ndarray:
    """Colour values in [0, 1] (any shape): uint8 RGB with a trailing axis of 3."""
    table = lut(name)
    index = np.rint(np.clip(t, 0.0, 1.0) * (len(table) - 1)).astype(np.intp)
    colours: np.ndarray = table[index]
    return colours
