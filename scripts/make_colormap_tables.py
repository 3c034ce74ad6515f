"""Write service/images/data/colormaps.json: matplotlib's colormaps as exact 256-entry tables.

Run by hand, from the repository root, after adding a colormap to `schemas.images.Colormap` or
to pick up a matplotlib release that changes a map:

    PYTHONPATH=. .venv/bin/python scripts/make_colormap_tables.py

matplotlib is needed here (and in the tests, which check the file against it), never by the
service: it reads the file. For each map the table is
`matplotlib.colormaps[name](np.arange(256), bytes=True)[:, :3]`, the uint8 RGB colours
matplotlib itself writes into a saved image, stored as one hex string (256 x 6 digits) per map,
one map to a line, so that a change shows up in a diff as the map it touches.
"""

import json
import sys
from pathlib import Path
from typing import get_args

import matplotlib
import numpy as np

from schemas.images import Colormap

ENTRIES = 256
OUT = Path(__file__).resolve().parents[1] / "service" / "images" / "data" / "colormaps.json"


def table(name: str) -> str:
    """A map's 256 uint8 RGB entries as one hex string (rrggbb per entry)."""
    cmap = matplotlib.colormaps[name]
    if cmap.N != ENTRIES:
        raise SystemExit(f"{name}: matplotlib's map has {cmap.N} entries, not {ENTRIES}")
    rgb = np.asarray(cmap(np.arange(ENTRIES), bytes=True))[:, :3]
    return rgb.astype(np.uint8).tobytes().hex()


def document() -> str:
    """The JSON text of the file: provenance first, then one line per map."""
    head = {
        "generated_by": "scripts/make_colormap_tables.py",
        "matplotlib": matplotlib.__version__,
        "format": f"{ENTRIES} entries of uint8 rrggbb per map, as matplotlib's cmap(i, bytes=True)",
    }
    lines = [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    maps = [f"    {json.dumps(name)}: {json.dumps(table(name))}" for name in get_args(Colormap)]
    return "{\n" + "\n".join(lines) + '\n  "tables": {\n' + ",\n".join(maps) + "\n  }\n}\n"


def main() -> None:
    """Write the file and say where."""
    OUT.write_text(document())
    print(f"wrote {OUT} (matplotlib {matplotlib.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
