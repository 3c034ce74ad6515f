"""The `layerscope` command: `layerscope serve` starts the service with uvicorn."""

import argparse
import os
import shutil
import tempfile

import uvicorn
from pydantic import ValidationError

from service.metrics import MULTIPROC_ENV
from service.settings import Settings, get_settings


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run it."""
    parser = argparse.ArgumentParser(prog="layerscope", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the HTTP service (LAYERSCOPE_* settings)")
    serve.add_argument("--host", help="override LAYERSCOPE_HOST")
    serve.add_argument("--port", type=int, help="override LAYERSCOPE_PORT")
    args = parser.parse_args(argv)
    if args.command == "serve":
        settings = _settings_or_exit(parser)
        host = args.host or settings.host
        port = args.port or settings.port
        print(
            f"layerscope: workbench at http://{host}:{port}/, docs at http://{host}:{port}/docs",
            flush=True,
        )
        metrics_dir = _multiprocess_metrics(settings.workers)
        try:
            uvicorn.run(
                "service.app:create_app",
                factory=True,
                host=host,
                port=port,
                workers=settings.workers,
                log_level=settings.log_level,
                access_log=False,  # the service logs one JSON line per request itself
            )
        finally:
            if metrics_dir is not None:
                shutil.rmtree(metrics_dir, ignore_errors=True)
                os.environ.pop(MULTIPROC_ENV, None)


def _settings_or_exit(parser: argparse.ArgumentParser) -> Settings:
    """The settings from the environment; a value out of range ends the command with status 2
    and one line per bad variable, named as it is set (`LAYERSCOPE_PORT: ...`)."""
    try:
        return get_settings()
    except ValidationError as exc:
        prefix = str(Settings.model_config.get("env_prefix", ""))
        lines = [
            f"{prefix}{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors(include_url=False)
        ]
        parser.exit(2, "layerscope: invalid settings\n" + "\n".join(lines) + "\n")


def _multiprocess_metrics(workers: int) -> str | None:
    """With several workers, point prometheus_client's multiprocess mode at a fresh folder (the
    workers inherit it), so /metrics adds up every worker's counts; return the folder to remove
    when the server stops. A PROMETHEUS_MULTIPROC_DIR set already is used as it is (and kept)."""
    if workers <= 1 or os.environ.get(MULTIPROC_ENV):
        return None
    folder = tempfile.mkdtemp(prefix="layerscope-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    print(f"layerscope: metrics of {workers} workers are added up in {folder}", flush=True)
    return folder


if __name__ == "__main__":  # pragma: no cover
    main()
