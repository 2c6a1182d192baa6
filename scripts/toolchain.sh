#!/usr/bin/env bash
# Installs, idempotently, every tool the two project commands need.
#
# Sourced by scripts/serve.sh and scripts/test.sh. Each `ensure_*` function first
# checks whether the right version is already there and returns at once if so,
# so a second run installs nothing. Each prints how long it took, which is how the
# install timings in the issue notes were measured.
#
# Pins (why each one):
# - wasm-bindgen-cli must equal the `wasm-bindgen` version in Cargo.lock, or the
#   generated JS glue and the wasm disagree. Cargo.toml pins the crate with `=`.
# - trunk 0.21.14: trunk 0.22 needs rustc 1.96 and we are on 1.95.
# - binaryen 132 from npm: Debian's wasm-opt 108 cannot parse current Rust wasm.
#   It lives in .tools/ (git-ignored) and Trunk.toml says `wasm_opt = "version_132"`.
# - playwright-core 1.65.1 from npm, into .tools/ too: the kill loop
#   (scripts/kill-loop.mjs) drives Debian's Chromium over CDP with it. Only the
#   core library: it never downloads a browser of its own.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
TRUNK_VERSION="0.21.14"
BINARYEN_VERSION="132"
PLAYWRIGHT_VERSION="1.65.1"
export PATH="$TOOLS/node_modules/.bin:$HOME/.cargo/bin:$PATH"

# Prints "step: N s" after running the given command.
timed() {
  local name="$1"; shift
  local t0=$SECONDS
  "$@"
  echo "toolchain: $name took $((SECONDS - t0)) s"
}

# The wasm-bindgen version Cargo.lock resolved; the CLI must match it exactly.
locked_wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' "$ROOT/Cargo.lock"
}

ensure_wasm_target() {
  if rustup target list --installed | grep -qx wasm32-unknown-unknown; then return; fi
  timed "rustup target add wasm32-unknown-unknown" rustup target add wasm32-unknown-unknown
}

ensure_wasm_bindgen() {
  local want
  [ -f "$ROOT/Cargo.lock" ] || (cd "$ROOT" && cargo generate-lockfile)
  want="$(locked_wasm_bindgen_version)"
  [ -n "$want" ] || { echo "toolchain: no wasm-bindgen in Cargo.lock" >&2; exit 1; }
  if command -v wasm-bindgen-test-runner >/dev/null &&
     [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" = "$want" ]; then return; fi
  # Not --locked: its lockfile pins a webpki-roots that no longer builds.
  timed "cargo install wasm-bindgen-cli $want" cargo install --quiet wasm-bindgen-cli --version "=$want" --force
}

ensure_trunk() {
  if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" = "$TRUNK_VERSION" ]; then return; fi
  timed "cargo install trunk $TRUNK_VERSION" cargo install --quiet trunk --version "=$TRUNK_VERSION" --locked --force
}

ensure_binaryen() {
  if "$TOOLS/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then return; fi
  mkdir -p "$TOOLS"
  timed "npm install binaryen@$BINARYEN_VERSION" \
    npm install --prefix "$TOOLS" --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION"
}

ensure_playwright() {
  local have
  have="$(node -p "require('$TOOLS/node_modules/playwright-core/package.json').version" 2>/dev/null || true)"
  [ "$have" = "$PLAYWRIGHT_VERSION" ] && return
  mkdir -p "$TOOLS"
  timed "npm install playwright-core@$PLAYWRIGHT_VERSION" \
    npm install --prefix "$TOOLS" --no-audit --no-fund --silent "playwright-core@$PLAYWRIGHT_VERSION"
}

# Debian packages: chromium + its driver for browser tests, brotli for the size report.
ensure_apt() {
  local missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  command -v brotli >/dev/null || missing+=(brotli)
  [ ${#missing[@]} -eq 0 ] && return
  export DEBIAN_FRONTEND=noninteractive
  timed "apt-get update" apt-get update -qq
  timed "apt-get install ${missing[*]}" apt_install_quiet "${missing[@]}"
}

apt_install_quiet() {
  apt-get install -y -qq "$@" >/dev/null
}

ensure_web_tools() {
  ensure_wasm_target
  ensure_wasm_bindgen
  ensure_binaryen
  ensure_playwright
  ensure_trunk
}

# rustfmt and clippy ship with the usual rustup profile; add them if a minimal one lacks them.
ensure_rust_components() {
  local want=()
  cargo fmt --version >/dev/null 2>&1 || want+=(rustfmt)
  cargo clippy --version >/dev/null 2>&1 || want+=(clippy)
  [ ${#want[@]} -eq 0 ] && return
  timed "rustup component add ${want[*]}" rustup component add "${want[@]}"
}
