// The Job manifest (protocol/job.ts) as `shoal validate` and `shoal apply` read it: defaults, and
// each refusal located at its line and field.
import t from 'tap'
import { formatManifestError, parseManifests } from '../../protocol/manifest-parse.js'

const job = (spec: string, name = 'export'): string =>
  `apiVersion: shoal/v1\nkind: Job\nmetadata:\n  name: ${name}\nspec:\n${spec
    .split('\n')
    .map((line) => (line === '' ? line : `  ${line}`))
    .join('\n')}`

const minimal = 'template:\n  image: busybox\n  command: [sh, -c, "echo done"]\n'

const errorsOf = (text: string): string[] => parseManifests(text, 'job.yaml').errors.map(formatManifestError)

t.test('a minimal Job: one completion, parallelism 1, backoffLimit 6, its copy restartPolicy never', async (t) => {
  const { manifests, errors } = parseManifests(job(minimal), 'job.yaml')
  t.same(errors, [])
  const manifest = manifests[0]?.manifest
  if (manifest?.kind !== 'Job') throw new Error('not a Job')
  t.match(manifest.spec, { mode: 'replicated', backoffLimit: 6, template: { image: 'busybox', restartPolicy: 'never' } })
  t.equal(manifest.spec.completions, undefined, 'completions left out means 1 (jobCompletions)')
  t.equal(manifest.spec.parallelism, undefined)
})

t.test('placement words as in a Deployment, and the job fields', async (t) => {
  const spec = `completions: 3\nparallelism: 2\nbackoffLimit: 1\nactiveDeadline: 10m\nttlAfterFinished: 1h\nselector:\n  matchLabels: { site: north }\nrequires: { arch: [arm64] }\nspread: { topologyKey: site }\naffinity: { data: { preferred: [ticks] } }\n${minimal}`
  const { manifests, errors } = parseManifests(job(spec), 'job.yaml')
  t.same(errors, [])
  t.match(manifests[0]?.manifest, {
    spec: { completions: 3, parallelism: 2, backoffLimit: 1, activeDeadline: '10m', ttlAfterFinished: '1h', spread: { topologyKey: 'site' } },
  })
})

t.test('every pod container defaults to never; one that restarts is refused at its line', async (t) => {
  const pod = 'template:\n  containers:\n    - name: a\n      image: busybox\n    - name: b\n      image: busybox\n      restartPolicy: always\n'
  t.match(errorsOf(job(pod)), [
    /^job\.yaml:12:\d+: document 0: spec\.template\.containers\[1\]\.restartPolicy: a job's copies run to completion: restartPolicy must be never \(retries are the job's backoffLimit\)/,
  ])
})

t.test('a one-container template that restarts is refused, at its line', async (t) => {
  t.match(errorsOf(job(`${minimal}  restartPolicy: on-failure\n`)), [
    /^job\.yaml:9:\d+: document 0: spec\.template\.restartPolicy: .*restartPolicy must be never/,
  ])
})

t.test('every-node takes neither completions nor parallelism', async (t) => {
  t.match(errorsOf(job(`mode: every-node\ncompletions: 2\nparallelism: 2\n${minimal}`)), [
    /^job\.yaml:7:\d+: .*spec\.completions: completions cannot be set with mode: every-node/,
    /^job\.yaml:8:\d+: .*spec\.parallelism: parallelism cannot be set with mode: every-node/,
  ])
})

t.test('bounds: completions 1-1000, parallelism 0-1000, backoffLimit 0-100, durations, name length', async (t) => {
  t.match(errorsOf(job(`completions: 0\n${minimal}`)), [/^job\.yaml:6:\d+: .*spec\.completions/])
  t.match(errorsOf(job(`parallelism: 1001\n${minimal}`)), [/spec\.parallelism/])
  t.same(errorsOf(job(`parallelism: 0\n${minimal}`)), [], 'parallelism 0 starts nothing (a pause)')
  t.match(errorsOf(job(`backoffLimit: 101\n${minimal}`)), [/spec\.backoffLimit/])
  t.match(errorsOf(job(`activeDeadline: soon\n${minimal}`)), [/spec\.activeDeadline: must be a duration/])
  t.match(errorsOf(job(minimal, 'a'.repeat(41))), [
    /^job\.yaml:4:\d+: .*metadata\.name: must be at most 40 characters \(its copies are named job-<name>-<index>-<attempt>\)/,
  ])
  t.same(errorsOf(job(minimal, 'a'.repeat(40))), [])
  t.match(errorsOf(job(`replicas: 2\n${minimal}`)), [/^job\.yaml:6:3: document 0: spec\.replicas: unknown field "replicas"/])
})
