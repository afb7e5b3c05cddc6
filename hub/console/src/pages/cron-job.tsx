import type { CronJobNodeView } from '../api/types'
import { Empty, ErrorNote, Loading, Section } from '../components/bits'
import { ago, localTime, relative } from '../format'
import { lastRunSummary } from '../job-summary'
import { useLive, useNow, useResource } from '../live'
import { Link, nodeHref } from '../router'
import { JOB_POLL_MS, isJobChange, usePoll } from './job-refresh'

export function CronJobPage(props: { name: string }) {
  const { client } = useLive()
  const now = useNow(2000)
  const cron = useResource(`cronjob/${props.name}`, () => client.cronJob(props.name), {
    when: (c) => isJobChange(c) || (c.type === 'node' && c.reason !== 'heartbeat'),
    minIntervalMs: 750,
  })
  usePoll(cron, JOB_POLL_MS)

  if (!cron.data) {
    return (
      <div class="page">
        <h1>{props.name}</h1>
        {cron.error ? <ErrorNote error={cron.error} /> : <Loading />}
      </div>
    )
  }
  const c = cron.data
  return (
    <div class="page cron-job" data-cron-job={c.name}>
      <header class="page-head">
        <h1>
          {c.name} {c.suspend ? <span class="badge warn">suspended</span> : null}
        </h1>
      </header>
      <ErrorNote error={cron.error} prefix="could not refresh" />
      <dl class="facts" aria-label="cron job">
        <dt>Schedule</dt>
        <dd>
          <code>{c.schedule}</code>
        </dd>
        <dt>Zone</dt>
        <dd>{c.timeZone}</dd>
        <dt>Concurrency policy</dt>
        <dd>{c.concurrencyPolicy}</dd>
        <dt>Suspend</dt>
        <dd>{c.suspend ? 'yes' : 'no'}</dd>
        <dt>Revision</dt>
        <dd>{c.revision}</dd>
        <dt>Latest runs</dt>
        <dd data-testid="cron-last-runs">{lastRunSummary(c.perNode)}</dd>
      </dl>
      <Section title="Nodes">
        {c.perNode.length === 0 ? (
          <Empty>No node carries this cron job: no node matches its placement.</Empty>
        ) : (
          c.perNode.map((n) => <NodeRuns key={n.nodeId} node={n} now={now} />)
        )}
      </Section>
      <Section title="Spec">
        <pre class="spec" aria-label="spec">
          {JSON.stringify(c.manifest.spec, null, 2)}
        </pre>
      </Section>
    </div>
  )
}

function NodeRuns(props: { node: CronJobNodeView; now: number }) {
  const n = props.node
  return (
    <section class="cron-node" aria-label={`node ${n.nodeId}`} data-node-id={n.nodeId}>
      <h3>
        <Link href={nodeHref(n.nodeId)}>{n.nodeId}</Link> {n.online ? null : <span class="badge bad">offline</span>}
        {n.placed ? null : <span class="badge muted">no longer carries it</span>}
      </h3>
      <p class="summary-line">
        zone {n.zone} · next firing{' '}
        <span title={n.nextFireAt ?? ''}>{n.nextFireAt === null ? 'none' : `${relative(n.nextFireAt, props.now)} (${localTime(n.nextFireAt)})`}</span> ·{' '}
        {n.skipped} skipped · {n.missed} missed
      </p>
      {n.runs.length === 0 ? (
        <Empty>No run reported yet.</Empty>
      ) : (
        <table class="table" aria-label={`runs on ${n.nodeId}`}>
          <thead>
            <tr>
              <th>Scheduled</th>
              <th>Result</th>
              <th class="num">Exit code</th>
              <th>Started</th>
              <th>Finished</th>
              <th class="num">Attempt</th>
              <th>Reason</th>
            </tr>
          </thead>
          <tbody>
            {n.runs.map((r) => (
              <tr key={`${r.workload}/${r.attempt}`} data-run={r.workload}>
                <td title={r.scheduledAt}>{localTime(r.scheduledAt)}</td>
                <td>
                  <span class={`badge ${r.outcome === 'succeeded' ? 'ok' : 'bad'}`}>{r.outcome}</span>
                </td>
                <td class="num">{r.exitCode ?? '–'}</td>
                <td title={r.startedAt}>{localTime(r.startedAt)}</td>
                <td title={r.finishedAt}>{ago(r.finishedAt, props.now)}</td>
                <td class="num">{r.attempt}</td>
                <td>{r.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {n.lapses.length > 0 ? (
        <ul class="filtered" aria-label={`skips and misses on ${n.nodeId}`}>
          {n.lapses.map((l) => (
            <li key={`${l.kind}/${l.scheduledAt}`}>
              {l.kind} {l.count > 1 ? `${l.count} firings` : 'a firing'} at {localTime(l.scheduledAt)}: {l.reason}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  )
}
