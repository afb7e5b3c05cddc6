import type { JobCopyView, JobDetail } from '../api/types'
import { Empty, ErrorNote, Loading, Section } from '../components/bits'
import { ago, localTime } from '../format'
import { jobConditionClass, outputByCopy, type CopyOutput } from '../job-summary'
import { useLive, useNow, useResource } from '../live'
import { Link, nodeHref } from '../router'
import { JOB_POLL_MS, isJobChange, usePoll } from './job-refresh'

/** The last lines of each finished copy the page shows; the hub keeps about this many. */
const OUTPUT_TAIL = 20

const COPY_STATE_CLASS: Record<JobCopyView['state'], string> = { running: 'info', succeeded: 'ok', failed: 'bad', stopped: 'muted' }

export function JobPage(props: { name: string }) {
  const { client } = useLive()
  const now = useNow(2000)
  const job = useResource(`job/${props.name}`, () => client.job(props.name), {
    when: (c) => isJobChange(c) || (c.type === 'node' && c.reason !== 'heartbeat'),
    minIntervalMs: 750,
  })
  usePoll(job, JOB_POLL_MS)
  const finished = job.data?.copies.filter((c) => c.finishedAt !== null).length ?? 0
  // Fetched again only when another copy finishes: a finished copy's lines do not change.
  const output = useResource(
    `job-output/${props.name}/${finished}`,
    async () => {
      if (finished === 0) return new Map<string, CopyOutput>()
      const response = await client.jobLogs(props.name, OUTPUT_TAIL)
      return outputByCopy(await response.text())
    },
    { when: () => false, keepPrevious: true },
  )

  if (!job.data) {
    return (
      <div class="page">
        <h1>{props.name}</h1>
        {job.error ? <ErrorNote error={job.error} /> : <Loading />}
      </div>
    )
  }
  const j = job.data
  return (
    <div class="page job" data-job={j.name}>
      <header class="page-head">
        <h1>
          {j.name}{' '}
          <span class={`badge ${jobConditionClass(j.condition)}`} data-testid="job-condition">
            {j.condition.type}
          </span>
        </h1>
      </header>
      <ErrorNote error={job.error} prefix="could not refresh" />
      <p class="summary-line">
        {j.mode === 'every-node' ? 'Once on every matching node' : `${j.desired} completion${j.desired === 1 ? '' : 's'}`} · {j.succeeded} succeeded ·{' '}
        {j.active} active · {j.failed} failed · {j.pending} pending · created {ago(j.createdAt, now)}
        {j.finishedAt ? ` · finished ${ago(j.finishedAt, now)}` : ''}
      </p>
      <div
        class={j.condition.type === 'Failed' || j.condition.reason === 'Pending' ? 'why' : 'muted condition-line'}
        role="status"
        data-testid="job-condition-reason"
      >
        <strong>{j.condition.reason}.</strong> {j.condition.message}
      </div>
      <Section title="Copies">{j.copies.length === 0 ? <Empty>No copy has started yet.</Empty> : <CopyTable job={j} output={output.data} />}</Section>
      <ErrorNote error={output.error} prefix="output" />
      <Section title="Spec">
        <pre class="spec" aria-label="spec">
          {JSON.stringify(j.manifest.spec, null, 2)}
        </pre>
      </Section>
    </div>
  )
}

function CopyTable(props: { job: JobDetail; output: ReadonlyMap<string, CopyOutput> | null }) {
  return (
    <table class="table" aria-label="copies">
      <thead>
        <tr>
          <th>Node</th>
          <th class="num">Index</th>
          <th class="num">Attempt</th>
          <th>State</th>
          <th class="num">Exit code</th>
          <th>Started</th>
          <th>Finished</th>
          <th>Reason</th>
          <th>Last output</th>
        </tr>
      </thead>
      <tbody>
        {props.job.copies.map((c) => {
          const output = c.finishedAt !== null ? props.output?.get(c.workload) : undefined
          return (
            <tr key={c.workload} data-copy={c.workload}>
              <td>
                <Link href={nodeHref(c.nodeId)}>{c.nodeId}</Link>
              </td>
              <td class="num">{c.index}</td>
              <td class="num">{c.attempt}</td>
              <td>
                <span class={`badge ${COPY_STATE_CLASS[c.state]}`} data-state={c.state}>
                  {c.state}
                </span>
              </td>
              <td class={`num ${c.exitCode !== null && c.exitCode !== 0 ? 'bad-text' : ''}`}>{c.exitCode ?? '–'}</td>
              <td title={c.startedAt}>{localTime(c.startedAt)}</td>
              <td title={c.finishedAt ?? ''}>{c.finishedAt ? localTime(c.finishedAt) : <span class="muted">–</span>}</td>
              <td>{c.reason ?? ''}</td>
              <td>{output ? <Output output={output} workload={c.workload} /> : <span class="muted">–</span>}</td>
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}

function Output(props: { output: CopyOutput; workload: string }) {
  const { lines, missing, error } = props.output
  return (
    <pre class="spec job-output" aria-label={`output of ${props.workload}`}>
      {missing > 0 ? `… ${missing} line(s) missing\n` : ''}
      {lines.map((l) => l.text).join('\n')}
      {error ? `\n${error}` : ''}
    </pre>
  )
}
