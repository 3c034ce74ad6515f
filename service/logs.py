"""Structured logs: every `layerscope.*` record leaves as one JSON line on stderr."""

import logging
import sys
from datetime import UTC, datetime

import orjson


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message and its `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        """Render `record` (with `extra={"fields": {...}}` merged in) as a JSON line."""
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: str) -> None:
    """Send `layerscope.*` logs to stderr as JSON lines at `level` (once per process)."""
    logger = logging.getLogger("layerscope")
    logger.setLevel(level.upper())
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
