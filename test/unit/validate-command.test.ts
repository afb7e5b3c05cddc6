import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { validateCommand, type ValidationReport } from '../../cli/commands/validate.js'
import { CliError, ExitCode, type CliIo } from '../../cli/io.js'
import { runCli } from '../../cli/program.js'
import { tempDir } from '../support/tmp.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const fixtures = path.join(root, 'test/fixtures/manifests')
const valid = (name: string): string => path.join(fixtures, 'valid', name)
const invalid = (name: string): string => path.join(fixtures, 'invalid', name)

interface Captured {
  readonly code: number
  readonly out: string
  readonly err: string
}

async function shoal(...argv: string[]): Promise<Captured> {
  let out = ''
  let err = ''
  const io: CliIo = { out: (text) => void (out += text), err: (text) => void (err += text) }
  const code = await runCli(argv, io)
  return { code, out, err }
}

t.test('exit 0 and one line per file when every manifest is valid', async (t) => {
  const result = await shoal('validate', valid('multi.yaml'), valid('minimal.json'))
  t.equal(result.code, ExitCode.ok)
  t.equal(
    result.out,
    `${valid('multi.yaml')}: 3 manifests valid (Deployment web, Deployment api, Deployment worker)\n${valid('minimal.json')}: 1 manifest valid (Deployment json-minimal)\n`,
  )
  t.equal(result.err, '')
})

t.test('every valid fixture validates in one run', async (t) => {
  const files = readdirSync(path.join(fixtures, 'valid'))
    .filter((name) => name !== 'expected.json')
    .map(valid)
  const result = await shoal('validate', ...files)
  t.equal(result.code, ExitCode.ok, result.out + result.err)
  t.equal(result.out.trim().split('\n').length, files.length)
})

t.test('exit 1, and each problem located as file:line:column with document, field path and message', async (t) => {
  const cases: [string, string][] = [
    ['typo-replcas.yaml', ':6:3: document 0: spec.replcas: unknown field "replcas"'],
    ['replicas-string.yaml', ':6:13: document 0: spec.replicas: Invalid input: expected number, received string'],
    [
      'selector-unknown-operator.yaml',
      ':9:19: document 0: spec.selector.matchExpressions[0].operator: must be one of "In", "NotIn", "Exists" or "DoesNotExist", not "Like"',
    ],
    ['memory-negative.yaml', ':10:15: document 0: spec.template.resources.memory: must be a non-negative memory quantity'],
    ['memory-negative.json', ':9:19: document 0: spec.template.resources.memory: Too small'],
    ['multi-second-invalid.yaml', ':17:20: document 1: spec.template.restartPolicy:'],
    ['yaml-syntax-error.yaml', ':9:5: document 0: Flow sequence in block collection'],
  ]
  for (const [name, located] of cases) {
    const result = await shoal('validate', invalid(name))
    t.equal(result.code, ExitCode.failed, name)
    t.match(result.out, `${invalid(name)}${located}`, name)
    t.match(result.err, /^error: 1 problem in 1 of 1 file\n$/, `${name}: a one-line summary on stderr`)
  }
})

t.test('a file with several problems lists them all, in order', async (t) => {
  const result = await shoal('validate', invalid('multi-several-errors.yaml'))
  t.equal(result.code, ExitCode.failed)
  const lines = result.out.trim().split('\n')
  t.same(
    lines.map((line) => line.slice(invalid('multi-several-errors.yaml').length)),
    [
      ':4:9: document 0: metadata.name: must be lower-case letters, digits and "-", starting and ending with a letter or digit (max 63)',
      ':6:3: document 0: spec.replcas: unknown field "replcas"',
      ':25:26: document 2: spec.template.resources.memory: must be a non-negative memory quantity such as 128Mi, 1Gi, 500M or a byte count',
    ],
  )
  t.equal(result.err, 'error: 3 problems in 1 of 1 file\n')
})

t.test('valid files are still reported when another file fails', async (t) => {
  const result = await shoal('validate', valid('minimal.yaml'), invalid('typo-replcas.yaml'))
  t.equal(result.code, ExitCode.failed)
  t.match(result.out, `${valid('minimal.yaml')}: 1 manifest valid (Deployment hello)`)
  t.match(result.out, 'spec.replcas')
  t.equal(result.err, 'error: 1 problem in 1 of 2 files\n')
})

t.test('an unreadable file is one clear line and exit 1, and the other files are still checked', async (t) => {
  const missing = path.join(fixtures, 'no-such-file.yaml')
  const result = await shoal('validate', missing, valid('minimal.yaml'))
  t.equal(result.code, ExitCode.failed)
  t.match(result.out, `${missing}: cannot read: no such file\n`)
  t.match(result.out, 'Deployment hello')

  const directory = await shoal('validate', path.join(fixtures, 'valid'))
  t.equal(directory.code, ExitCode.failed)
  t.match(directory.out, /cannot read: it is a directory/)
})

t.test('an empty file is a problem: there is nothing to apply', async (t) => {
  const dir = tempDir(t)
  const empty = path.join(dir, 'empty.yaml')
  writeFileSync(empty, '# nothing yet\n')
  const result = await shoal('validate', empty)
  t.equal(result.code, ExitCode.failed)
  t.match(result.out, `${empty}: no manifests found`)
})

t.test('the same kind and name twice, in one file or across files, is a problem', async (t) => {
  const a = path.join(fixtures, 'duplicates/web-a.yaml')
  const b = path.join(fixtures, 'duplicates/web-b.yaml')
  const across = await shoal('validate', a, b)
  t.equal(across.code, ExitCode.failed)
  t.match(across.out, `${a}: 1 manifest valid (Deployment web)`)
  t.match(across.out, `${b}:5:9: document 0: metadata.name: Deployment "web" is already defined in ${a} (document 0)`)

  const within = await shoal('validate', path.join(fixtures, 'duplicates/in-one-file.yaml'))
  t.equal(within.code, ExitCode.failed)
  t.match(within.out, ':12:9: document 1: metadata.name: Deployment "web" is already defined in document 0')
})

t.test('usage mistakes exit 2', async (t) => {
  const none = await shoal('validate')
  t.equal(none.code, ExitCode.usage)
  t.match(none.err, /missing required argument 'files'/)
  t.equal(none.out, '')

  const format = await shoal('validate', '-o', 'xml', valid('minimal.yaml'))
  t.equal(format.code, ExitCode.usage)
  t.match(format.err, /Allowed choices are text, json/)

  const twice = await shoal('validate', '-', '-')
  t.equal(twice.code, ExitCode.usage)
  t.match(twice.err, /standard input \(-\) can be given only once/)
})

t.test('-o json prints a stable report that parses back', async (t) => {
  const result = await shoal('validate', '-o', 'json', valid('multi.yaml'), invalid('typo-replcas.yaml'), path.join(fixtures, 'missing.yaml'))
  t.equal(result.code, ExitCode.failed)
  const report = JSON.parse(result.out) as ValidationReport
  t.same(report, {
    valid: false,
    files: [
      {
        file: valid('multi.yaml'),
        valid: true,
        manifests: [
          { documentIndex: 0, kind: 'Deployment', name: 'web' },
          { documentIndex: 1, kind: 'Deployment', name: 'api' },
          { documentIndex: 2, kind: 'Deployment', name: 'worker' },
        ],
        errorCount: 0,
      },
      { file: invalid('typo-replcas.yaml'), valid: false, manifests: [], errorCount: 1 },
      { file: path.join(fixtures, 'missing.yaml'), valid: false, manifests: [], errorCount: 1 },
    ],
    errors: [
      { file: invalid('typo-replcas.yaml'), documentIndex: 0, path: 'spec.replcas', line: 6, column: 3, message: 'unknown field "replcas"' },
      { file: path.join(fixtures, 'missing.yaml'), documentIndex: null, path: '', line: null, column: null, message: 'cannot read: no such file' },
    ],
  })
  t.same(Object.keys(report), ['valid', 'files', 'errors'], 'keys in a fixed order')

  const ok = await shoal('validate', '--output', 'json', valid('minimal.yaml'))
  t.equal(ok.code, ExitCode.ok)
  t.same(JSON.parse(ok.out), {
    valid: true,
    files: [{ file: valid('minimal.yaml'), valid: true, manifests: [{ documentIndex: 0, kind: 'Deployment', name: 'hello' }], errorCount: 0 }],
    errors: [],
  })
  t.equal(ok.err, '')
})

t.test('- reads manifests from standard input', async (t) => {
  const io: CliIo = { out: () => {}, err: () => {} }
  let out = ''
  const capture: CliIo = { out: (text) => void (out += text), err: io.err }
  const text = readFileSync(invalid('typo-replcas.yaml'), 'utf8')
  const command = validateCommand(capture, { readStdin: async () => text }).exitOverride()
  await t.rejects(command.parseAsync(['-'], { from: 'user' }), new CliError('1 problem in 1 of 1 file', ExitCode.failed))
  t.match(out, '<stdin>:6:3: document 0: spec.replcas: unknown field "replcas"')

  out = ''
  const fine = validateCommand(capture, { readStdin: async () => readFileSync(valid('multi.yaml'), 'utf8') }).exitOverride()
  await fine.parseAsync(['-'], { from: 'user' })
  t.equal(out, '<stdin>: 3 manifests valid (Deployment web, Deployment api, Deployment worker)\n')
})

t.test('runs leave process.exitCode as they found it', async (t) => {
  const before = process.exitCode
  await shoal('validate', invalid('typo-replcas.yaml'))
  t.equal(process.exitCode, before)
  await shoal('validate')
  t.equal(process.exitCode, before)
  const after = await shoal('validate', valid('minimal.yaml'))
  t.equal(after.code, ExitCode.ok, 'a failed run does not make the next one fail')
})

t.test('help and version', async (t) => {
  const help = await shoal('validate', '--help')
  t.equal(help.code, ExitCode.ok)
  t.match(help.out, 'Usage: shoal validate [options] <files...>')
  t.match(help.out, 'Examples:')
  t.match(help.out, '$ shoal validate')

  const top = await shoal('--help')
  t.equal(top.code, ExitCode.ok)
  t.match(top.out, /validate \[options\] <files\.\.\.>/)
  t.match(top.out, /schema \[name\]/)

  const version = await shoal('--version')
  t.equal(version.code, ExitCode.ok)
  t.equal(version.out.trim(), (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version)

  const bare = await shoal()
  t.equal(bare.code, ExitCode.usage, 'no command at all is a usage error, with the help on stderr')
  t.match(bare.err, 'Usage: shoal')
})

// scripts/test runs `npm run build` before tap; a bare `npx tap` may not have built yet.
const main = path.join(root, 'dist/cli/main.js')
const notBuilt = existsSync(main) ? false : 'dist/cli/main.js is missing: run `npm run build` (scripts/test does)'

t.test('the built binary', { skip: notBuilt }, async (t) => {
  const run = (args: string[], input?: string) => spawnSync(process.execPath, [main, ...args], { cwd: root, encoding: 'utf8', input, timeout: 30_000 })

  const version = run(['--version'])
  t.equal(version.status, 0, version.stderr)
  t.match(version.stdout, /^\d+\.\d+\.\d+/)

  const help = run(['--help'])
  t.equal(help.status, 0, help.stderr)
  t.match(help.stdout, 'validate')

  const validateHelp = run(['validate', '--help'])
  t.equal(validateHelp.status, 0, validateHelp.stderr)
  t.match(validateHelp.stdout, 'Examples:')

  const ok = run(['validate', valid('full.yaml')])
  t.equal(ok.status, 0, ok.stderr)
  t.match(ok.stdout, 'Deployment ticker-ingest')

  const bad = run(['validate', invalid('typo-replcas.yaml')])
  t.equal(bad.status, 1)
  t.match(bad.stdout, ':6:3: document 0: spec.replcas: unknown field "replcas"')
  t.match(bad.stderr, 'error: 1 problem in 1 of 1 file')

  const usage = run(['validate'])
  t.equal(usage.status, 2)

  const stdin = run(['validate', '-o', 'json', '-'], readFileSync(invalid('memory-negative.yaml'), 'utf8'))
  t.equal(stdin.status, 1, stdin.stderr)
  const report = JSON.parse(stdin.stdout) as ValidationReport
  t.same(
    report.errors.map((error) => [error.file, error.path, error.line]),
    [['<stdin>', 'spec.template.resources.memory', 10]],
  )
})
