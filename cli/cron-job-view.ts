import type { CronJobDetail, CronJobView } from '../protocol/api/index.js'
import { ageOf, formatLabels, indent, renderCells, renderData, renderFields, type Cell, type OutputFormat, type Terminal } from './output.js'
import { formatAge } from './table.js'

interface ViewContext {
  readonly terminal: Terminal
  readonly format: OutputFormat
  readonly now: () => number
}

/** `shoal get cronjobs`: one line per cron job. */
export function renderCronJobs(jobs: readonly CronJobView[], view: ViewContext): string {
  if (view.format === 'json' || view.format === 'yaml') return renderData(view.format, { items: jobs })
  if (view.format === 'name') return jobs.map((job) => `${job.name}\n`).join('')
  const now = view.now()
  const wide = view.format === 'wide'
  const headers = ['NAME', 'SCHEDULE', 'ZONE', 'SUSPEND', 'NODES', 'LAST RUN', 'AGE', ...(wide ? ['POLICY', 'REVISION', 'LABELS'] : [])]
  const rows = jobs.map((job): Cell[] => [
    job.name,
    job.schedule,
    job.timeZone,
    { text: String(job.suspend), colour: job.suspend ? 'yellow' : null },
    String(job.nodes),
    lastRunCell(job, now),
    ageOf(job.createdAt, now),
    ...(wide ? [job.concurrencyPolicy, String(job.revision), formatLabels(job.labels)] : []),
  ])
  return renderCells(view.terminal, headers, rows)
}

function lastRunCell(job: CronJobView, now: number): Cell {
  const run = job.lastRun
  if (run === null) return '-'
  const how = run.outcome === 'succeeded' ? 'succeeded' : `failed${run.exitCode !== null ? ` (${run.exitCode})` : ''}`
  return { text: `${how} ${formatAge(run.scheduledAt, now)} ago on ${run.nodeId}`, colour: run.outcome === 'succeeded' ? 'green' : 'red' }
}

/** `shoal describe cronjob NAME`: the schedule, then per node its next firing, skip and miss counts and latest runs. */
export function describeCronJob(job: CronJobDetail, context: { readonly terminal: Terminal; readonly now: number }): string {
  const { terminal, now } = context
  const spec = job.manifest.spec
  const fields: [string, string][] = [
    ['Name', job.name],
    ['Labels', formatLabels(job.labels)],
    ['Revision', String(job.revision)],
    ['Schedule', spec.schedule],
    ['Time zone', spec.timeZone],
    ['Suspend', String(spec.suspend)],
    ['Concurrency', spec.concurrencyPolicy],
    ['Starting deadline', spec.startingDeadline ?? '<none>'],
    ['History limits', `${spec.successfulJobsHistoryLimit} succeeded, ${spec.failedJobsHistoryLimit} failed (per node)`],
    [
      'Image',
      'containers' in spec.jobTemplate.template ? spec.jobTemplate.template.containers.map((c) => c.image).join(', ') : spec.jobTemplate.template.image,
    ],
    ['Nodes', String(job.nodes)],
    ['Created', `${job.createdAt} (${formatAge(job.createdAt, now)} ago)`],
  ]
  const nodes =
    job.perNode.length === 0
      ? '  <no node matches its placement>\n'
      : job.perNode
          .map((node) => {
            const head = [
              `${node.nodeId}${node.placed ? '' : ' (no longer placed)'}${node.online ? '' : ' (offline)'}`,
              `  next firing: ${nextFiring(node, spec.suspend)}`,
              `  skipped: ${node.skipped}, missed: ${node.missed}`,
            ].join('\n')
            const runs =
              node.runs.length === 0
                ? '  runs: <none reported>'
                : `  runs:\n${indent(
                    renderCells(
                      terminal,
                      ['SCHEDULED', 'TRY', 'RESULT', 'EXIT', 'STARTED', 'FINISHED', 'RUN'],
                      node.runs.map((run): Cell[] => [
                        run.scheduledAt,
                        String(run.attempt),
                        {
                          text: run.outcome === 'succeeded' ? 'Succeeded' : `Failed${run.reason ? ` (${run.reason})` : ''}`,
                          colour: run.outcome === 'succeeded' ? 'green' : 'red',
                        },
                        run.exitCode === null ? '-' : String(run.exitCode),
                        run.startedAt,
                        run.finishedAt,
                        run.workload,
                      ]),
                    ),
                    4,
                  )}`
            const lapses =
              node.lapses.length === 0
                ? ''
                : `\n  latest skips and misses:\n${node.lapses.map((l) => `    ${l.kind} ${l.scheduledAt}${l.count > 1 ? ` (${l.count} firings)` : ''}: ${l.reason}`).join('\n')}`
            return `${indent(`${head}\n${runs.replace(/\n$/, '')}${lapses}`)}\n`
          })
          .join('')
  return `${renderFields(fields)}\nPer node:\n${nodes}`
}

function nextFiring(node: CronJobDetail['perNode'][number], suspended: boolean): string {
  if (node.nextFireAt !== null) return `${node.nextFireAt} (${node.zone})`
  if (node.zone === 'node-local') return "in the node's own zone, which it has not reported (node-local)"
  if (!node.placed) return '-'
  return suspended ? 'none (suspended)' : 'none'
}
