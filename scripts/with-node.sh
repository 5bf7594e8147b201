#!/usr/bin/env bash
# Runs `npm <args>` under Node >= 22.13, installing the project first when needed.
#   bash scripts/with-node.sh start   # set up, then run the main job
#   bash scripts/with-node.sh test    # set up, then run the tests
# If the machine's Node is older (Hardhat 3 refuses Node 20), Node 24 comes from the npm
# registry into .tools/node (no other download). A machine with Node >= 22.13 uses its own.
set -euo pipefail
cd "$(dirname "$0")/.."

node_is_recent() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=13)?0:1)'
}

if ! node_is_recent; then
  tools="$PWD/.tools/node"
  if [ ! -x "$tools/node_modules/.bin/node" ]; then
    echo "Node $(node --version 2>/dev/null || echo 'is missing') is older than 22.13: installing Node 24 into .tools/node" >&2
    npm install --prefix "$tools" --no-save --no-audit --no-fund node@24 >&2
  fi
  export PATH="$tools/node_modules/.bin:$PATH"
  node_is_recent || { echo "Could not provide Node >= 22.13; install Node 24 and retry." >&2; exit 1; }
fi

# Install (or reinstall) when node_modules is missing or older than the lockfile.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi

exec npm "$@"
