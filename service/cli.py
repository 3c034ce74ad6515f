"""The `layerscope` command: `layerscope serve` starts the service with uvicorn."""

import argparse

import uvicorn

from service.settings import get_settings


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run it."""
    parser = argparse.ArgumentParser(prog="layerscope", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the HTTP service (LAYERSCOPE_* settings)")
    serve.add_argument("--host", help="override LAYERSCOPE_HOST")
    serve.add_argument("--port", type=int, help="override LAYERSCOPE_PORT")
    args = parser.parse_args(argv)
    if args.command == "serve":
        settings = get_settings()
        host = args.host or settings.host
        port = args.port or settings.port
        print(
            f"layerscope: workbench at http://{host}:{port}/, docs at http://{host}:{port}/docs",
            flush=True,
        )
        uvicorn.run(
            "service.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=settings.workers,
            log_level=settings.log_level,
            access_log=False,  # the service logs one JSON line per request itself
        )


if __name__ == "__main__":  # pragma: no cover
    main()
