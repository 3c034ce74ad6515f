"""Helpers shared by the deployment tests: the repository's files and a Dockerfile reader."""

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements"
# Install order, as in the Dockerfile: torch first (from the PyTorch index), then the rest.
REQUIREMENT_FILES = ("torch.txt", "runtime.txt")
CONSTRAINTS = REQUIREMENTS / "constraints.txt"


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: its keyword (upper case), its arguments, its stage index."""

    keyword: str
    args: str
    stage: int


def dockerfile_instructions(path: Path = ROOT / "Dockerfile") -> list[Instruction]:
    """Read a Dockerfile into instructions, joining `\\` continuation lines, dropping comments."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, re.sub(r"\s+", " ", args.strip()), stage))
    assert not pending, "Dockerfile ends inside a continued line"
    return instructions


def requirement_lines(path: Path) -> list[Requirement]:
    """The requirements of a pip requirements/constraints file (comments and blanks dropped)."""
    out = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            out.append(Requirement(line))
    return out


def project_dependencies() -> list[Requirement]:
    """The [project] dependencies of pyproject.toml."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [Requirement(r) for r in data["project"]["dependencies"]]


def canonical(name: str) -> str:
    """A distribution name normalized as PEP 503 does."""
    return re.sub(r"[-_.]+", "-", name).lower()
