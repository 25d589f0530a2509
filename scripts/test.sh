#!/usr/bin/env bash
# The whole test suite: installs what it needs, then typecheck, lint, unit and end-to-end tests.
# Every test that starts daemons uses its own loopback addresses and folders and stops what it
# started, so this can run twice in a row.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== typecheck"
npx tsc --noEmit
npx tsc --noEmit -p ui
# The panel's API types must be what the current API generates (scripts/api-types.ts rewrites them).
node --import tsx scripts/api-types.ts --check

echo "== lint"
npx eslint src test bench ui scripts/api-types.ts
# The import structure of src/: no cycles, the base folders import no domain, and workloads use
# each other only through the interfaces listed in .dependency-cruiser.cjs.
npx depcruise src --config .dependency-cruiser.cjs --output-type err

echo "== tests"
mapfile -t files < <(find src test -name '*.test.ts' | sort)
# End-to-end files start whole clusters; one file at a time keeps the 2-core machine responsive.
# The limit is per file: the re-parent and transfer files run two parent/child pairs for 10 to 15 minutes.
node --import tsx --test --test-concurrency=1 --test-timeout=1800000 "${files[@]}"
