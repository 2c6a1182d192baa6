#!/usr/bin/env bash
# Command 1: serve the playground at http://127.0.0.1:8080/ (installs what is missing first).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
cd "$ROOT"
ensure_web_tools
echo "brokerlab: serving on http://127.0.0.1:8080/ (Ctrl-C stops)"
exec trunk serve --offline --address 127.0.0.1 --port 8080 "$@"
