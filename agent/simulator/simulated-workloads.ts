import type { DesiredDocument, NodeStatus } from '../../protocol/index.js'
import type { OutboxEntry, WorkloadRecord } from '../store/agent-store.js'

/**
 * What a simulated node reports for a document it accepted: every workload running at the
 * document's revision, ready, as if its container started at once (the simulator runs nothing;
 * the hub's side of a rollout is what it measures). The records for the heartbeat's counts and
 * the status for the outbox. Pure.
 */
export function runningWorkloads(nodeId: string, document: DesiredDocument, at: string): { records: WorkloadRecord[]; status: OutboxEntry } {
  const records = document.workloads.map(
    (workload): WorkloadRecord => ({
      name: workload.name,
      deployment: workload.deployment,
      revision: workload.revision,
      configHash: '',
      containerId: null,
      state: 'running',
      health: 'none',
      restarts: 0,
      exitCode: null,
      lastError: null,
      recentCrashes: [],
      backoffUntil: 0,
      since: at,
    }),
  )
  const status: NodeStatus = {
    nodeId,
    observedGeneration: document.generation,
    workloads: records.map((record) => ({
      name: record.name,
      deployment: record.deployment,
      revision: record.revision,
      state: record.state,
      health: record.health,
      ready: true,
      restarts: 0,
      since: record.since,
    })),
    at,
  }
  return { records, status: { kind: 'status', body: status } }
}
