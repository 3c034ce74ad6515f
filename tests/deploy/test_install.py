"""What the image runs, without a Docker engine: install the package the way the Dockerfile does
(the same pip commands, requirement and constraint files, then the sources as the Dockerfile
COPYs them, with --no-deps) into a fresh venv, start the console command `layerscope serve`, and
ask it /readyz, /v1/info, /v1/mnist (the package data) and the Dockerfile's own HEALTHCHECK.

What differs from the image:
- torch is not installed a second time. The torch and torchvision of the Python running the tests,
  with their dependency closure (walked through their metadata), are made visible to the new venv
  as a folder of symlinks to exactly those distributions' files, named in a .pth file; the
  Dockerfile's torch step then finds them already satisfied (its pip report must install none of
  them) and only brings what the fresh venv lacks (here a newer setuptools). So the torch build is
  the host's (a CUDA one here, the CPU one in the image by default), and it must match the pins of
  requirements/constraints.txt: the test says so up front rather than let pip download another.
- no --index-url for the torch step (the PyTorch wheel index is not reachable from the tests).
- --no-compile for the dependencies, which only skips writing bytecode, to keep the test quick.
- Python is the one running the tests, not the image's python:3.11-slim, and the service runs as
  the current user on 127.0.0.1 with LAYERSCOPE_DEVICE=cpu.
"""

import gzip
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import httpx
import numpy as np
import torch
import torchvision
from packaging.requirements import Requirement
from PIL import Image
from torchvision.datasets.mnist import read_image_file, read_label_file

from service.settings import Settings
from tests.deploy.files import (
    CONSTRAINTS,
    REQUIREMENT_FILES,
    REQUIREMENTS,
    ROOT,
    canonical,
    dockerfile_instructions,
    requirement_lines,
)

READY_TIMEOUT_S = 60
HOST_PACKAGES = ("torch", "torchvision")
MNIST_DIR = ROOT / "service" / "images" / "data" / "mnist"
MNIST_SPLITS = {"t10k": "test", "train": "train"}  # file-name prefix -> split name


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    """Run a command; fail the test with its output if it fails; return its stdout."""
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result.stdout


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
    """The process environment without this test run's Python and layerscope settings.

    PYTHONDONTWRITEBYTECODE=1 as in the image (and so that nothing is written through the
    symlinks into the host's site-packages).
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LAYERSCOPE_", "PYTHON", "VIRTUAL"))
    }
    env.update(LAYERSCOPE_HOST="127.0.0.1", LAYERSCOPE_PORT=str(port), LAYERSCOPE_DEVICE="cpu")
    env.update(LAYERSCOPE_TORCH_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    return env


def dependency_closure(names: Iterable[str]) -> dict[str, metadata.Distribution]:
    """The installed distributions `names` and everything they require, by canonical name.

    Requirements that only an extra of the requiring package asks for are skipped; extras that a
    requirement asks of its dependency (`cuda-toolkit[cublas]`) are followed.
    """
    found: dict[str, metadata.Distribution] = {}
    extras_seen: dict[str, set[str]] = {}
    todo: list[tuple[str, frozenset[str]]] = [(name, frozenset()) for name in names]
    while todo:
        name, extras = todo.pop()
        key = canonical(name)
        if key in found and extras <= extras_seen[key]:
            continue
        dist = found.setdefault(key, metadata.distribution(name))
        extras_seen.setdefault(key, set()).update(extras)
        for line in dist.requires or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in {"", *extras}):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return found


def installed_names(site: Path) -> set[str]:
    """Canonical names of the distributions installed in the folder `site`."""
    return {canonical(d.metadata["Name"]) for d in metadata.distributions(path=[str(site)])}


def link_distributions(dists: Iterable[metadata.Distribution], destination: Path) -> list[Path]:
    """Symlink exactly the files of `dists` (packages, modules, .dist-info) into folders under
    `destination`, one per site-packages they come from; return those folders.

    A top-level entry is linked whole when no other distribution there owns a file in it, else
    (a namespace like `nvidia/` shared with a distribution left out) it is rebuilt one level
    deeper. Scripts outside site-packages (`../../bin/...`) are left out.
    """
    by_root: dict[Path, set[str]] = {}
    for dist in dists:
        by_root.setdefault(Path(str(dist.locate_file(""))), set()).add(
            canonical(dist.metadata["Name"])
        )
    folders = []
    for n, (root, wanted) in enumerate(sorted(by_root.items())):
        owners: dict[tuple[str, ...], set[str]] = {}
        for dist in metadata.distributions(path=[str(root)]):
            assert dist.files is not None, f"{dist.metadata['Name']} has no RECORD"
            for file in dist.files:
                if ".." not in file.parts:
                    owners.setdefault(file.parts, set()).add(canonical(dist.metadata["Name"]))
        folder = destination / str(n)
        folder.mkdir(parents=True)
        _link((), owners, wanted, root, folder)
        folders.append(folder)
    return folders


def _link(
    prefix: tuple[str, ...],
    owners: dict[tuple[str, ...], set[str]],
    wanted: set[str],
    root: Path,
    destination: Path,
) -> None:
    """Link `root/prefix` into `destination`, or rebuild it from its children (see above)."""
    under = {f: o for f, o in owners.items() if f[: len(prefix)] == prefix}
    if prefix and (prefix in owners or set().union(*under.values()) <= wanted):
        destination.joinpath(*prefix).symlink_to(root.joinpath(*prefix))
        return
    if prefix:
        destination.joinpath(*prefix).mkdir()
    children = {f[len(prefix)] for f, o in under.items() if len(f) > len(prefix) and o & wanted}
    for child in sorted(children):
        _link((*prefix, child), under, wanted, root, destination)


def pip_install(python: Path, args: list[str], context: Path, env: dict[str, str]) -> set[str]:
    """`pip install ARGS` with the venv's pip; return the names pip installed (its report)."""
    report = context / "pip-report.json"
    run([str(python), "-m", "pip", "install", "-q", "--report", str(report), *args], context, env)
    return {
        canonical(item["metadata"]["name"]) for item in json.loads(report.read_text())["install"]
    }


def mnist_files(scratch: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The repository's embedded MNIST splits (images, labels), read with torchvision's readers
    (which take plain files: the gzipped ones are unzipped into `scratch` first)."""
    splits = {}
    for prefix, split in MNIST_SPLITS.items():
        paths = [MNIST_DIR / f"{prefix}-{kind}-ubyte.gz" for kind in ("images-idx3", "labels-idx1")]
        if not all(p.is_file() for p in paths):
            continue
        plain = [scratch / p.stem for p in paths]
        for path, target in zip(paths, plain, strict=True):
            with gzip.open(path) as src:
                target.write_bytes(src.read())
        splits[split] = (read_image_file(str(plain[0])), read_label_file(str(plain[1])))
    assert splits, f"no MNIST IDX files in {MNIST_DIR}"
    return splits


def test_installed_console_command_serves(tmp_path: Path) -> None:
    pins = {canonical(r.name): str(r.specifier)[2:] for r in requirement_lines(CONSTRAINTS)}
    for name, module in zip(HOST_PACKAGES, (torch, torchvision), strict=True):
        assert module.__version__.split("+")[0] == pins[name], (
            f"this test reuses the installed {name} {module.__version__}, but constraints.txt "
            f"pins {pins[name]}: pip would download another"
        )
    context = tmp_path / "context"
    context.mkdir()
    copy_build_context(context)
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    port = free_port()
    env = clean_environment(port)

    run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                    tmp_path, env).strip())  # fmt: skip
    # The host's torch closure, less what the fresh venv already holds (pip, setuptools): those
    # stay the venv's own, and pip upgrades them there if the closure asks (setuptools does).
    own = installed_names(site)
    closure = {k: d for k, d in dependency_closure(HOST_PACKAGES).items() if k not in own}
    reused = closure.keys() | {canonical(name) for name in HOST_PACKAGES}
    folders = link_distributions(closure.values(), tmp_path / "host-torch")
    (site / "host-torch.pth").write_text("".join(f"{f}\n" for f in folders))

    for name in REQUIREMENT_FILES:  # the Dockerfile's dependency layer
        args = ["--no-compile", "-r", f"requirements/{name}", "-c", "requirements/constraints.txt"]
        installed = pip_install(python, args, context, env)
        assert not installed & reused, f"pip installed host packages again: {installed & reused}"
    assert not installed_names(site) & reused, "the venv holds no copy of its own"
    pip_install(python, ["--no-deps", "."], context, env)  # the Dockerfile's code layer
    run([str(venv / "bin" / "layerscope"), "--help"], tmp_path, env)
    run([str(python), "-m", "pip", "check"], tmp_path, env)

    imported = json.loads(
        run([str(python), "-c", "import json, service, torch, torchvision; print(json.dumps({"
             "m.__name__: [m.__file__, getattr(m, '__version__', '')] "
             "for m in (service, torch, torchvision)}))"], tmp_path, env)
    )  # fmt: skip
    assert Path(imported["service"][0]).is_relative_to(site), "imports the installed package"
    for module in (torch, torchvision):
        where, version = imported[module.__name__]
        assert Path(where).is_relative_to(tmp_path / "host-torch"), f"{where}: not the host's"
        assert version == module.__version__

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


def serve_and_check(
    server: subprocess.Popen[bytes], port: int, python: Path, env: dict[str, str], log: Path
) -> None:
    """Wait for readiness, then check /v1/info, /v1/mnist and the Dockerfile's health check."""
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
        check_mnist(client, log.parent)
        check_workbench(client)
    pins = {r.name.lower(): str(r.specifier)[2:] for r in requirement_lines(CONSTRAINTS)}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert body["version"] == project["version"]
    assert body["torch"].split("+")[0] == pins["torch"]
    assert body["torchvision"].split("+")[0] == pins["torchvision"]
    assert body["default_device"] == "cpu"
    assert body["limits"]["max_tensor_elements"] == Settings().max_tensor_elements
    assert f"docs at http://127.0.0.1:{port}/docs" in log.read_text()
    assert healthcheck(python, env).returncode == 0


def check_workbench(client: httpx.Client) -> None:
    """The installed package carries the workbench: the page at / and every one of its files
    under /static/, byte for byte as in the repository."""
    static = ROOT / "service" / "web" / "static"
    page = client.get("/")
    assert page.status_code == 200 and page.text == (static / "index.html").read_text()
    files = [p for p in static.rglob("*") if p.is_file()]
    assert len(files) > 5
    for path in files:
        served = client.get(f"/static/{path.relative_to(static).as_posix()}")
        assert served.status_code == 200, path
        assert served.content == path.read_bytes(), path


def check_mnist(client: httpx.Client, scratch: Path) -> None:
    """The installed package carries its MNIST slice: the splits and sizes of the repository's
    IDX files, and their last digit pixel for pixel."""
    response = client.get("/v1/mnist")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "embedded"
    expected = mnist_files(scratch)
    served = {s["name"]: (s["size"], s["image_shape"]) for s in body["splits"]}
    assert served == {
        name: (labels.shape[0], list(images.shape[1:]))
        for name, (images, labels) in expected.items()
    }
    for name, (images, labels) in expected.items():
        last = labels.shape[0] - 1
        png = client.get(f"/v1/mnist/{name}/{last}.png")
        assert png.status_code == 200, png.text
        pixels = np.asarray(Image.open(io.BytesIO(png.content)))
        np.testing.assert_array_equal(pixels, images[last].numpy())


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
