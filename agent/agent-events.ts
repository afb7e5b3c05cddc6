import type { Logger } from 'pino'
import { isoNow, type Clock } from '../common/clock.js'
import type { NodeEvent } from '../protocol/index.js'
import type { ClockWatch } from './clock-floor.js'
import type { OutboxEntry } from './store/agent-store.js'

/** An event about this node, stamped now. */
export function nodeEvent(nodeId: string, clock: Clock, type: string, severity: NodeEvent['severity'], message: string): NodeEvent {
  return { nodeId, type, severity, message, at: isoNow(clock) }
}

/** Said once after start when the database was unreadable and a fresh one took its place. */
export function storeResetEvent(nodeId: string, clock: Clock, movedAside: string): NodeEvent {
  return nodeEvent(
    nodeId,
    clock,
    'StoreReset',
    'error',
    `the local database was unreadable and was moved aside to ${movedAside}; keeping running containers and waiting for the hub's document`,
  )
}

export function imageCollectedEvent(nodeId: string, clock: Clock, image: string, bytes: number): NodeEvent {
  return nodeEvent(nodeId, clock, 'ImageGarbageCollected', 'info', `removed unused image ${image} (${bytes} bytes)`)
}

/**
 * A check of the clock against its trusted floor: a change (behind, or recovered) is logged (an
 * error while behind, with the readings) and queued for the hub as an event; no change, nothing.
 */
export function clockWatcher(watch: Pick<ClockWatch, 'check'>, logger: Logger, store: { enqueue(entries: readonly OutboxEntry[]): void }): () => void {
  return () => {
    const event = watch.check()
    if (event === null) return
    if (event.type === 'ClockBehind') logger.error({ nodeTime: event.data?.nodeTime, floor: event.data?.floor }, event.message)
    else logger.info(event.message)
    store.enqueue([{ kind: 'event', body: event }])
  }
}
