#!/usr/bin/env bash
# Prints raw, gzip and brotli sizes of the release bundle's wasm, js and css, and
# fails if the brotli total exceeds the budget in scripts/bundle-budget.env.
set -euo pipefail
DIST="${1:?usage: bundle-size.sh DIST_DIR}"
source "$(dirname "${BASH_SOURCE[0]}")/bundle-budget.env"

total_raw=0; total_gz=0; total_br=0
printf '%-44s %10s %10s %10s\n' "asset" "raw B" "gzip B" "brotli B"
while IFS= read -r -d '' f; do
  raw=$(wc -c <"$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  br=$(brotli -q 11 -c "$f" | wc -c)
  printf '%-44s %10d %10d %10d\n' "$(basename "$f")" "$raw" "$gz" "$br"
  total_raw=$((total_raw + raw)); total_gz=$((total_gz + gz)); total_br=$((total_br + br))
done < <(find "$DIST" -maxdepth 1 -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' \) -print0 | sort -z)
printf '%-44s %10d %10d %10d\n' "total" "$total_raw" "$total_gz" "$total_br"

if [ "$total_br" -gt "$BUNDLE_BROTLI_BYTES_MAX" ]; then
  echo "bundle: brotli total $total_br B is over the budget of $BUNDLE_BROTLI_BYTES_MAX B (scripts/bundle-budget.env)" >&2
  exit 1
fi
echo "bundle: brotli total $total_br B is within the budget of $BUNDLE_BROTLI_BYTES_MAX B"
