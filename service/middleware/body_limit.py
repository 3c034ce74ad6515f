"""Refuse oversized or too deeply nested request bodies while they stream in.

A declared Content-Length over the limit is refused before a byte is read; otherwise the bytes
are counted as they arrive (chunked bodies too) and the request is cut off with 413 the moment
it passes the limit. JSON bodies are also scanned for bracket depth, so a body of nested
brackets never reaches the JSON parser (whose recursion it would exhaust).
"""

from collections.abc import Callable, Mapping

import numpy as np
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PROBLEM_BASE, ProblemError, problem_response

_OPEN = np.zeros(256, dtype=np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1


class DepthCounter:
    """Tracks the bracket depth of a JSON document fed in chunks (vectorised per chunk).

    Brackets inside strings count too: an over-estimate, which only matters for strings full
    of brackets, and this API has none.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.deepest = 0

    def feed(self, chunk: bytes) -> int:
        """Account for `chunk`; return the deepest nesting seen so far."""
        if chunk:
            steps = _OPEN[np.frombuffer(chunk, dtype=np.uint8)].astype(np.int64)
            levels = np.cumsum(steps) + self.depth
            self.deepest = max(self.deepest, int(levels.max()))
            self.depth = int(levels[-1])
        return self.deepest


BODY_SETTING = "LAYERSCOPE_MAX_BODY_BYTES"
WEIGHTS_SETTING = "LAYERSCOPE_MAX_WEIGHTS_BYTES"
"""The settings a body limit comes from (forms carrying a weights file may send both)."""


class BodyLimitMiddleware:
    """413 for bodies over `max_bytes`; 422 for JSON nested deeper than `max_depth`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        max_depth: int,
        on_reject: Callable[[str, str], None] = lambda limit, reason: None,
        larger: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.on_reject = on_reject
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.larger = dict(larger or {})
        """Paths whose bodies may be larger (forms that carry a weights file), and how large."""

    def _too_large(self, size: int, declared: bool, limit: int) -> ProblemError:
        how = "declares" if declared else "sends more than"
        setting = BODY_SETTING if limit == self.max_bytes else f"{BODY_SETTING} + {WEIGHTS_SETTING}"
        return ProblemError(
            413,
            "body-too-large",
            f"the request body {how} {size:,} bytes, over the limit of {limit:,} "
            f"({setting}); send less data (for tensors, base64 is about 3x smaller than "
            "JSON lists)",
            title="Request body too large",
            context={"limit": limit, "setting": setting},
            headers={"Connection": "close"},
            limit="body_bytes",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap `receive` to count bytes and depth; answer with problem details on refusal."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, self._too_large(int(declared), True, limit))
            return
        is_json = b"json" in headers.get(b"content-type", b"")
        counter = DepthCounter()
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    raise self._too_large(received, declared=False, limit=limit)
                if is_json and counter.feed(chunk) > self.max_depth:
                    raise ProblemError(
                        422,
                        "too-deeply-nested",
                        f"the JSON body nests deeper than {self.max_depth} levels; send "
                        "tensors as flat lists with `shape` (or as base64)",
                        title="JSON nested too deeply",
                        context={"limit": self.max_depth},
                        limit="json_depth",
                    )
            return message

        await self.app(scope, limited_receive, send)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, refusal: ProblemError
    ) -> None:
        self.on_reject(refusal.limit or "body", refusal.slug)
        response = problem_response(
            refusal.status,
            type_=PROBLEM_BASE + refusal.slug,
            title=refusal.title,
            detail=refusal.detail,
            instance=scope.get("path"),
            context=refusal.context,
            headers=refusal.headers,
        )
        await response(scope, receive, send)
