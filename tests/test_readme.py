"""The README opens with the two labelled commands the project promises, CI runs the second one,
and every page or picture the README and docs/ link to is in the repository."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _opening_commands() -> list[tuple[str, str]]:
    """The (label, command) pairs before the first section: a bold label, then a bash block."""
    head = README.split("\n## ", 1)[0]
    return re.findall(r"\*\*([^*]+)\*\*(?:(?!\*\*).)*?```bash\n(.+?)\n```", head, flags=re.S)


def test_the_readme_opens_with_exactly_two_labelled_commands() -> None:
    commands = _opening_commands()
    assert [label for label, _ in commands] == ["Start the service", "Run the tests"]
    assert README.split("\n## ", 1)[0].count("```bash") == 2
    serve = commands[0][1]
    assert "\n" not in serve and serve.endswith(".venv/bin/layerscope serve")
    assert "pip install -q -e ." in serve


def test_ci_runs_the_readmes_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == _opening_commands()[1][1]


def test_every_local_link_and_picture_exists() -> None:
    """In the README and every page under docs/, relative to the page."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    missing = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if not re.match(r"[a-z]+:", target) and not (page.parent / target).exists():
                missing.append(f"{page.relative_to(ROOT)}: {target}")
    assert len(pages) >= 8
    assert missing == []
