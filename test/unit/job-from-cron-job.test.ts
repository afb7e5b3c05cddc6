import t from 'tap'
import { CronJob } from '../../protocol/cron-job.js'
import { Job } from '../../protocol/job.js'
import { FROM_CRON_JOB_LABEL, jobFromCronJob } from '../../protocol/job-from-cron-job.js'

const cronJob = (spec: Record<string, unknown>, labels?: Record<string, string>) =>
  CronJob.parse({
    apiVersion: 'shoal/v1',
    kind: 'CronJob',
    metadata: { name: 'nightly-export', ...(labels ? { labels } : {}) },
    spec: { schedule: '0 2 * * *', timeZone: 'Europe/Berlin', jobTemplate: { template: { image: 'export:2', command: ['export'] } }, ...spec },
  })

t.test("a cron job's run as a Job: every node the cron job runs on, its run template and retry rules", async (t) => {
  const cron = cronJob(
    {
      selector: { matchLabels: { site: 'store-7' } },
      requires: { arch: ['arm64'] },
      concurrencyPolicy: 'Forbid',
      jobTemplate: { backoffLimit: 2, activeDeadline: '10m', template: { image: 'export:2', command: ['export'] } },
    },
    { team: 'data' },
  )
  const job = Job.parse(jobFromCronJob(cron, 'export-now'))
  t.same(job.metadata, { name: 'export-now', labels: { team: 'data', [FROM_CRON_JOB_LABEL]: 'nightly-export' } })
  t.equal(job.spec.mode, 'every-node')
  t.same(job.spec.selector, { matchLabels: { site: 'store-7' } })
  t.same(job.spec.requires, { arch: ['arm64'] })
  t.equal(job.spec.backoffLimit, 2, "the run's backoffLimit, not the Job default of 6")
  t.equal(job.spec.activeDeadline, '10m')
  t.same(job.spec.template, cron.spec.jobTemplate.template, 'the run template as the cron job has it (restartPolicy never)')
  t.notOk('completions' in job.spec || 'parallelism' in job.spec, 'every-node: no completions or parallelism')
})

t.test('a cron job without placement or deadline makes a Job for every node, with none', async (t) => {
  const job = Job.parse(jobFromCronJob(cronJob({}), 'now'))
  t.same(job.metadata.labels, { [FROM_CRON_JOB_LABEL]: 'nightly-export' })
  t.equal(job.spec.selector, undefined)
  t.equal(job.spec.requires, undefined)
  t.equal(job.spec.activeDeadline, undefined)
  t.equal(job.spec.backoffLimit, 0, "a cron run's default backoffLimit (0) goes along")
})

t.test('a name too long for a Job is refused by the Job schema, with the reason', async (t) => {
  const parsed = Job.safeParse(jobFromCronJob(cronJob({}), 'x'.repeat(41)))
  t.notOk(parsed.success)
  t.match(parsed.error?.issues[0]?.message, /at most 40 characters/)
})
