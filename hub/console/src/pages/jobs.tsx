import type { CronJobDetail, JobSummaryView } from '../api/types'
import { Empty, ErrorNote, Loading, Section } from '../components/bits'
import { ago, relative } from '../format'
import { anyLatestFailed, jobConditionClass, lastRunSummary, soonestFiring } from '../job-summary'
import { useLive, useNow, useResource } from '../live'
import { Link, cronJobHref, jobHref } from '../router'
import { JOB_POLL_MS, isJobChange, usePoll } from './job-refresh'

export function JobsPage() {
  const { client } = useLive()
  const now = useNow(5000)
  const jobs = useResource('jobs', () => client.jobs(), { when: isJobChange, minIntervalMs: 1000 })
  // The list holds one latest run over all nodes; the per-node summary and the soonest firing
  // need each cron job's detail (a fleet has a handful of cron jobs).
  const cronJobs = useResource(
    'cronjobs',
    async () => {
      const list = await client.cronJobs()
      return Promise.all(list.items.map((c) => client.cronJob(c.name)))
    },
    { when: (c) => isJobChange(c) || (c.type === 'node' && c.reason !== 'heartbeat'), minIntervalMs: 2000 },
  )
  usePoll(jobs, JOB_POLL_MS)
  usePoll(cronJobs, JOB_POLL_MS)
  return (
    <div class="page jobs">
      <header class="page-head">
        <h1>Jobs</h1>
        <div class="toolbar">
          <Link href="/apply" class="button primary">
            Apply a manifest
          </Link>
        </div>
      </header>
      <Section title="Jobs">
        <ErrorNote error={jobs.error} prefix="jobs" />
        {!jobs.data ? <Loading /> : jobs.data.items.length === 0 ? <Empty>No jobs.</Empty> : <JobTable jobs={jobs.data.items} now={now} />}
      </Section>
      <Section title="Cron jobs">
        <ErrorNote error={cronJobs.error} prefix="cron jobs" />
        {!cronJobs.data ? <Loading /> : cronJobs.data.length === 0 ? <Empty>No cron jobs.</Empty> : <CronJobTable cronJobs={cronJobs.data} now={now} />}
      </Section>
    </div>
  )
}

function JobTable(props: { jobs: readonly JobSummaryView[]; now: number }) {
  return (
    <table class="table" aria-label="jobs">
      <thead>
        <tr>
          <th>Name</th>
          <th class="num">Succeeded / desired</th>
          <th class="num">Active</th>
          <th class="num">Failed</th>
          <th>Condition</th>
          <th>Reason</th>
          <th>Mode</th>
          <th>Age</th>
        </tr>
      </thead>
      <tbody>
        {props.jobs.map((j) => (
          <tr key={j.name} data-job={j.name}>
            <td>
              <Link href={jobHref(j.name)}>{j.name}</Link>
            </td>
            <td class={`num ${j.succeeded >= j.desired && j.desired > 0 ? 'ok-text' : ''}`}>
              {j.succeeded} / {j.desired}
            </td>
            <td class="num">{j.active}</td>
            <td class={`num ${j.failed > 0 ? 'bad-text' : ''}`}>{j.failed}</td>
            <td>
              <span class={`badge ${jobConditionClass(j.condition)}`} data-condition={j.condition.type}>
                {j.condition.type}
              </span>
            </td>
            <td class="clip" title={j.condition.message} data-testid="job-reason">
              {j.condition.reason}
              <span class="muted">{j.condition.message ? `: ${j.condition.message}` : ''}</span>
            </td>
            <td>{j.mode}</td>
            <td title={j.createdAt}>{ago(j.createdAt, props.now)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function CronJobTable(props: { cronJobs: readonly CronJobDetail[]; now: number }) {
  return (
    <table class="table" aria-label="cron jobs">
      <thead>
        <tr>
          <th>Name</th>
          <th>Schedule</th>
          <th>Zone</th>
          <th>Suspended</th>
          <th class="num">Nodes</th>
          <th>Last run per node</th>
          <th>Next firing</th>
        </tr>
      </thead>
      <tbody>
        {props.cronJobs.map((c) => {
          const next = soonestFiring(c.perNode)
          return (
            <tr key={c.name} data-cron-job={c.name}>
              <td>
                <Link href={cronJobHref(c.name)}>{c.name}</Link>
              </td>
              <td>
                <code>{c.schedule}</code>
              </td>
              <td>{c.timeZone}</td>
              <td>{c.suspend ? <span class="badge warn">suspended</span> : 'no'}</td>
              <td class="num" data-testid="cron-nodes">
                {c.nodes}
              </td>
              <td class={anyLatestFailed(c.perNode) ? 'bad-text' : ''} data-testid="cron-last-runs">
                {lastRunSummary(c.perNode)}
              </td>
              <td title={next ?? ''}>{next === null ? <span class="muted">–</span> : relative(next, props.now)}</td>
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}
