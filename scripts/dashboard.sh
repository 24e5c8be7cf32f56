#!/usr/bin/env bash
# README command (1): install, build the default scored mock sky if needed, and serve the dashboard.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export TF_CPP_MIN_LOG_LEVEL=2
.venv/bin/sedscape prepare-default ${SEDSCAPE_STELLAR:+--stellar}  # SEDSCAPE_STELLAR=1: stellar parameters too (README)
exec .venv/bin/panel serve dashboard --plugins dashboard.downloads --port "${PORT:-5006}" --address "${ADDRESS:-127.0.0.1}" "$@"
