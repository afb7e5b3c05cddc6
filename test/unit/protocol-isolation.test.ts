import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'

// protocol/ is the wire contract shared by hub and agent: pure functions and schemas only. It must
// not reach into either side, nor do I/O of its own (ARCHITECTURE.md, "Top-level layout").

const protocolDir = fileURLToPath(new URL('../../protocol/', import.meta.url))

/** Packages protocol/ may use. Adding one is a deliberate change to the shared contract. */
// node:zlib: the desired-document codec (desired-compression.ts), CPU only, no I/O.
const ALLOWED_PACKAGES = new Set(['zod', 'yaml', 'node:crypto', 'node:zlib'])

/** Node modules that do I/O; named so a failure says exactly what was imported. */
const IO_MODULES = [
  'fs',
  'fs/promises',
  'net',
  'http',
  'https',
  'http2',
  'child_process',
  'dgram',
  'dns',
  'dns/promises',
  'tls',
  'cluster',
  'worker_threads',
  'readline',
  'os',
  'process',
  'inspector',
  'vm',
]

/** Globals that reach the outside world (or the process) without an import. */
const IO_GLOBALS = new Set(['process', 'fetch', 'require', 'WebSocket', 'XMLHttpRequest', 'setTimeout', 'setInterval', 'setImmediate'])

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return entry.name.endsWith('.ts') ? [full] : []
  })
}

/** Every module specifier: static imports and re-exports (type-only too), import(), require(). */
function specifiersOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  return info.importedFiles.map((imported) => imported.fileName)
}

/** Free references to the I/O globals (not property names such as `options.process`). */
function ioGlobalsOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true)
  const found: string[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && IO_GLOBALS.has(node.text)) {
      const parent = node.parent
      const isPropertyName =
        (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
        (ts.isPropertyAssignment(parent) && parent.name === node) ||
        (ts.isPropertySignature(parent) && parent.name === node) ||
        (ts.isPropertyDeclaration(parent) && parent.name === node) ||
        (ts.isMethodDeclaration(parent) && parent.name === node)
      if (!isPropertyName) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart())
        found.push(`${node.text} (line ${line + 1})`)
      }
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

const files = sourceFiles(protocolDir)

t.test('the scan sees the protocol sources and their imports', async (t) => {
  t.ok(files.length >= 10, `${files.length} files`)
  t.ok(
    files.some((file) => specifiersOf(file).includes('zod')),
    'finds zod imports',
  )
  t.ok(
    files.some((file) => specifiersOf(file).includes('node:crypto')),
    'finds the node:crypto import of signing.ts',
  )
  // The scanner itself must see through every import form, or the checks below prove nothing.
  const probe = ts.preProcessFile(
    "import type { A } from '../hub/a.js'\nexport * from '../agent/b.js'\nconst c = await import('node:fs')\nimport {\n  d,\n} from 'node:net'\n",
    true,
    true,
  )
  t.same(
    probe.importedFiles.map((imported) => imported.fileName),
    ['../hub/a.js', '../agent/b.js', 'node:fs', 'node:net'],
  )
})

t.test('protocol/ imports nothing outside protocol/ except the allowed packages', async (t) => {
  for (const file of files) {
    const name = path.relative(protocolDir, file)
    for (const specifier of specifiersOf(file)) {
      if (specifier.startsWith('.')) {
        const target = path.resolve(path.dirname(file), specifier)
        t.ok(target.startsWith(protocolDir), `${name} imports ${specifier}, which stays inside protocol/`)
      } else {
        t.ok(ALLOWED_PACKAGES.has(specifier), `${name} imports ${specifier}, an allowed package`)
      }
    }
  }
})

t.test('protocol/ imports nothing from agent/ or hub/', async (t) => {
  for (const file of files) {
    for (const specifier of specifiersOf(file)) {
      t.notMatch(specifier, /(^|\/)(agent|hub)(\/|$)/, `${path.relative(protocolDir, file)}: ${specifier}`)
    }
  }
})

t.test('protocol/ imports no I/O module, with or without the node: prefix', async (t) => {
  const forbidden = new Set(IO_MODULES.flatMap((name) => [name, `node:${name}`]))
  for (const file of files) {
    const bad = specifiersOf(file).filter((specifier) => forbidden.has(specifier))
    t.same(bad, [], path.relative(protocolDir, file))
  }
})

t.test('protocol/ uses no I/O globals (process, fetch, require, timers)', async (t) => {
  for (const file of files) t.same(ioGlobalsOf(file), [], path.relative(protocolDir, file))
})
