/**
 * The hub's events about a job, from one decision: JobStarted (its first copies), JobCopySucceeded
 * and JobCopyFailed (each copy's end, on the copy's node), JobComplete and JobFailed. Pure; the
 * planner stores them in the event log and the change feed carries them.
 */
import type { NodeEvent } from '../../protocol/index.js'
import type { CopyFinish, JobDecision } from './job-controller.js'

export interface JobEvent {
  readonly nodeId: string | null
  readonly type: 'JobStarted' | 'JobCopySucceeded' | 'JobCopyFailed' | 'JobComplete' | 'JobFailed'
  readonly severity: NodeEvent['severity']
  readonly workload?: string
  readonly message: string
  readonly data: Readonly<Record<string, string | number | boolean | null>>
}

export function jobEvents(job: string, decision: JobDecision, firstStart: boolean): JobEvent[] {
  const events: JobEvent[] = []
  if (firstStart && decision.start.length > 0) {
    const nodes = [...new Set(decision.start.map((copy) => copy.nodeId))].sort()
    events.push({
      nodeId: null,
      type: 'JobStarted',
      severity: 'info',
      message: `job ${job} started ${decision.start.length} ${decision.start.length === 1 ? 'copy' : 'copies'} on ${nodes.join(', ')}`,
      data: { job, copies: decision.start.length },
    })
  }
  for (const copy of decision.finish) {
    const event = copyEvent(job, copy)
    if (event !== null) events.push(event)
  }
  if (decision.ended !== null) {
    const { condition } = decision.ended
    const complete = condition.type === 'Complete'
    events.push({
      nodeId: null,
      type: complete ? 'JobComplete' : 'JobFailed',
      severity: complete ? 'info' : 'warning',
      message: `job ${job} ${complete ? 'completed' : `failed (${condition.reason})`}: ${condition.message}`,
      data: { job, reason: condition.reason, succeeded: decision.tally.succeeded, failed: decision.tally.failed },
    })
  }
  return events
}

/** A copy's own end; copies stopped because the job ended say nothing the job's event does not. */
function copyEvent(job: string, copy: CopyFinish): JobEvent | null {
  if (copy.state === 'stopped') return null
  const data = { job, index: copy.index, attempt: copy.attempt, exitCode: copy.exitCode, reason: copy.reason }
  if (copy.state === 'succeeded')
    return { nodeId: copy.nodeId, type: 'JobCopySucceeded', severity: 'info', workload: copy.workload, message: `${copy.workload} exited 0`, data }
  const how = copy.reason === 'NodeLost' ? `its node ${copy.nodeId} was removed` : `exited ${copy.exitCode}`
  return { nodeId: copy.nodeId, type: 'JobCopyFailed', severity: 'warning', workload: copy.workload, message: `${copy.workload} failed: ${how}`, data }
}
