#!/usr/bin/env bash
# Install what the test suite drives outside Python, when it is missing: Debian's Chromium (the
# docs pages in a real browser, tests/browser/) and Node.js with npm (openapi-typescript and tsc,
# tests/contract/test_typescript.py), then the pinned npm packages of clients/typescript.
# Installs with apt-get need root (CI runs as root); without it, the script says what to install
# and the tests that need it skip, saying so.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "install_test_tools: installing ${missing[*]}" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "install_test_tools: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
    fi
fi

if command -v npm >/dev/null; then
    (cd clients/typescript && npm ci --no-audit --no-fund --silent)
fi
