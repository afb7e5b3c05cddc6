import { describeExpression, jobCompletions, jobParallelism, templateImages } from '../protocol/index.js'
import type { EventView, JobCopyView, JobDetail } from './api-client.js'
import { ageOf, formatLabels, indent, paint, renderCells, renderFields, type Cell, type Terminal } from './output.js'
import { formatAge } from './table.js'

/** `shoal describe job NAME`: the job, its condition, and every copy attempt with its result. */
export function describeJob(job: JobDetail, events: readonly EventView[], context: { readonly terminal: Terminal; readonly now: number }): string {
  const { terminal, now } = context
  const { spec } = job.manifest
  const selector = spec.selector
  const selectorTerms = [
    ...Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(selector?.matchExpressions ?? []).map(describeExpression),
  ]
  const conditionColour = job.condition.type === 'Failed' ? 'red' : job.condition.type === 'Complete' ? 'green' : null
  const fields: [string, string][] = [
    ['Name', job.name],
    ['Labels', formatLabels(job.labels)],
    [
      'Mode',
      spec.mode === 'every-node'
        ? 'every-node (once on each matching node)'
        : `replicated (${jobCompletions(spec)} completions, parallelism ${jobParallelism(spec)})`,
    ],
    ['Image', templateImages(spec.template)],
    ['Selector', selectorTerms.length === 0 ? '<all nodes>' : selectorTerms.join(', ')],
    ['Copies', `${job.succeeded}/${job.desired} succeeded, ${job.failed} failed, ${job.active} running, ${job.pending} pending`],
    ['Backoff limit', `${spec.backoffLimit} failed copies`],
    ['Active deadline', spec.activeDeadline ?? '<none>'],
    ['TTL after finished', spec.ttlAfterFinished ?? '<kept until deleted>'],
    ['Created', `${job.createdAt} (${formatAge(job.createdAt, now)} ago)`],
    ['Finished', job.finishedAt === null ? '-' : `${job.finishedAt} (${formatAge(job.finishedAt, now)} ago)`],
  ]
  const rows = job.copies.map((copy): Cell[] => [
    String(copy.index),
    String(copy.attempt),
    copy.nodeId,
    stateCell(copy),
    copy.exitCode === null ? '-' : String(copy.exitCode),
    copy.startedAt,
    copy.finishedAt === null ? `- (running ${ageOf(copy.startedAt, now)})` : copy.finishedAt,
    copy.reason ?? '-',
  ])
  return [
    renderFields(fields),
    `\nCondition:\n  ${paint(terminal, conditionColour, `${job.condition.type} (${job.condition.reason})`)}: ${job.condition.message}\n`,
    `\nCopies:\n${rows.length === 0 ? '  <none>\n' : indent(renderCells(terminal, ['INDEX', 'ATTEMPT', 'NODE', 'STATE', 'EXIT', 'STARTED', 'FINISHED', 'REASON'], rows))}`,
    `\nEvents:\n${
      events.length === 0
        ? '  <none>\n'
        : indent(
            renderCells(
              terminal,
              ['AGE', 'TYPE', 'NODE', 'MESSAGE'],
              events.map((e) => [ageOf(e.receivedAt, now), e.type, e.nodeId ?? '-', e.message]),
            ),
          )
    }`,
  ].join('')
}

function stateCell(copy: JobCopyView): Cell {
  return { text: copy.state, colour: copy.state === 'succeeded' ? 'green' : copy.state === 'failed' ? 'red' : copy.state === 'running' ? null : 'yellow' }
}
