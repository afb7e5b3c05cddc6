import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import { formatManifestError, parseManifests } from '../../protocol/manifest-parse.js'
import { Deployment, desiredReplicas, type Manifest } from '../../protocol/manifest.js'
import { LabelSelector, SelectorSyntaxError, parseSelectorString, selectorMatches, selectorMismatches } from '../../protocol/selector.js'
import { oneContainer } from '../support/container-workload.js'

const fixtures = new URL('../fixtures/manifests/', import.meta.url)
const validDir = new URL('valid/', fixtures)
const invalidDir = new URL('invalid/', fixtures)

interface ExpectedError {
  documentIndex: number
  path: string
  line: number
  column: number
  message: string
}

const readJson = <T>(url: URL): T => JSON.parse(readFileSync(url, 'utf8')) as T
const manifestFiles = (dir: URL): string[] =>
  readdirSync(dir)
    .filter((name) => name !== 'expected.json')
    .sort()
const parseFixture = (dir: URL, name: string) => parseManifests(readFileSync(new URL(name, dir), 'utf8'), name)
/** The deployment a fixture holds (every valid fixture here is one). */
const deploymentOf = (manifest: Manifest | undefined): Deployment | undefined => (manifest?.kind === 'Deployment' ? manifest : undefined)

t.test('fixtures', async (t) => {
  const validExpected = readJson<Record<string, string[]>>(new URL('expected.json', validDir))
  const invalidExpected = readJson<Record<string, ExpectedError[]>>(new URL('expected.json', invalidDir))

  t.test('every fixture file has an expectation, and every expectation a file', async (t) => {
    t.same(manifestFiles(validDir), Object.keys(validExpected).sort())
    t.same(manifestFiles(invalidDir), Object.keys(invalidExpected).sort())
    const manifests = Object.values(validExpected).flat().length + Object.keys(invalidExpected).length
    t.ok(manifests >= 40, `at least 40 fixture manifests (${manifests})`)
  })

  t.test('every valid fixture parses into the manifests it declares, without errors', async (t) => {
    for (const name of manifestFiles(validDir)) {
      const result = parseFixture(validDir, name)
      t.same(result.errors, [], `${name} has no errors`)
      t.same(
        result.manifests.map(({ manifest }) => `${manifest.kind} ${manifest.metadata.name}`),
        validExpected[name],
        `${name} holds the expected manifests`,
      )
    }
  })

  t.test('every invalid fixture fails with exactly the expected document, path, line, column and message', async (t) => {
    for (const name of manifestFiles(invalidDir)) {
      const result = parseFixture(invalidDir, name)
      const actual = result.errors.map(({ documentIndex, path, line, column, message }) => ({ documentIndex, path, line, column, message }))
      t.same(actual, invalidExpected[name], name)
      t.ok(
        result.errors.every((error) => error.file === name),
        `${name}: errors name the file`,
      )
    }
  })

  t.test('the expected lines are the lines each YAML fixture marks with "# <-"', async (t) => {
    // Cross-checks expected.json against the fixtures themselves, so it cannot drift into a snapshot.
    for (const name of manifestFiles(invalidDir).filter((file) => file.endsWith('.yaml'))) {
      const marked = readFileSync(new URL(name, invalidDir), 'utf8')
        .split('\n')
        .flatMap((line, index) => (line.includes('# <-') ? [index + 1] : []))
      const expectedLines = [...new Set((invalidExpected[name] ?? []).map((error) => error.line))].sort((a, b) => a - b)
      t.same(marked, expectedLines, name)
    }
  })

  t.test('documents in a multi-document file are validated independently', async (t) => {
    const result = parseFixture(invalidDir, 'multi-second-invalid.yaml')
    t.same(
      result.manifests.map((parsed) => [parsed.documentIndex, parsed.manifest.metadata.name]),
      [
        [0, 'web'],
        [2, 'worker'],
      ],
    )
    t.same(
      result.errors.map((error) => error.documentIndex),
      [1],
    )
  })

  t.test('a parsed manifest records where its name is', async (t) => {
    const result = parseFixture(validDir, 'multi.yaml')
    t.same(
      result.manifests.map(({ line, column }) => [line, column]),
      [
        [6, 9],
        [16, 9],
        [27, 9],
      ],
    )
  })
})

t.test('formatManifestError prints file:line:column, the document, the field path and the message', async (t) => {
  const [error] = parseManifests(
    'apiVersion: shoal/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replcas: 3\n  template: {image: x}\n',
    'web.yaml',
  ).errors
  t.ok(error)
  t.equal(formatManifestError(error!), 'web.yaml:5:3: document 0: spec.replcas: unknown field "replcas"')
  t.equal(formatManifestError({ file: 'x.yaml', documentIndex: 2, path: '', message: 'broken' }), 'x.yaml: document 2: broken')
})

t.test('defaults', async (t) => {
  const minimal = deploymentOf(parseFixture(validDir, 'minimal.yaml').manifests[0]?.manifest)
  t.ok(minimal)
  const spec = minimal!.spec

  t.test('a minimal deployment runs one replica, restarts always, on the host network, with 5m offline grace', async (t) => {
    t.equal(spec.mode, 'replicated')
    t.equal(spec.replicas, undefined)
    t.equal(desiredReplicas(spec), 1)
    t.equal(oneContainer(spec.template).restartPolicy, 'always')
    t.equal(spec.template.network, 'host')
    t.equal(spec.offlineGrace, '5m')
  })

  t.test('a health check fills in interval 10s, timeout 5s, retries 3, startPeriod 0s, path / and host 127.0.0.1', async (t) => {
    const parsed = Deployment.parse({
      apiVersion: 'shoal/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { template: { image: 'nginx', healthCheck: { http: { port: 80 } }, ports: [{ containerPort: 80 }] } },
    })
    t.same(oneContainer(parsed.spec.template).healthCheck, {
      http: { port: 80, path: '/', host: '127.0.0.1' },
      interval: '10s',
      timeout: '5s',
      retries: 3,
      startPeriod: '0s',
    })
    t.same(oneContainer(parsed.spec.template).ports, [{ containerPort: 80, protocol: 'tcp' }])
  })

  t.test('explicit values win over defaults', async (t) => {
    const full = deploymentOf(parseFixture(validDir, 'full.yaml').manifests[0]?.manifest)
    t.equal(full && oneContainer(full.spec.template).restartPolicy, 'on-failure')
    t.equal(full?.spec.template.network, 'bridge')
    t.equal(full?.spec.offlineGrace, '10m')
    t.equal(full && desiredReplicas(full.spec), 3)
  })
})

t.test('hostile or broken YAML comes back as located errors, never as an exception', async (t) => {
  t.test('an alias bomb is refused', async (t) => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
    for (const [name, previous] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
    ] as const) {
      bomb.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(', ')}]`)
    }
    const result = parseManifests(`${bomb.join('\n')}\n`, 'bomb.yaml')
    t.equal(result.manifests.length, 0)
    t.equal(result.errors.length, 1)
    t.match(result.errors[0]?.message, /alias/i)
    t.equal(result.errors[0]?.line, 1)
  })

  t.test('arbitrary text never throws', async (t) => {
    const samples = [
      '',
      '\u0000\u0001\u0002',
      '{{{{',
      ']]]',
      '- - - -',
      'a: [}',
      '%YAML 9.9\n---\na: 1',
      '!!binary x',
      '? ? ?',
      '"unterminated',
      'key: !!int notanumber',
    ]
    for (const sample of samples) {
      t.doesNotThrow(() => parseManifests(sample, 'junk.yaml'), JSON.stringify(sample))
    }
  })

  t.test('an empty file and a comment-only file hold no manifests and no errors', async (t) => {
    t.same(parseManifests('', 'empty.yaml'), { manifests: [], errors: [] })
    t.same(parseManifests('# nothing here\n', 'comment.yaml'), { manifests: [], errors: [] })
    t.same(parseManifests('---\n---\n', 'separators.yaml'), { manifests: [], errors: [] })
  })

  t.test('an explicit null document is not mistaken for an empty one', async (t) => {
    const result = parseManifests('--- ~\n', 'null.yaml')
    t.equal(result.errors.length, 1)
    t.match(result.errors[0]?.message, /must be a mapping/)
  })
})

t.test('selector matching', async (t) => {
  const node = { site: 'factory-7', tier: 'edge', gpu: '', arch: 'arm64' }
  const selector = (value: unknown): LabelSelector => LabelSelector.parse(value)

  t.test('an empty or absent selector matches every node', async (t) => {
    t.ok(selectorMatches(undefined, node))
    t.ok(selectorMatches(selector({}), node))
    t.ok(selectorMatches(selector({ matchLabels: {}, matchExpressions: [] }), {}))
  })

  t.test('matchLabels needs every label with exactly that value', async (t) => {
    t.ok(selectorMatches(selector({ matchLabels: { site: 'factory-7', tier: 'edge' } }), node))
    t.notOk(selectorMatches(selector({ matchLabels: { site: 'factory-8' } }), node))
    t.notOk(selectorMatches(selector({ matchLabels: { zone: 'a' } }), node), 'a missing label fails')
    t.ok(selectorMatches(selector({ matchLabels: { gpu: '' } }), node), 'an empty value matches an empty value')
    t.notOk(selectorMatches(selector({ matchLabels: { gpu: '' } }), { site: 'x' }), 'an empty value does not match an absent label')
  })

  t.test('In matches a present label whose value is listed', async (t) => {
    t.ok(selectorMatches(selector({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['edge', 'gateway'] }] }), node))
    t.notOk(selectorMatches(selector({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['core'] }] }), node))
    t.notOk(selectorMatches(selector({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }), node), 'absent label')
  })

  t.test('NotIn matches an absent label, or one whose value is not listed', async (t) => {
    t.ok(selectorMatches(selector({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['core'] }] }), node))
    t.notOk(selectorMatches(selector({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['edge'] }] }), node))
    t.ok(selectorMatches(selector({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }), node), 'absent label')
  })

  t.test('Exists and DoesNotExist look only at presence, even of an empty value', async (t) => {
    t.ok(selectorMatches(selector({ matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }), node))
    t.notOk(selectorMatches(selector({ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }), node))
    t.ok(selectorMatches(selector({ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }), node))
    t.notOk(selectorMatches(selector({ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }), node))
  })

  t.test('labels inherited from Object.prototype do not count as present', async (t) => {
    t.notOk(selectorMatches(selector({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }), node))
    t.ok(selectorMatches(selector({ matchExpressions: [{ key: 'toString', operator: 'DoesNotExist' }] }), node))
  })

  t.test('every term must hold, and the failing ones are named', async (t) => {
    const both = selector({
      matchLabels: { site: 'factory-7', arch: 'amd64' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['core', 'gateway'] },
        { key: 'gpu', operator: 'Exists' },
        { key: 'site', operator: 'DoesNotExist' },
      ],
    })
    t.notOk(selectorMatches(both, node))
    t.same(selectorMismatches(both, node), ['arch=amd64', 'tier in (core,gateway)', '!site'])
  })
})

t.test('parseSelectorString reads the kubectl -l syntax', async (t) => {
  t.test('every form of term', async (t) => {
    t.same(parseSelectorString('a=b,c!=d,e in (x, y),f notin (z),g,!h,i==j'), {
      matchLabels: { a: 'b', i: 'j' },
      matchExpressions: [
        { key: 'c', operator: 'NotIn', values: ['d'] },
        { key: 'e', operator: 'In', values: ['x', 'y'] },
        { key: 'f', operator: 'NotIn', values: ['z'] },
        { key: 'g', operator: 'Exists' },
        { key: 'h', operator: 'DoesNotExist' },
      ],
    })
  })

  t.test('spaces around terms and operators, prefixed keys and empty values are allowed', async (t) => {
    t.same(parseSelectorString(' example.com/zone = a , tier != ,  ! legacy '), {
      matchLabels: { 'example.com/zone': 'a' },
      matchExpressions: [
        { key: 'tier', operator: 'NotIn', values: [''] },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    })
  })

  t.test('an empty string is the empty selector, which matches everything', async (t) => {
    const empty = parseSelectorString('')
    t.same(empty, { matchLabels: {}, matchExpressions: [] })
    t.ok(selectorMatches(empty, {}))
  })

  t.test('the parsed selector means what kubectl means', async (t) => {
    const parsed = parseSelectorString('site=factory-7,tier in (edge,gateway),!maintenance')
    t.ok(selectorMatches(parsed, { site: 'factory-7', tier: 'gateway' }))
    t.notOk(selectorMatches(parsed, { site: 'factory-7', tier: 'gateway', maintenance: 'true' }))
    t.notOk(selectorMatches(parsed, { site: 'factory-7', tier: 'core' }))
  })

  t.test('the same key twice with different values matches nothing, instead of the last one winning', async (t) => {
    const parsed = parseSelectorString('site=a,site=b')
    t.notOk(selectorMatches(parsed, { site: 'a' }))
    t.notOk(selectorMatches(parsed, { site: 'b' }))
    t.ok(selectorMatches(parseSelectorString('site=a,site=a'), { site: 'a' }))
  })

  t.test('unreadable terms throw a SelectorSyntaxError naming the term', async (t) => {
    const cases: [string, string, RegExp][] = [
      ['site=a,tier in edge', 'tier in edge', /use k=v/],
      ['=x', '=x', /use k=v/],
      ['a=b=c', 'a=b=c', /use k=v/],
      ['a b', 'a b', /use k=v/],
      ['Bad Key=x', 'Bad Key=x', /use k=v/],
      ['-bad=x', '-bad=x', /key/],
      ['site=has.trailing.', 'site=has.trailing.', /values|letter or digit/],
      ['tier in ()', 'tier in ()', /needs at least one value/],
    ]
    for (const [text, term, reason] of cases) {
      try {
        parseSelectorString(text)
      } catch (error) {
        t.ok(error instanceof SelectorSyntaxError, `${text}: a SelectorSyntaxError`)
        t.match((error as Error).message, term, `${text}: message names the term`)
        t.match((error as Error).message, reason, `${text}: message says why`)
      }
    }
  })
})

t.test('a __proto__ key anywhere is an error at its line, not a key silently dropped', async (t) => {
  const text = 'apiVersion: shoal/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    __proto__: x\nspec:\n  template: {image: x}\n'
  const result = parseManifests(text, 'web.yaml')
  t.same(result.manifests, [])
  t.match(result.errors, [{ file: 'web.yaml', line: 6, column: 5, message: /"__proto__" cannot be a key/ }])
  const json = parseManifests(
    '{"apiVersion":"shoal/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"template":{"image":"x","env":{"__proto__":"1"}}}}',
    'web.json',
  )
  t.equal(json.errors.length, 1, 'JSON input too')
})

t.test('stopGracePeriod is a duration of at most 10m; stopSignal a signal name or number', async (t) => {
  const manifest = (template: string) => `apiVersion: shoal/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template: {image: x, ${template}}\n`
  t.same(parseManifests(manifest('stopGracePeriod: 30s, stopSignal: SIGINT')).errors, [])
  t.same(parseManifests(manifest('stopSignal: "15"')).errors, [])
  t.match(parseManifests(manifest('stopGracePeriod: 11m')).errors, [{ path: 'spec.template.stopGracePeriod', message: /at most 10m/ }])
  t.match(parseManifests(manifest('stopGracePeriod: soon')).errors, [{ path: 'spec.template.stopGracePeriod' }])
  t.match(parseManifests(manifest('stopSignal: TERM-PLEASE')).errors, [{ path: 'spec.template.stopSignal', message: /signal name/ }])
})
