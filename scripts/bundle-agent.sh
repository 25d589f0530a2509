#!/usr/bin/env bash
# Bundles the node agent into one .mjs (default dist/fleetpanel-agent.mjs) that runs with a bare
# Node binary, outside this repository. The parent's SSH installer builds the same bundle itself.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx src/nodes/agent-bundle.ts "${1:-dist/fleetpanel-agent.mjs}"
