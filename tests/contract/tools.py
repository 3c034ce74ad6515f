"""The tools outside Python that the contract tests drive: Node.js with npm (openapi-typescript
and tsc, from clients/typescript/package-lock.json) and Debian's Chromium (Playwright).

scripts/install_test_tools.sh installs whichever is missing (the README's test command runs it
first); without it, these tests say what is missing and how to get it, and skip.
"""

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "typescript"
INSTALL = "bash scripts/install_test_tools.sh"
CHROMIUM = Path("/usr/bin/chromium")


def npm_ready() -> str | None:
    """None when node, npm and clients/typescript's packages are there (installing the
    packages with `npm ci` if they are not); else why not."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return f"Node.js and npm are not installed; run `{INSTALL}`"
    lock = CLIENT / "node_modules" / ".package-lock.json"
    if not lock.exists() or lock.stat().st_mtime < (CLIENT / "package-lock.json").stat().st_mtime:
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=CLIENT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            return f"`npm ci` in clients/typescript failed: {done.stderr[-2000:]}"
    return None


def chromium_ready() -> str | None:
    """None when Debian's Chromium is installed; else why not."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (Debian's chromium package); run `{INSTALL}`"
    return None
