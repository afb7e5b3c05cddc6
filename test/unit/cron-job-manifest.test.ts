// The CronJob manifest (protocol/cron-job.ts) as `shoal validate` and a --static-dir read it:
// defaults, and each refusal located at the field it is about, with the parser's words.
import t from 'tap'
import { formatManifestError, parseManifests } from '../../protocol/manifest-parse.js'

const cronJob = (spec: string): string =>
  `apiVersion: shoal/v1\nkind: CronJob\nmetadata:\n  name: backup\nspec:\n${spec
    .split('\n')
    .map((line) => (line === '' ? line : `  ${line}`))
    .join('\n')}`

const minimal = 'schedule: "*/5 * * * *"\ntimeZone: UTC\njobTemplate:\n  template:\n    image: busybox\n'

const errorsOf = (text: string): string[] => parseManifests(text, 'cron.yaml').errors.map(formatManifestError)

t.test('a minimal CronJob gets the documented defaults, its run restartPolicy never', async (t) => {
  const { manifests, errors } = parseManifests(cronJob(minimal), 'cron.yaml')
  t.same(errors, [])
  const manifest = manifests[0]?.manifest
  if (manifest?.kind !== 'CronJob') throw new Error('not a CronJob')
  t.match(manifest.spec, {
    concurrencyPolicy: 'Allow',
    suspend: false,
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 1,
    jobTemplate: { backoffLimit: 0, template: { image: 'busybox', restartPolicy: 'never' } },
  })
})

t.test('each container of a several-container run defaults to restartPolicy never', async (t) => {
  const spec =
    'schedule: "@daily"\ntimeZone: local\njobTemplate:\n  template:\n    containers:\n      - name: a\n        image: busybox\n      - name: b\n        image: busybox\n        restartPolicy: never\n'
  const { manifests, errors } = parseManifests(cronJob(spec), 'cron.yaml')
  t.same(errors, [])
  const manifest = manifests[0]?.manifest
  if (manifest?.kind !== 'CronJob' || !('containers' in manifest.spec.jobTemplate.template)) throw new Error('not a pod CronJob')
  t.same(
    manifest.spec.jobTemplate.template.containers.map((c) => c.restartPolicy),
    ['never', 'never'],
  )
})

t.test('refuses a schedule the parser refuses, at spec.schedule, in the parser words', async (t) => {
  t.match(errorsOf(cronJob(minimal.replace('*/5 * * * *', '61 * * * *'))), [/^cron\.yaml:6:\d+: document 0: spec\.schedule: minute field: 61 is outside 0-59/])
})

t.test('refuses a schedule that never fires', async (t) => {
  t.match(errorsOf(cronJob(minimal.replace('*/5 * * * *', '0 0 30 2 *'))), [/spec\.schedule: never fires: day-of-month 30 never occurs in/])
})

t.test('refuses an unknown zone and a UTC offset at spec.timeZone; requires a zone', async (t) => {
  t.match(errorsOf(cronJob(minimal.replace('UTC', 'Mars/Olympus'))), [/spec\.timeZone: time zone "Mars\/Olympus": not a time zone/])
  t.match(errorsOf(cronJob(minimal.replace('UTC', '"+05:00"'))), [/spec\.timeZone: .*a UTC offset is not a zone/])
  t.match(errorsOf(cronJob(minimal.replace('timeZone: UTC\n', ''))), [/spec\.timeZone/])
})

t.test('refuses a run that would restart, pointing at retries being the backoffLimit', async (t) => {
  const always = minimal.replace('image: busybox\n', 'image: busybox\n    restartPolicy: on-failure\n')
  t.match(errorsOf(cronJob(always)), [
    /spec\.jobTemplate\.template\.restartPolicy: .*restartPolicy must be never \(retries are the jobTemplate's backoffLimit\)/,
  ])
})

t.test('takes a backoffLimit for retries, from 0 to 100', async (t) => {
  const retries = (limit: number): string => cronJob(minimal.replace('jobTemplate:\n', `jobTemplate:\n  backoffLimit: ${limit}\n`))
  const { manifests, errors } = parseManifests(retries(2), 'cron.yaml')
  t.same(errors, [])
  t.match(manifests[0]?.manifest, { spec: { jobTemplate: { backoffLimit: 2 } } })
  t.match(errorsOf(retries(101)), [/spec\.jobTemplate\.backoffLimit/])
  t.match(errorsOf(retries(-1)), [/spec\.jobTemplate\.backoffLimit/])
})

t.test('takes the policies, deadlines and limits it documents', async (t) => {
  const full = `${minimal}concurrencyPolicy: Forbid\nstartingDeadline: 2m\nsuspend: true\nsuccessfulJobsHistoryLimit: 0\nfailedJobsHistoryLimit: 5\n`.replace(
    'jobTemplate:\n',
    'jobTemplate:\n  activeDeadline: 10m\n',
  )
  t.same(errorsOf(cronJob(full)), [])
  t.match(errorsOf(cronJob(minimal.replace('UTC', 'UTC\nconcurrencyPolicy: Sometimes'))), [/spec\.concurrencyPolicy/])
})
