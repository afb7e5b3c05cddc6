# shellcheck shell=bash
# Node dependencies: `npm ci` only when node_modules is missing or older than
# the lock file, then prove the native addon loads.

ensure_node_modules() {
  # npm writes node_modules/.package-lock.json on every install: a lock file
  # newer than it means the tree may not match.
  if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    log "npm ci (node_modules missing or older than package-lock.json)"
    npm ci --no-audit --no-fund || die "npm ci failed"
  fi
  if ! node -e "require('better-sqlite3')(':memory:').close()" 2>"$SHOAL_TMP/sqlite.err"; then
    cat "$SHOAL_TMP/sqlite.err" >&2
    die "better-sqlite3 does not load: its native addon was not built. npm 11 runs install scripts only for packages approved under \"allowScripts\" in package.json; rebuild with: npm rebuild better-sqlite3"
  fi
}
