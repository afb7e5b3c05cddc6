import { encodeMessage, type Heartbeat } from '../../protocol/index.js'
import { splitMemberName } from '../reconcile/copy-members.js'
import type { AgentStore } from '../store/agent-store.js'
import type { AgentTransport } from '../transport/transport.js'

/** What the agent's own store adds to a heartbeat; the sampler adds the machine's figures. */
export interface HeartbeatFigures {
  readonly observedGeneration: number
  readonly outboxDepth: number
  readonly running: number
  readonly total: number
}

export type HeartbeatSource = Pick<AgentStore, 'desired' | 'outboxDepth' | 'workloads'>

/**
 * The generation the node has (0 before any), records waiting for the hub, and copies running of
 * all known: a several-container copy runs when each container runs or (an init container) is done.
 */
export function heartbeatFigures(store: HeartbeatSource): HeartbeatFigures {
  const copies = new Map<string, boolean>()
  for (const w of store.workloads()) {
    const copy = splitMemberName(w.name)?.copy ?? w.name
    const up = w.state === 'running' || (copy !== w.name && w.state === 'exited' && w.exitCode === 0)
    copies.set(copy, (copies.get(copy) ?? true) && up)
  }
  return {
    observedGeneration: store.desired()?.generation ?? 0,
    outboxDepth: store.outboxDepth().records,
    running: [...copies.values()].filter(Boolean).length,
    total: copies.size,
  }
}

export interface HeartbeatBeatOptions {
  readonly link: Pick<AgentTransport, 'connected' | 'publish'>
  readonly store: HeartbeatSource
  readonly sample: (figures: HeartbeatFigures) => Promise<Heartbeat>
}

/**
 * One heartbeat: only while the link is up (nothing queues it offline: a stale heartbeat is no
 * news), and a failed publish is let go, as the next beat replaces it.
 */
export function heartbeatBeat({ link, store, sample }: HeartbeatBeatOptions): () => Promise<void> {
  return async () => {
    if (!link.connected) return
    const heartbeat = await sample(heartbeatFigures(store))
    await link.publish('heartbeat', encodeMessage(heartbeat)).catch(() => undefined)
  }
}
