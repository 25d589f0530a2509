#!/usr/bin/env bash
# Runs every benchmark in bench/ (each prints its own numbers and ratios; nothing is asserted).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
for bench in bench/*.bench.ts; do
  echo "== $bench"
  node --import tsx "$bench"
done
