import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadStaticWorkloads } from '../../agent/static-workloads.js'
import { MAX_BYTES, MAX_NESTING_DEPTH, decodeJson, decodeMessage } from '../../protocol/codec.js'
import { ProtocolError } from '../../protocol/errors.js'
import { jsonDepthExceeded } from '../../protocol/input-bounds.js'
import { yamlDepthExceeded } from '../../protocol/yaml-bounds.js'
import { parseManifests } from '../../protocol/manifest-parse.js'
import { Heartbeat } from '../../protocol/status.js'
import { tempDir } from '../support/tmp.js'

// Nesting depth is bounded on the text, before any parser sees it: a parser recurses once per
// level, so a megabyte of `[[[[` would block the event loop for seconds and cost hundreds of MB.

const MEGABYTE = 1024 * 1024

/** The depth the scanner sees: the smallest limit the text does not exceed. */
function yamlDepth(text: string): number {
  let limit = 0
  while (yamlDepthExceeded(text, limit)) limit++
  return limit
}

function jsonDepth(text: string): number {
  let limit = 0
  while (jsonDepthExceeded(text, limit)) limit++
  return limit
}

/** `depth` nested JSON arrays around one value. */
const nestedArrays = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`
/** `depth` nested block mappings, one key per line, each indented by one more space. */
const nestedBlockMaps = (depth: number): string => Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' leaf\n'

t.test('the limit is 64 levels', async (t) => {
  t.equal(MAX_NESTING_DEPTH, 64)
})

t.test('JSON: counts brackets and braces outside strings, escapes included', async (t) => {
  t.equal(jsonDepth('{"a": [1, {"b": [2]}]}'), 4)
  t.equal(jsonDepth('{"a": "[[[[{{{{", "b": "\\"[[[[", "c": "\\\\"}'), 1, 'brackets in strings, an escaped quote and an escaped backslash')
  t.equal(jsonDepth('[1, 2] [3] {"a": 1}'), 1, 'closed levels do not add up')
  t.equal(jsonDepth('"just a string"'), 0)
  t.equal(jsonDepth(']]]}}[['), 2, 'stray closers do not go below zero')
})

t.test('JSON: exactly at the limit passes, one over is refused with its line and column', async (t) => {
  t.equal(jsonDepthExceeded(nestedArrays(64)), null)
  t.match(jsonDepthExceeded(nestedArrays(65)), { limit: 64, line: 1, column: 65, offset: 64 })
  t.match(jsonDepthExceeded(`{\n  "a":\n    ${nestedArrays(65)}\n}`), { line: 3, column: 68 }, 'the 65th level is the 64th bracket on line 3')
})

t.test('YAML: what the scanner counts is what the parser builds', async (t) => {
  const cases: [string, number][] = [
    ['a: 1\nb: two\n', 1],
    ['a:\n  b:\n    c: 1\n', 3],
    ['a:\n- x\n- y\nb:\n- z\n', 2],
    ['a:\n  - x\n  - y\n', 2],
    ['- a: 1\n  b: 2\n- c: 3\n', 2],
    ['- - - x\n', 3],
    ['? a\n: - x\n', 2],
    ['spec:\n  template:\n    env:\n      - name: x\n        value: y\n', 5],
    ['a: [1, [2, {b: c}]]\n', 4],
    ['a: [\n  1,\n  [2]\n]\nb: {c: d}\n', 3],
    ['{"a": [1, {"b": [2]}]}', 4],
    ['a: &x {b: [1]}\nc: *x\n', 3],
    ['a: !!map\n  b: 1\n', 2],
  ]
  for (const [text, depth] of cases) t.equal(yamlDepth(text), depth, JSON.stringify(text))
})

t.test('YAML: brackets in quoted and plain scalars, comments and block scalars do not count', async (t) => {
  t.equal(yamlDepth('a: "[[[[{{{{"\nb: \'[[[\'\'{{\'\nc: "\\"[[["\n'), 1, 'double- and single-quoted, with escapes')
  t.equal(yamlDepth('a: x[0][1]{2}\nb: http://h/[::1]\n'), 1, 'plain scalars')
  t.equal(yamlDepth('# [[[[[[[[\na: 1 # {{{{{{{{\n'), 1, 'comments')
  t.equal(yamlDepth(`a:\n  script: |\n    if [ -f x ]; then [[[[[[\n    ${'['.repeat(100)}\n  b: 1\n`), 2, 'a block scalar')
  t.equal(yamlDepth(`a: "${'['.repeat(200)}\n  ${'{'.repeat(200)}"\n`), 1, 'a quoted scalar over two lines')
})

t.test('YAML: exactly at the limit passes, one over is refused with its line and column', async (t) => {
  t.equal(yamlDepthExceeded(nestedArrays(64)), null, 'flow, 64')
  t.match(yamlDepthExceeded(nestedArrays(65)), { limit: 64, line: 1, column: 65 }, 'flow, 65')
  t.equal(yamlDepthExceeded(nestedBlockMaps(64)), null, 'block mappings, 64')
  t.match(yamlDepthExceeded(nestedBlockMaps(65)), { line: 65, column: 65 }, 'block mappings, 65: at the key of the 65th')
  t.equal(yamlDepthExceeded(`${'- '.repeat(64)}x\n`), null, 'compact sequences, 64')
  t.match(yamlDepthExceeded(`${'- '.repeat(65)}x\n`), { line: 1, column: 129 }, 'compact sequences, 65')
  t.equal(yamlDepthExceeded(`a:\n  b: ${nestedArrays(62)}\n`), null, 'block and flow add up: 2 + 62')
  t.match(yamlDepthExceeded(`a:\n  b: ${nestedArrays(63)}\n`), { line: 2, column: '  b: '.length + 63 }, 'block and flow add up: 2 + 63')
})

t.test('YAML: block scalars between levels do not hide them', async (t) => {
  const levels = Array.from({ length: 70 }, (_, i) => `${' '.repeat(i)}k${i}:\n${' '.repeat(i + 1)}text: |\n${' '.repeat(i + 3)}[[[ ]]]`)
  t.match(yamlDepthExceeded(levels.join('\n')), { limit: 64 })
})

t.test('YAML: the document index of a deep document in a multi-document file', async (t) => {
  t.match(yamlDepthExceeded(`a: 1\n---\nb: 2\n---\nc: ${nestedArrays(65)}\n`), { documentIndex: 2, line: 5 })
  t.match(yamlDepthExceeded(`---\na: 1\n...\n---\n${nestedArrays(65)}\n`), { documentIndex: 1 })
})

t.test('a megabyte of nesting is refused at the 65th level, whatever it is made of', async (t) => {
  const attacks: [string, string][] = [
    ['brackets', '['.repeat(MEGABYTE)],
    ['braces with keys', '{"a":'.repeat(MEGABYTE / 5)],
    ['compact sequences', '- '.repeat(MEGABYTE / 2)],
    ['explicit keys', '? '.repeat(MEGABYTE / 2)],
  ]
  for (const [what, text] of attacks) {
    const started = performance.now()
    const found = yamlDepthExceeded(text)
    t.comment(`${what}: refused in ${(performance.now() - started).toFixed(1)} ms`)
    t.match(found, { limit: 64, line: 1 }, what)
  }
})

t.test('parseManifests refuses deep text before parsing it, with the limit and the place', async (t) => {
  const started = performance.now()
  const result = parseManifests('['.repeat(MEGABYTE), 'deep.yaml')
  t.comment(`1 MiB of [ refused in ${(performance.now() - started).toFixed(1)} ms`)
  t.same(result.manifests, [])
  t.match(result.errors, [{ file: 'deep.yaml', documentIndex: 0, path: '', line: 1, column: 65, message: /nesting deeper than 64 levels/ }])
  t.equal(result.errors.length, 1)
})

t.test('parseManifests refuses text over the manifest size limit', async (t) => {
  const result = parseManifests(`# ${'x'.repeat(MAX_BYTES.manifest)}\n`, 'big.yaml')
  t.match(result.errors, [{ file: 'big.yaml', message: /over the 1048576-byte limit/ }])
  const multibyte = parseManifests(`# ${'é'.repeat(MAX_BYTES.manifest / 2)}\n`, 'big.yaml')
  t.match(multibyte.errors, [{ message: /over the 1048576-byte limit/ }], 'counted in bytes, not characters')
})

t.test('a valid manifest with ordinary nesting still parses', async (t) => {
  const text =
    'apiVersion: shoal/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {tier: front}\nspec:\n  template:\n    image: nginx:1\n    env: {GREETING: "[hi] {there}"}\n    command: ["sh", "-c", "[ -f /x ] && echo {}"]\n'
  const result = parseManifests(text, 'web.yaml')
  t.same(result.errors, [])
  t.equal(result.manifests[0]?.manifest.metadata.name, 'web')
})

t.test('YAML aliases stay bounded: an alias bomb is an error, not an expansion', async (t) => {
  const lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
  for (let i = 1; i < 10; i++)
    lines.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
        .fill(`*${String.fromCharCode(96 + i)}`)
        .join(', ')}]`,
    )
  const result = parseManifests(`${lines.join('\n')}\n`, 'bomb.yaml')
  t.equal(result.manifests.length, 0)
  t.match(result.errors[0]?.message, /alias|Excessive/i)
})

t.test('decodeJson and decodeMessage refuse deep JSON as too-deep, naming the limit and the place', async (t) => {
  for (const payload of ['['.repeat(MAX_BYTES.heartbeat - 1), Buffer.from(`{"nodeId": ${nestedArrays(65)}}`)]) {
    let caught: unknown
    try {
      decodeMessage(Heartbeat, payload, { maxBytes: MAX_BYTES.heartbeat, what: 'heartbeat' })
    } catch (error) {
      caught = error
    }
    t.ok(caught instanceof ProtocolError)
    t.equal((caught as ProtocolError).code, 'too-deep')
    t.match((caught as ProtocolError).message, /^nesting deeper than 64 levels at line 1, column \d+$/)
  }
  t.same(decodeJson(nestedArrays(64), MAX_BYTES.desired), JSON.parse(nestedArrays(64)), '64 levels decode')
  let oversize: unknown
  try {
    decodeJson('['.repeat(MAX_BYTES.ack + 1), MAX_BYTES.ack)
  } catch (error) {
    oversize = error
  }
  t.equal((oversize as ProtocolError).code, 'oversize', 'the size check still comes first')
})

t.test("the agent's static directory: a deep file and a huge file are reported, the others load", async (t) => {
  const dir = tempDir(t, 'static-bounds')
  writeFileSync(join(dir, 'a-deep.yaml'), '['.repeat(MEGABYTE))
  writeFileSync(join(dir, 'b-huge.yaml'), `# ${'x'.repeat(MAX_BYTES.manifest)}\n`)
  writeFileSync(join(dir, 'c-ok.yaml'), 'apiVersion: shoal/v1\nkind: Deployment\nmetadata:\n  name: ok\nspec:\n  template:\n    image: busybox:1\n')
  const { workloads, errors } = loadStaticWorkloads(dir)
  t.same(
    workloads.map((w) => w.name),
    ['static-ok'],
  )
  t.equal(errors.length, 2)
  t.match(errors[0], /a-deep\.yaml:1:65: document 0: nesting deeper than 64 levels/)
  t.match(errors[1], /b-huge\.yaml: \d+ bytes is over the 1048576-byte limit for a manifest file; skipped/)
})
