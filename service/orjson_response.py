"""The JSON response class: orjson, with numpy arrays serialized straight from their buffers."""

from typing import Any

import orjson
from starlette.responses import JSONResponse

ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


class OrjsonResponse(JSONResponse):
    """JSON via orjson; numpy arrays are written from their buffers (NaN and ±Inf as null)."""

    def render(self, content: Any) -> bytes:
        """Serialize `content` to JSON bytes."""
        return orjson.dumps(content, option=ORJSON_OPTIONS)
