#!/usr/bin/env bash
# Create .venv (if needed) and install sedscape with its test extras; idempotent.
# With SEDSCAPE_BROWSER=1 also installs Debian's chromium for the browser tests (never a downloaded browser).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
fi
.venv/bin/python -m pip install --quiet --progress-bar off -e ".[test]"

if [ "${SEDSCAPE_BROWSER:-0}" = "1" ] && [ ! -x /usr/bin/chromium ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "installing Debian chromium for the browser tests"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
