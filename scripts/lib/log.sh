# shellcheck shell=bash
# Logging helpers shared by scripts/test and its libraries.
# Messages go to stderr so that stdout stays the test runner's output.

log() { printf '[shoal-test %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[shoal-test] ERROR: %s\n' "$*" >&2; exit 1; }

# Seconds since the script started, for timing the infrastructure start-up.
elapsed() { echo "$((SECONDS))s"; }
