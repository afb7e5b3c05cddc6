import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'

// The walls of the house (docs/architecture.md): each part imports only the parts below it.
// hub/ and agent/ share protocol/ and common/ and never reach into each other; only the CLI,
// which carries both sides' verbs, may import both. protocol-isolation.test.ts guards the
// floor (no I/O in protocol/); this file guards the arrows between the parts.

const root = fileURLToPath(new URL('../../', import.meta.url))

/** For each part (a folder from the root), the parts it may import from, itself included. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  protocol: ['protocol'],
  common: ['common', 'protocol'],
  'firmware-profiles': ['firmware-profiles', 'protocol'],
  agent: ['agent', 'common', 'protocol', 'firmware-profiles'],
  hub: ['hub', 'common', 'protocol', 'firmware-profiles'],
  // The browser app talks to the hub only over the API contract.
  'hub/console': ['hub/console', 'hub/api/contract', 'protocol'],
  cli: ['cli', 'agent', 'hub', 'common', 'protocol', 'firmware-profiles'],
}

/** The most specific part a path lies in (hub/console before hub). */
function partOf(relative: string): string | null {
  const parts = Object.keys(ALLOWED).sort((a, b) => b.length - a.length)
  return parts.find((part) => relative === part || relative.startsWith(`${part}/`)) ?? null
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' ? [] : sourceFiles(full)
    return /\.tsx?$/.test(entry.name) ? [full] : []
  })
}

/** Relative imports of a file, resolved to paths from the root. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  return info.importedFiles
    .map((imported) => imported.fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => path.relative(root, path.resolve(path.dirname(file), specifier)))
}

const files = Object.keys(ALLOWED).flatMap((part) => sourceFiles(path.join(root, part)))
const uniqueFiles = [...new Set(files)]

t.test('the scan sees every part and their imports', async (t) => {
  for (const part of Object.keys(ALLOWED)) {
    t.ok(
      uniqueFiles.some((file) => partOf(path.relative(root, file)) === part),
      `finds files in ${part}/`,
    )
  }
  t.ok(
    uniqueFiles.some((file) => importsOf(file).some((target) => target.startsWith('protocol/'))),
    'finds imports of protocol/',
  )
})

t.test('every import points down, never across the hub/agent wall', async (t) => {
  const violations: string[] = []
  for (const file of uniqueFiles) {
    const from = partOf(path.relative(root, file))
    if (!from) continue
    for (const target of importsOf(file)) {
      const to = partOf(target)
      if (to === null) {
        violations.push(`${path.relative(root, file)} imports ${target}, outside every part`)
      } else if (!(ALLOWED[from] ?? []).some((allowed) => to === allowed || to.startsWith(`${allowed}/`))) {
        violations.push(`${path.relative(root, file)} (${from}) imports ${target} (${to})`)
      }
    }
  }
  t.same(violations, [], 'no import breaks a wall')
})

t.test('the check itself flags a hub file that imports the agent', async (t) => {
  const from = partOf('hub/fleet/fleet-controller.ts')
  const to = partOf('agent/clock.js')
  t.equal(from, 'hub')
  t.equal(to, 'agent')
  t.notOk((ALLOWED.hub ?? []).includes('agent'))
  t.equal(partOf('hub/console/src/app.tsx'), 'hub/console', 'the console is its own part, not the hub')
})
