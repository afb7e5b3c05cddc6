#!/usr/bin/env bash
# Builds the project into a private directory for benchmarks, so that a `npm run build` by
# someone else on the same machine cannot swap modules under a running benchmark:
#   scripts/bench/snapshot.sh /tmp/shoal-snap              # the working tree as it is
#   scripts/bench/snapshot.sh /tmp/shoal-snap --committed  # HEAD only (git archive), plus
#                                                          # agent/runtime/hollow-runtime.ts
#   SHOAL_BENCH_DIST=/tmp/shoal-snap/dist node scripts/bench/agent-idle.mjs
# The snapshot holds dist/ (compiled with tsconfig.build.json), the firmware profiles,
# package.json, a symlink to this checkout's node_modules, and COMMIT / UNCOMMITTED notes.
set -euo pipefail
out=${1:?usage: scripts/bench/snapshot.sh DIR [--committed]}
mode=${2:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$out/dist" "$out/src"
mkdir -p "$out"
out=$(cd "$out" && pwd)
ln -sfn "$root/node_modules" "$out/node_modules"
git -C "$root" rev-parse --short HEAD >"$out/COMMIT"
if [[ $mode == --committed ]]; then
  mkdir -p "$out/src"
  git -C "$root" archive HEAD | tar -x -C "$out/src"
  # The simulated runtime the hollow fleet needs, if HEAD does not have it yet.
  [[ -f $out/src/agent/runtime/hollow-runtime.ts ]] || cp "$root/agent/runtime/hollow-runtime.ts" "$out/src/agent/runtime/"
  ln -sfn "$root/node_modules" "$out/src/node_modules"
  src=$out/src
  echo 0 >"$out/UNCOMMITTED"
else
  src=$root
  git -C "$root" status --porcelain -- agent hub protocol firmware-profiles | wc -l >"$out/UNCOMMITTED"
fi
(cd "$src" && npx tsc -p tsconfig.build.json --outDir "$out/dist")
mkdir -p "$out/dist/firmware-profiles"
cp "$src"/firmware-profiles/*.yaml "$out/dist/firmware-profiles/"
cp "$src/package.json" "$out/package.json"
echo "snapshot of $(cat "$out/COMMIT") (+$(cat "$out/UNCOMMITTED") uncommitted source files) in $out/dist"
