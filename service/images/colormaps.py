"""Colormaps as matplotlib's own 256-entry lookup tables (uint8 RGB), read from a data file.

The tables in `data/colormaps.json` are `matplotlib.colormaps[name](np.arange(256),
bytes=True)[:, :3]`, the colours matplotlib writes into a saved image. They were generated once
with `scripts/make_colormap_tables.py` (run it by hand to regenerate them); the service reads the
file and never imports matplotlib.

A value t in [0, 1] takes entry floor(t * 256), with t = 1 on the last entry (255) and values
outside [0, 1] clipped to the ends, exactly as matplotlib's `Colormap.__call__` indexes floats,
so `apply(name, t)` equals `matplotlib.colormaps[name](t, bytes=True)[..., :3]`. Diverging maps
(coolwarm, seismic) are centred on zero by the caller: a zero is t = 0.5, entry 128, which is
matplotlib's colour at 0.5.
"""

import json
from functools import cache
from pathlib import Path

import numpy as np

from schemas.images import DIVERGING_COLORMAPS, Colormap

ENTRIES = 256
TABLES_FILE = Path(__file__).parent / "data" / "colormaps.json"


def is_diverging(name: Colormap) -> bool:
    """Diverging maps are centred on zero: values are scaled by their largest magnitude."""
    return name in DIVERGING_COLORMAPS


@cache
def _tables() -> dict[str, str]:
    """The hex strings of every map in the data file."""
    tables: dict[str, str] = json.loads(TABLES_FILE.read_text())["tables"]
    return tables


@cache
def lut(name: Colormap) -> np.ndarray:
    """The lookup table of a colormap: read-only uint8 [256, 3], matplotlib's colours."""
    table = np.frombuffer(bytes.fromhex(_tables()[name]), dtype=np.uint8).reshape(ENTRIES, 3)
    table.flags.writeable = False
    return table


def indices(t: np.ndarray) -> np.ndarray:
    """Table entries of values t (any shape): floor(t * 256), 1 -> 255, clipped to 0..255.

    +inf is past the top (255) and -inf below the bottom (0), as in matplotlib; NaN, which
    matplotlib draws transparent, takes entry 0 (rendering replaces NaN before it gets here).
    """
    scaled = np.asarray(t, dtype=np.float64) * ENTRIES
    index = np.floor(np.nan_to_num(scaled, nan=0.0, posinf=ENTRIES, neginf=-1.0))
    result: np.ndarray = np.clip(index, 0, ENTRIES - 1).astype(np.intp)
    return result


def apply(name: Colormap, t: np.ndarray) -> np.ndarray:
    """Colour values in [0, 1] (any shape): uint8 RGB with a trailing axis of 3."""
    colours: np.ndarray = lut(name)[indices(t)]
    return colours
