#!/usr/bin/env bash
# README command (2): install everything (Python packages and Debian chromium) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
SEDSCAPE_BROWSER=1 bash scripts/install.sh
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONHASHSEED=0
.venv/bin/ruff check core dashboard tests benchmarks
.venv/bin/python -m pytest -n 2 --dist loadgroup -q "$@"
