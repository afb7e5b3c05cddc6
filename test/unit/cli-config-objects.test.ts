// The CLI's pure parts for Configs and Secrets: manifests built from --from-literal and
// --from-file (keys, duplicates, sizes, text), the get table, describe (a Secret's values never
// printed, even if an answer carried them), copies' versions, apply's lines and validate's
// warning for inline registry credentials.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { describeApplied } from '../../cli/commands/apply.js'
import { credentialWarnings, formatWarning } from '../../cli/commands/validate.js'
import type { ConfigObjectDetail, ConfigObjectView } from '../../cli/api-client.js'
import { buildConfigObject, fileValue, parseFileSpec, parseLabels, parseLiteral, MAX_DATA_BYTES } from '../../cli/config-object-manifest.js'
import { describeConfigObject, formatSelector, keysCell, objectVersionsText, renderConfigObjects } from '../../cli/config-object-view.js'
import { CliError, ExitCode, type CliIo } from '../../cli/io.js'
import { runCli } from '../../cli/program.js'
import { parseManifests } from '../../protocol/manifest-parse.js'
import { tempDir } from '../support/tmp.js'

const usage = (message: RegExp) => ({ constructor: CliError, exitCode: ExitCode.usage, message })
const NOW = Date.parse('2026-12-06T12:00:00Z')
const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text)

async function shoal(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const io: CliIo = { out: (text) => void (out += text), err: (text) => void (err += text) }
  const code = await runCli(argv, io)
  return { code, out, err }
}

t.test('a literal splits at its first "=", so a value may hold "="', async (t) => {
  t.same(parseLiteral('token=abc=def'), { key: 'token', value: 'abc=def', origin: '--from-literal token=…' })
  t.same(parseLiteral('empty='), { key: 'empty', value: '', origin: '--from-literal empty=…' })
  t.throws(() => parseLiteral('no-equals-sign'), usage(/--from-literal needs KEY=VALUE \(no "=" in it\)/))
  t.throws(() => parseLiteral('=value'), usage(/the key is empty/))
  t.throws(() => parseLiteral('a/b=1'), usage(/key "a\/b" must be letters, digits/))
  t.throws(() => parseLiteral('..=1'), usage(/cannot be "\." or "\.\."/))
})

t.test('a message about a literal never repeats its value', async (t) => {
  for (const text of ['hunter2-marker', 'bad key=hunter2-marker']) {
    try {
      parseLiteral(text)
      t.fail('refused')
    } catch (error) {
      t.notMatch((error as Error).message, 'hunter2-marker', `${text}: the value is not echoed`)
    }
  }
})

t.test("a file's key is its base name unless one is given", async (t) => {
  t.same(parseFileSpec('./conf/calibration.json'), { key: 'calibration.json', path: './conf/calibration.json', origin: '--from-file ./conf/calibration.json' })
  t.same(parseFileSpec('cal=./conf/calibration.json'), { key: 'cal', path: './conf/calibration.json', origin: '--from-file cal=./conf/calibration.json' })
  t.throws(
    () => parseFileSpec('./my file.txt'),
    usage(/^--from-file \.\/my file\.txt: key "my file\.txt" must be letters.* \(the key is the file's name; give another with KEY=PATH\)$/),
  )
  t.throws(() => parseFileSpec('k='), usage(/use PATH or KEY=PATH/))
})

t.test('a file over the limit, or not UTF-8 text, is refused with one line', async (t) => {
  const spec = { key: 'big', origin: '--from-file big' }
  t.same(fileValue('Secret', spec, bytesOf('pässword')), { key: 'big', value: 'pässword', origin: '--from-file big' })
  t.throws(
    () => fileValue('Secret', spec, new Uint8Array(MAX_DATA_BYTES.Secret + 1)),
    usage(/--from-file big: 32769 bytes is over the 32768-byte limit for a Secret/),
  )
  t.doesNotThrow(() => fileValue('Config', spec, new Uint8Array(MAX_DATA_BYTES.Secret + 1)), 'a Config may hold more')
  t.throws(() => fileValue('Config', spec, new Uint8Array([0xff, 0xfe, 0x00])), usage(/not UTF-8 text; Config values are text/))
})

t.test('labels are checked as labels', async (t) => {
  t.same(parseLabels(['site=a', 'tier=edge']), { site: 'a', tier: 'edge' })
  t.throws(() => parseLabels(['site']), usage(/--label "site": use KEY=VALUE/))
  t.throws(() => parseLabels(['site=a b']), usage(/--label site=a b: must be empty or letters/))
  t.throws(() => parseLabels(['site=a', 'site=b']), usage(/--label site is given twice/))
})

t.test('the manifest is what apply -f would read, and parses back as one', async (t) => {
  const manifest = buildConfigObject({
    kind: 'Secret',
    name: 'api',
    entries: [parseLiteral('token=s3cret'), { key: 'ca.pem', value: '-----BEGIN-----\n', origin: '--from-file ca.pem' }],
    labels: { site: 'a' },
  })
  t.same(manifest, {
    apiVersion: 'shoal/v1',
    kind: 'Secret',
    metadata: { name: 'api', labels: { site: 'a' } },
    data: { token: 's3cret', 'ca.pem': '-----BEGIN-----\n' },
  })
  const parsed = parseManifests(JSON.stringify(manifest))
  t.same(parsed.errors, [])
  t.same(parsed.manifests[0]?.manifest, manifest)
  t.same(buildConfigObject({ kind: 'Config', name: 'c', entries: [parseLiteral('a=1')], labels: {} }).metadata, { name: 'c' }, 'no empty labels')
})

t.test('the manifest is refused before anything is sent', async (t) => {
  const build = (overrides: Partial<Parameters<typeof buildConfigObject>[0]>) =>
    buildConfigObject({ kind: 'Config', name: 'settings', entries: [parseLiteral('a=1')], labels: {}, ...overrides })
  t.throws(() => build({ entries: [] }), usage(/a Config needs data: give --from-literal KEY=VALUE or --from-file \[KEY=\]PATH/))
  t.throws(() => build({ name: 'Settings' }), usage(/config name "Settings" must be lower-case/))
  t.throws(
    () => build({ entries: [parseLiteral('a=1'), { key: 'a', value: 'x', origin: '--from-file a=./x' }] }),
    usage(/key "a" is given twice \(--from-literal a=… and --from-file a=\.\/x\); keys must be unique/),
  )
  const half = 'x'.repeat(MAX_DATA_BYTES.Secret / 2)
  t.throws(
    () => build({ kind: 'Secret', entries: [parseLiteral(`a=${half}`), parseLiteral(`b=${half}`)] }),
    usage(/secret settings: 32770 bytes of data .* over the 32768-byte limit for a Secret/),
    'files under the limit each can still add up to too much',
  )
})

const view = (overrides: Partial<ConfigObjectView> = {}): ConfigObjectView => ({
  kind: 'Secret',
  name: 'api',
  labels: {},
  version: 2,
  keys: [
    { key: 'token', bytes: 40 },
    { key: 'ca.pem', bytes: 1800 },
  ],
  overrides: [],
  usedBy: ['cam', 'web'],
  createdAt: '2026-12-06T11:00:00Z',
  updatedAt: '2026-12-06T11:55:00Z',
  ...overrides,
})

t.test('get: name, version, keys, users and age; -o name and json', async (t) => {
  const objects = [view(), view({ name: 'unused', version: 1, keys: [{ key: 'k', bytes: 1 }], usedBy: [] })]
  const table = renderConfigObjects(objects, { terminal: { colour: false }, format: 'table', now: () => NOW })
  t.equal(table, 'NAME    VERSION  KEYS          USED BY  AGE\napi     2        token,ca.pem  cam,web  60m\nunused  1        k             <none>   60m\n')
  const wide = renderConfigObjects(
    [view({ labels: { site: 'a' }, overrides: [{ selector: { matchLabels: { site: 'b' } }, keys: [{ key: 'token', bytes: 10 }] }] })],
    {
      terminal: { colour: false },
      format: 'wide',
      now: () => NOW,
    },
  )
  t.match(wide, /SIZE\s+OVERRIDES\s+UPDATED\s+LABELS\n.*1.8Ki\s+1\s+5m\s+site=a\n/)
  t.equal(renderConfigObjects(objects, { terminal: { colour: false }, format: 'name', now: () => NOW }), 'api\nunused\n')
  t.same(JSON.parse(renderConfigObjects(objects, { terminal: { colour: false }, format: 'json', now: () => NOW })), { items: objects })
})

t.test('many keys are clipped with a count', async (t) => {
  const keys = Array.from({ length: 12 }, (_, i) => ({ key: `key-number-${i}` }))
  t.equal(keysCell(keys), 'key-number-0,key-number-1,key-number-2 +9 more')
  t.equal(keysCell([]), '<none>')
  t.equal(keysCell([{ key: 'a-single-key-longer-than-the-whole-column-width' }]), 'a-single-key-longer-than-the-whole-column-width', 'one key is always shown')
})

const detail = (overrides: Partial<ConfigObjectDetail> = {}): ConfigObjectDetail => ({
  ...view(),
  overrides: [
    { selector: { matchLabels: { site: 'b' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['edge'] }] }, keys: [{ key: 'token', bytes: 44 }] },
  ],
  copies: [
    { nodeId: 'pi-2', workload: 'web-0', deployment: 'web', desiredVersion: 2, runningVersion: 1 },
    { nodeId: 'pi-1', workload: 'cam', deployment: 'cam', desiredVersion: 2, runningVersion: 2 },
    { nodeId: 'pi-3', workload: 'web-1', deployment: 'web', desiredVersion: 2, runningVersion: null },
  ],
  ...overrides,
})

t.test('describe secret: keys, sizes, overrides, users and copies; never a value, even one the answer carried', async (t) => {
  // A hub must never send these; if one did, describe still would not print them.
  const leaky = {
    ...detail(),
    data: { token: 'MARKER-never-shown' },
    overrideData: [{ selector: { matchLabels: { site: 'b' } }, data: { token: 'MARKER-override' } }],
  }
  const text = describeConfigObject(leaky as ConfigObjectDetail, { terminal: { colour: false }, now: NOW })
  t.notMatch(text, 'MARKER')
  t.match(text, /^Name: +api\nKind: +Secret\n/)
  t.match(text, /Version: +2\n/)
  t.match(text, /Used by: +cam, web\n/)
  t.match(text, /Keys:\n {2}KEY +SIZE\n {2}token +40B\n {2}ca\.pem +1\.8Ki\n {2}\(a Secret's values are never shown\)\n/)
  t.match(text, /Overrides:\n {2}1\. nodes matching site=b,tier in \(edge\)\n {5}KEY +SIZE\n {5}token +44B\n/)
  t.match(
    text,
    /Copies:\n {2}DEPLOYMENT +NODE +WORKLOAD +DESIRED +RUNNING\n {2}cam +pi-1 +cam +2 +2\n {2}web +pi-2 +web-0 +2 +1\n {2}web +pi-3 +web-1 +2 +not reported\n/,
  )
  t.match(text, /2 of 3 copies do not run the version sent yet/)
  t.notMatch(text, /\nData:/, 'no data section for a Secret')
})

t.test("describe config: the data and each override's values", async (t) => {
  const config = detail({
    kind: 'Config',
    name: 'line',
    keys: [
      { key: 'plc', bytes: 8 },
      { key: 'cal.json', bytes: 12 },
    ],
    data: { plc: '10.0.0.5', 'cal.json': '{\n  "k": 1\n}\n' },
    overrides: [{ selector: { matchLabels: { site: 'b' } }, keys: [{ key: 'plc', bytes: 8 }] }],
    overrideData: [{ selector: { matchLabels: { site: 'b' } }, data: { plc: '10.0.9.9' } }],
    copies: [],
    usedBy: [],
  })
  const text = describeConfigObject(config, { terminal: { colour: false }, now: NOW })
  t.match(text, /Data:\n {2}plc: 10\.0\.0\.5\n {2}cal\.json: \|\n {4}\{\n/)
  t.match(text, /Overrides:\n {2}1\. nodes matching site=b\n {5}plc: 10\.0\.9\.9\n/)
  t.match(text, /Used by: +<no deployment>\n/)
  t.match(text, /Copies:\n {2}<none>/)
  t.notMatch(text, /never shown/)
})

t.test('selectors read as -l would take them', async (t) => {
  t.equal(
    formatSelector({
      matchLabels: { site: 'a' },
      matchExpressions: [
        { key: 'gpu', operator: 'Exists' },
        { key: 'tier', operator: 'NotIn', values: ['x', 'y'] },
      ],
    }),
    'site=a,gpu,tier notin (x,y)',
  )
  t.equal(formatSelector({}), '<all nodes>')
})

t.test("a copy's versions: configs then secrets, by name", async (t) => {
  t.equal(objectVersionsText({ configVersions: { zeta: 1, line: 3 }, secretVersions: { api: 2 } }), 'config/line@3 config/zeta@1 secret/api@2')
  t.equal(objectVersionsText({}), '')
  t.equal(objectVersionsText(null), '')
})

t.test('apply: a Config or Secret prints its version and what it rolls out', async (t) => {
  const base = { desired: 0, placed: 0, pending: 0, why: null }
  t.equal(
    describeApplied({ ...base, kind: 'Secret', name: 'api', outcome: 'configured', revision: 2, rolled: ['web', 'cam'] }),
    'secret/api configured (version 2); rolls out web, cam\n',
  )
  t.equal(describeApplied({ ...base, kind: 'Config', name: 'line', outcome: 'created', revision: 1, rolled: [] }), 'config/line created (version 1)\n')
  t.equal(
    describeApplied({ ...base, kind: 'Job', name: 'export', outcome: 'created', revision: 4, why: '0/3 succeeded, 0 failed, 2 running' }),
    'job/export created: 0/3 succeeded, 0 failed, 2 running\n',
    'a job says its condition, no version',
  )
  t.equal(describeApplied({ ...base, kind: 'Config', name: 'line', outcome: 'unchanged', revision: 1 }), 'config/line unchanged (version 1)\n')
  t.equal(describeApplied({ ...base, kind: 'Deployment', name: 'web', outcome: 'configured', revision: 4 }), 'deployment/web configured (revision 4)\n')
})

const INLINE = `apiVersion: shoal/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    image: registry.local/web:1
    pullCredentials:
      username: ci
      password: hunter2
`

t.test('validate warns about inline registry credentials and still exits 0', async (t) => {
  const warnings = credentialWarnings(INLINE, 'web.yaml', parseManifests(INLINE, 'web.yaml').manifests)
  t.equal(warnings.length, 1)
  t.equal(
    formatWarning(warnings[0] as (typeof warnings)[number]),
    'web.yaml:8:5: document 0: spec.template.pullCredentials: warning: inline username and password travel and are stored in plain text (in every desired document, in the hub and on the node); put them in a Secret and use pullCredentials: { secret: NAME }',
  )
  const byReference = INLINE.replace('      username: ci\n      password: hunter2\n', '      secret: registry\n')
  t.same(credentialWarnings(byReference, 'web.yaml', parseManifests(byReference, 'web.yaml').manifests), [], 'a reference is fine')

  const dir = tempDir(t, 'cli-config-validate')
  const file = path.join(dir, 'web.yaml')
  writeFileSync(file, INLINE)
  const text = await shoal('validate', file)
  t.equal(text.code, ExitCode.ok, 'a warning is not an error')
  t.equal(text.out, `${file}: 1 manifest valid (Deployment web)\n`)
  t.match(text.err, `${file}:8:5: document 0: spec.template.pullCredentials: warning: inline username and password`)
  t.notMatch(text.err, 'hunter2', 'the warning does not repeat the password')
  const json = await shoal('validate', '-o', 'json', file)
  t.equal(json.code, ExitCode.ok)
  const report = JSON.parse(json.out) as { valid: boolean; warnings: { line: number; path: string }[] }
  t.equal(report.valid, true)
  t.match(report.warnings, [{ line: 8, path: 'spec.template.pullCredentials' }])
})

t.test('create --dry-run prints the manifest and contacts no hub', async (t) => {
  const dir = tempDir(t, 'cli-config-create')
  writeFileSync(path.join(dir, 'calibration.json'), '{"k": 1}\n')
  const env = { SHOAL_HUB: process.env.SHOAL_HUB, SHOAL_TOKEN: process.env.SHOAL_TOKEN }
  process.env.SHOAL_HUB = 'http://127.0.0.1:9'
  process.env.SHOAL_TOKEN = 'x'
  t.teardown(() => {
    for (const [key, value] of Object.entries(env)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  })
  const yaml = await shoal(
    'create',
    'config',
    'line',
    '--from-literal',
    'plc=10.0.0.5',
    '--from-file',
    path.join(dir, 'calibration.json'),
    '--label',
    'site=a',
    '--dry-run',
  )
  t.equal(yaml.code, 0, yaml.err)
  t.equal(
    yaml.out,
    'apiVersion: shoal/v1\nkind: Config\nmetadata:\n  name: line\n  labels:\n    site: a\ndata:\n  plc: 10.0.0.5\n  calibration.json: |\n    {"k": 1}\n',
  )
  const json = await shoal('create', 'secret', 'api', '--from-literal', 'token=t', '--dry-run', '-o', 'json')
  t.same(JSON.parse(json.out), { apiVersion: 'shoal/v1', kind: 'Secret', metadata: { name: 'api' }, data: { token: 't' } })
  const big = path.join(dir, 'big.bin')
  writeFileSync(big, Buffer.alloc(MAX_DATA_BYTES.Secret + 1, 0x61))
  const refused = await shoal('create', 'secret', 'api', '--from-file', big, '--dry-run')
  t.equal(refused.code, ExitCode.usage)
  t.equal(refused.err, `error: --from-file ${big}: 32769 bytes is over the 32768-byte limit for a Secret\n`, 'one clear line')
})
