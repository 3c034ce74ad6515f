"""The colour tables the pictures are drawn with, so a front end can draw a colour bar."""

from typing import get_args

from fastapi import APIRouter
from starlette.responses import Response

from schemas.images import Colormap, ColormapCatalog
from service.images import colormaps
from service.orjson_response import OrjsonResponse

router = APIRouter(prefix="/v1", tags=["images"])


def colormap_catalog() -> dict[str, list[dict[str, object]]]:
    """Every colormap a picture may use: its name, whether it is centred on zero, its colours."""
    return {
        "colormaps": [
            {
                "name": name,
                "diverging": colormaps.is_diverging(name),
                "colors": ["#" + bytes(rgb).hex() for rgb in colormaps.lut(name).tolist()],
            }
            for name in get_args(Colormap)
        ]
    }


@router.get(
    "/colormaps",
    summary="The colormaps pictures are drawn with, colour by colour (for colour bars)",
    response_model=ColormapCatalog,
)
def colormap_tables() -> Response:
    """matplotlib's 256-entry tables of `gray`, `jet`, `viridis`, `coolwarm` and `seismic`,
    exactly the colours of the PNGs (`include: ["images"]`, POST /v1/models/render): with a
    tensor's `stats` (min and max, or the largest magnitude for a diverging map) a front end
    draws the colour bar of a picture."""
    return OrjsonResponse(colormap_catalog())
