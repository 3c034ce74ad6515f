"""Pure ASGI middleware: body limits, request context (ids, logs, metrics)."""
