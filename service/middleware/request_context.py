"""Per-request context: an X-Request-ID on every response, one JSON log line, and metrics."""

import logging
import re
import time
import uuid

from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.metrics import Metrics

log = logging.getLogger("layerscope.access")

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def request_id_from(scope: Scope) -> str:
    """The client's X-Request-ID when it is a sane token, else a new random one."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = str(value.decode("latin-1"))
            if _CLIENT_ID.match(text):
                return text
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Tags each request with an id, counts it, times it, and logs it once."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, adding X-Request-ID and recording the outcome."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.metrics.in_flight.dec()
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or _route_path(scope)
            self.metrics.requests.labels(
                route=route, method=scope["method"], status=str(status)
            ).inc()
            self.metrics.latency.labels(route=route).observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                log.info(
                    "request",
                    extra={
                        "fields": {
                            "request_id": request_id,
                            "method": scope["method"],
                            "path": scope["path"],
                            "route": route,
                            "status": status,
                            "duration_ms": round(elapsed * 1e3, 3),
                            "client": client[0] if client else None,
                        }
                    },
                )


def _route_path(scope: Scope) -> str:
    """The path template of the route that served a request FastAPI did not tag with its route
    (plain Starlette routes; a mount, such as the docs' static files, by its path), or
    `unmatched`."""
    app = scope.get("app")
    for route in getattr(app, "routes", ()):
        if isinstance(route, Mount) and scope.get("endpoint") is route.app:
            return route.path
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return str(getattr(route, "path", "unmatched"))
    return "unmatched"
