# shellcheck shell=bash
# Count results from the raw TAP stream of `tap --reporter=tap`.
# A "test" is a test point directly inside a test file (a top-level t.test or
# assertion). A file that failed without any failing test point (crash,
# timeout, bad plan) counts as one failure of its own.
# Prints "PASSED FAILED SKIPPED" on stdout and the failures' names on stderr.

tap_count() {
  node - "$1" <<'JS'
const fs = require('node:fs')
const { Parser } = require('tap-parser')
const counts = { passed: 0, failed: 0, skipped: 0 }
const failures = []
const perFile = new Map()
const p = new Parser()
p.on('child', file => {
  const c = { failed: 0, points: 0 }
  perFile.set(file.name, c)
  file.on('assert', a => {
    c.points++
    if (a.skip || a.todo) counts.skipped++
    else if (a.ok) counts.passed++
    else {
      c.failed++
      counts.failed++
      failures.push(`${file.name} > ${a.name}`)
    }
  })
})
p.on('assert', a => {
  const c = perFile.get(a.name) ?? { failed: 0, points: 0 }
  if (a.skip && c.points === 0) counts.skipped++
  else if (!a.ok && !a.todo && c.failed === 0) {
    counts.failed++
    const why = a.diag?.signal ? ` (signal ${a.diag.signal})` : a.diag?.message ? ` (${a.diag.message})` : ''
    failures.push(`${a.name}${why}`)
  }
})
p.on('bailout', reason => {
  counts.failed++
  failures.push(`bail out: ${reason}`)
})
p.end(fs.readFileSync(process.argv[2]))
for (const f of failures) process.stderr.write(`not ok: ${f}\n`)
process.stdout.write(`${counts.passed} ${counts.failed} ${counts.skipped}\n`)
JS
}
