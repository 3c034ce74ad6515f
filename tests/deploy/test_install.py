"""What the image runs, without a Docker engine: install the package the way the Dockerfile does
(the same requirement and constraint files, then the copied sources with --no-deps) into a fresh
venv, start the console command `layerscope serve`, and ask it /readyz, /v1/info and the
Dockerfile's own HEALTHCHECK command.

The differences from the image: no --index-url for torch, since the PyTorch wheel index is not
reachable here (pip takes torch from this machine's wheels instead), and --no-compile for the
dependencies, which only skips writing bytecode, to keep the test quick.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx

from tests.deploy.files import (
    CONSTRAINTS,
    REQUIREMENT_FILES,
    REQUIREMENTS,
    ROOT,
    dockerfile_instructions,
    requirement_lines,
)

READY_TIMEOUT_S = 60


def run(argv: list[str], cwd: Path, timeout: float = 600) -> None:
    """Run a command; fail the test with its output if it fails."""
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def copy_build_context(destination: Path) -> None:
    """Copy what the Dockerfile's COPY instructions copy, and nothing else."""
    for instruction in dockerfile_instructions():
        if instruction.keyword != "COPY" or instruction.args.startswith("--from"):
            continue
        for source in instruction.args.split()[:-1]:
            path = ROOT / source.rstrip("/")
            if path.is_dir():
                shutil.copytree(
                    path, destination / path.name, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy2(path, destination / path.name)


def clean_environment(port: int) -> dict[str, str]:
    """The process environment without this test run's Python and layerscope settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LAYERSCOPE_", "PYTHON", "VIRTUAL"))
    }
    env.update(LAYERSCOPE_HOST="127.0.0.1", LAYERSCOPE_PORT=str(port), LAYERSCOPE_DEVICE="cpu")
    env.update(LAYERSCOPE_TORCH_THREADS="1")
    return env


def test_installed_console_command_serves(tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    copy_build_context(context)
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    try:
        run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
        for name in REQUIREMENT_FILES:
            run(
                [str(python), "-m", "pip", "install", "-q", "--no-compile", "-r",
                 f"requirements/{name}", "-c", "requirements/constraints.txt"],
                cwd=context,
            )  # fmt: skip
        run([str(python), "-m", "pip", "install", "-q", "--no-deps", "."], cwd=context)
        run([str(python), "-m", "pip", "check"], cwd=context)

        where = subprocess.run(
            [str(python), "-c", "import service, schemas; print(service.__file__)"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        assert Path(where.stdout.strip()).is_relative_to(venv), "imports the installed package"

        port = free_port()
        env = clean_environment(port)
        log = tmp_path / "serve.log"
        with log.open("w") as out:
            server = subprocess.Popen(
                [str(venv / "bin" / "layerscope"), "serve"],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            try:
                serve_and_check(server, port, python, env, log)
            finally:
                server.terminate()
                try:
                    server.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait(timeout=15)
        # Once the server is gone, the same health check fails.
        assert healthcheck(python, env).returncode != 0
    finally:
        shutil.rmtree(venv, ignore_errors=True)  # a few GiB of torch: don't keep it around


def serve_and_check(
    server: subprocess.Popen[bytes], port: int, python: Path, env: dict[str, str], log: Path
) -> None:
    """Wait for readiness, then check /v1/info and the Dockerfile's health check."""
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT_S
    status = None
    with httpx.Client(base_url=base, timeout=5) as client:
        while time.monotonic() < deadline:
            assert server.poll() is None, f"layerscope serve exited:\n{log.read_text()[-3000:]}"
            try:
                response = client.get("/readyz")
                status = response.status_code
                if status == 200:
                    break
                assert status == 503, response.text
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        assert status == 200, f"not ready in {READY_TIMEOUT_S}s:\n{log.read_text()[-3000:]}"
        assert client.get("/readyz").json() == {"status": "ready"}
        assert client.get("/healthz").json() == {"status": "ok"}

        info = client.get("/v1/info")
        assert info.status_code == 200
        body = info.json()
    pins = {r.name.lower(): str(r.specifier)[2:] for r in requirement_lines(CONSTRAINTS)}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert body["version"] == project["version"]
    assert body["torch"].split("+")[0] == pins["torch"]
    assert body["torchvision"].split("+")[0] == pins["torchvision"]
    assert body["default_device"] == "cpu"
    assert body["limits"]["max_tensor_elements"] > 0
    assert f"docs at http://127.0.0.1:{port}/docs" in log.read_text()
    assert healthcheck(python, env).returncode == 0


def healthcheck(python: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the Dockerfile's HEALTHCHECK command with the venv's python."""
    (check,) = [i.args for i in dockerfile_instructions() if i.keyword == "HEALTHCHECK"]
    argv = json.loads(check.partition(" CMD ")[2])
    assert argv[0] == "python"
    return subprocess.run(
        [str(python), *argv[1:]], env=env, capture_output=True, text=True, timeout=30
    )


def test_requirement_files_exist_for_the_install() -> None:
    for name in REQUIREMENT_FILES:
        assert requirement_lines(REQUIREMENTS / name)
