#!/usr/bin/env bash
# Prints raw, gzip and brotli sizes of the release bundle's wasm, js and css, and
# fails if the brotli total exceeds the budget in scripts/bundle-budget.env.
# Then, apart, the files the page fetches only when asked (every file in a
# folder of DIST, such as export-templates/ for "Export for a real broker"):
# not in the budget, since a visit that never asks never loads them, but
# printed so their bytes are in plain sight.
set -euo pipefail
DIST="${1:?usage: bundle-size.sh DIST_DIR}"
DIST="${DIST%/}"
source "$(dirname "${BASH_SOURCE[0]}")/bundle-budget.env"

# Prints one row per file of the NUL-separated list on stdin (named by its
# path under DIST) and a row with TITLE and the totals; the brotli total is
# left in $total_br.
size_rows() {
  local title="$1" f raw gz br total_raw=0 total_gz=0
  total_br=0
  while IFS= read -r -d '' f; do
    raw=$(wc -c <"$f")
    gz=$(gzip -9 -c "$f" | wc -c)
    br=$(brotli -q 11 -c "$f" | wc -c)
    printf '%-44s %10d %10d %10d\n' "${f#"$DIST"/}" "$raw" "$gz" "$br"
    total_raw=$((total_raw + raw)); total_gz=$((total_gz + gz)); total_br=$((total_br + br))
  done
  printf '%-44s %10d %10d %10d\n' "$title" "$total_raw" "$total_gz" "$total_br"
}

printf '%-44s %10s %10s %10s\n' "asset" "raw B" "gzip B" "brotli B"
size_rows "total" < <(find "$DIST" -maxdepth 1 -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' \) -print0 | sort -z)
bundle_br=$total_br
echo
printf '%-44s %10s %10s %10s\n' "loaded on demand (not in the budget)" "raw B" "gzip B" "brotli B"
size_rows "loaded on demand: total" < <(find "$DIST" -mindepth 2 -type f -print0 | sort -z)
echo

if [ "$bundle_br" -gt "$BUNDLE_BROTLI_BYTES_MAX" ]; then
  echo "bundle: brotli total $bundle_br B is over the budget of $BUNDLE_BROTLI_BYTES_MAX B (scripts/bundle-budget.env)" >&2
  exit 1
fi
echo "bundle: brotli total $bundle_br B is within the budget of $BUNDLE_BROTLI_BYTES_MAX B"
