import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { STATIC_PREFIX, loadStaticWorkloads } from '../../agent/static-workloads.js'
import { Name, Workload } from '../../protocol/index.js'
import { tempDir } from '../support/tmp.js'
import { oneContainer } from '../support/container-workload.js'

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]

/** A minimal Deployment manifest as YAML. */
function deployment(name: string, image = `registry.example/${name}:1`, extra = ''): string {
  return `apiVersion: shoal/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  template:
    image: ${image}${extra}
`
}

/** A temp directory holding these files. */
function staticDir(t: TapTest, files: Record<string, string>): string {
  const dir = tempDir(t, 'static')
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

t.test('loads a Deployment as a workload named with the static- prefix', async (t) => {
  const dir = staticDir(t, {
    'exporter.yaml': deployment('exporter', 'prom/node-exporter:v1.8.1', '\n    restartPolicy: on-failure\n    env: { LEVEL: info }'),
  })
  const { workloads, errors } = loadStaticWorkloads(dir)
  t.strictSame(errors, [])
  t.equal(workloads.length, 1)
  const [w] = workloads
  t.equal(w?.name, 'static-exporter')
  t.equal(w?.deployment, 'exporter')
  t.equal(w?.revision, 1)
  t.equal(w && oneContainer(w.template).image, 'prom/node-exporter:v1.8.1')
  t.equal(w && oneContainer(w.template).restartPolicy, 'on-failure')
  t.strictSame(w && oneContainer(w.template).env, { LEVEL: 'info' })
  t.equal(w?.template.network, 'host', 'schema defaults are applied')
  t.ok(Workload.safeParse(w).success, 'a valid Workload, the same shape the hub sends')
  t.equal(STATIC_PREFIX, 'static-')
})

t.test('reads every document of a multi-document file, and .yml and .json files too', async (t) => {
  const dir = staticDir(t, {
    'pair.yaml': `${deployment('first')}---\n${deployment('second')}`,
    'third.yml': deployment('third'),
    'fourth.json': JSON.stringify({
      apiVersion: 'shoal/v1',
      kind: 'Deployment',
      metadata: { name: 'fourth' },
      spec: { template: { image: 'registry.example/fourth:1' } },
    }),
  })
  const { workloads, errors } = loadStaticWorkloads(dir)
  t.strictSame(errors, [])
  t.strictSame(
    workloads.map((w) => w.name),
    ['static-fourth', 'static-first', 'static-second', 'static-third'],
    'files in name order, documents in file order',
  )
})

t.test('ignores files that are not manifests', async (t) => {
  const dir = staticDir(t, {
    'README.md': '# not a manifest',
    'notes.txt': 'kind: Deployment',
    'app.yaml.bak': deployment('old'),
    'app.yaml': deployment('app'),
  })
  const { workloads, errors } = loadStaticWorkloads(dir)
  t.strictSame(errors, [])
  t.strictSame(
    workloads.map((w) => w.name),
    ['static-app'],
  )
})

t.test('an invalid file is reported with file:line, and the valid ones still load', async (t) => {
  const dir = staticDir(t, {
    'a-good.yaml': deployment('good'),
    'b-bad-field.yaml': deployment('bad-field', 'registry.example/x:1', '\n    restartPolicy: sometimes'),
    'c-bad-yaml.yaml': 'apiVersion: shoal/v1\nkind: Deployment\nmetadata:\n  name: [unclosed\n',
    'd-also-good.yaml': deployment('also-good'),
  })
  const { workloads, errors } = loadStaticWorkloads(dir)
  t.strictSame(
    workloads.map((w) => w.name),
    ['static-good', 'static-also-good'],
  )
  t.equal(errors.length, 2)
  t.match(
    errors[0],
    new RegExp(
      `^${escapeRegExp(join(dir, 'b-bad-field.yaml'))}:8:\\d+: document 0: spec\\.template\\.restartPolicy: must be one of "always", "on-failure" or "never", not "sometimes"$`,
    ),
  )
  t.match(errors[1], new RegExp(`^${escapeRegExp(join(dir, 'c-bad-yaml.yaml'))}:\\d+:\\d+: document 0: `))
})

t.test('one invalid document of a multi-document file does not hold back the others', async (t) => {
  const dir = staticDir(t, { 'many.yaml': `${deployment('one')}---\n${deployment('Two')}---\n${deployment('three')}` })
  const { workloads, errors } = loadStaticWorkloads(dir)
  t.strictSame(
    workloads.map((w) => w.name),
    ['static-one', 'static-three'],
  )
  t.equal(errors.length, 1)
  t.match(
    errors[0],
    new RegExp(`^${escapeRegExp(join(dir, 'many.yaml'))}:12:\\d+: document 1: metadata\\.name: must be lower-case`),
    'the line within the whole file',
  )
})

t.test('a name defined twice loads once; the second is reported with where both are', async (t) => {
  const dir = staticDir(t, { 'a.yaml': deployment('shared'), 'b.yaml': `${deployment('other')}---\n${deployment('shared', 'registry.example/other:2')}` })
  const { workloads, errors } = loadStaticWorkloads(dir)
  t.strictSame(
    workloads.map((w) => [w.name, oneContainer(w.template).image]),
    [
      ['static-shared', 'registry.example/shared:1'],
      ['static-other', 'registry.example/other:1'],
    ],
    'the first definition wins',
  )
  t.strictSame(errors, [
    `${join(dir, 'b.yaml')}:12:9: document 1: metadata.name: shared is defined twice in the static directory (first at ${join(dir, 'a.yaml')}:4:9)`,
  ])
})

t.test('long names are cut to a valid 63-character workload name, and a collision that causes is explained', async (t) => {
  const stem = `edge-${'x'.repeat(50)}`
  const first = `${stem}-alpha`
  const second = `${stem}-bravo`
  t.equal(first.length, 61)
  const dir = staticDir(t, { 'a.yaml': deployment(first), 'b.yaml': deployment(second) })
  const { workloads, errors } = loadStaticWorkloads(dir)
  t.equal(workloads.length, 1)
  const name = workloads[0]!.name
  t.equal(name, `static-${stem}`, 'cut to 63, then the dangling dash dropped')
  t.ok(Name.safeParse(name).success)
  t.equal(workloads[0]!.deployment, first, 'the deployment keeps its full name')
  t.equal(errors.length, 1)
  t.match(errors[0], `${second} becomes workload ${name}, already taken by ${first}`)
  t.match(errors[0], /shorten one of the names$/)
})

t.test('a directory that cannot be read is one error and no workloads', async (t) => {
  const missing = join(tempDir(t, 'static'), 'nope')
  t.strictSame(loadStaticWorkloads(missing), {
    workloads: [],
    cronJobs: [],
    errors: [`cannot read static directory ${missing}: ENOENT: no such file or directory, scandir '${missing}'`],
  })
  const file = join(tempDir(t, 'static'), 'file.yaml')
  writeFileSync(file, deployment('x'))
  const notDir = loadStaticWorkloads(file)
  t.strictSame(notDir.workloads, [])
  t.match(notDir.errors, [/^cannot read static directory .*ENOTDIR/])
})

t.test('a manifest path that cannot be read is reported, and the rest still load', async (t) => {
  const dir = staticDir(t, { 'b.yaml': deployment('b') })
  mkdirSync(join(dir, 'a.yaml'))
  const { workloads, errors } = loadStaticWorkloads(dir)
  t.strictSame(
    workloads.map((w) => w.name),
    ['static-b'],
  )
  t.equal(errors.length, 1)
  t.match(errors[0], new RegExp(`^${escapeRegExp(join(dir, 'a.yaml'))}: EISDIR`))
})

t.test('an empty directory, or empty files, load nothing and report nothing', async (t) => {
  t.strictSame(loadStaticWorkloads(tempDir(t, 'static')), { workloads: [], cronJobs: [], errors: [] })
  t.strictSame(loadStaticWorkloads(staticDir(t, { 'empty.yaml': '', 'comments.yaml': '# nothing here\n---\n' })), { workloads: [], cronJobs: [], errors: [] })
})

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** A minimal CronJob manifest as YAML. */
function cronJob(name: string, schedule = '*/5 * * * *'): string {
  return `apiVersion: shoal/v1
kind: CronJob
metadata:
  name: ${name}
spec:
  schedule: "${schedule}"
  timeZone: UTC
  jobTemplate:
    template:
      image: registry.example/${name}:1
`
}

t.test('returns the CronJobs beside the Deployments; they make no workload of their own', async (t) => {
  const dir = staticDir(t, { 'a.yaml': `${deployment('app')}---\n${cronJob('backup')}`, 'b.yaml': cronJob('rotate', '@daily') })
  const { workloads, cronJobs, errors } = loadStaticWorkloads(dir)
  t.strictSame(errors, [])
  t.strictSame(
    workloads.map((w) => w.name),
    ['static-app'],
  )
  t.strictSame(
    cronJobs.map((job) => [job.metadata.name, job.spec.schedule, oneContainer(job.spec.jobTemplate.template).restartPolicy]),
    [
      ['backup', '*/5 * * * *', 'never'],
      ['rotate', '@daily', 'never'],
    ],
  )
})

t.test('a CronJob defined twice loads once; the second is reported with where the first is', async (t) => {
  const dir = staticDir(t, { 'a.yaml': cronJob('backup'), 'b.yaml': cronJob('backup', '@hourly') })
  const { cronJobs, errors } = loadStaticWorkloads(dir)
  t.strictSame(
    cronJobs.map((job) => job.spec.schedule),
    ['*/5 * * * *'],
  )
  t.strictSame(errors, [
    `${join(dir, 'b.yaml')}:4:9: document 0: metadata.name: CronJob backup is defined twice in the static directory (first at ${join(dir, 'a.yaml')}:4:9)`,
  ])
})

t.test('refuses a static Deployment named cron-…, whose workload a cron run could take', async (t) => {
  const dir = staticDir(t, { 'a.yaml': deployment('cron-backup-1') })
  const { workloads, errors } = loadStaticWorkloads(dir)
  t.strictSame(workloads, [])
  t.match(errors, [/document 0: metadata\.name: a static Deployment's name may not begin with cron- /])
})

t.test("refuses a static CronJob with a placement: which nodes run it is the hub's to say", async (t) => {
  const placed = `${cronJob('backup')}  selector:\n    matchLabels: { role: store }\n`
  const dir = staticDir(t, { 'a.yaml': placed, 'b.yaml': cronJob('rotate') })
  const { cronJobs, errors } = loadStaticWorkloads(dir)
  t.strictSame(
    cronJobs.map((job) => job.metadata.name),
    ['rotate'],
  )
  t.match(errors, [/document 0: spec\.selector: backup has a placement \(selector\), which is the hub's to decide; a static cron job runs on this node/])
})
