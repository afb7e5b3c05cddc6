import type { Logger } from 'pino'
import { READABLE_DESIRED_ENCODINGS, type Heartbeat, type TrafficUsage } from '../../protocol/index.js'
import type { Clock } from '../../common/clock.js'
import { HeartbeatSampler } from '../heartbeat.js'
import type { IntervalTimers } from '../interval-timers.js'
import { OutboxSender } from '../outbox/outbox-sender.js'
import type { OutboxStore } from '../outbox/outbox-store.js'
import type { AgentStore } from '../store/agent-store.js'
import { linkTiming } from '../transport/link-timing.js'
import type { AgentTransport } from '../transport/transport.js'
import { coalescedKick } from './coalesced-kick.js'
import { HeartbeatSender, type HeartbeatFigures, type HeartbeatSource } from './heartbeat-beat.js'
import { linkHandlers, type LinkParts } from './link-handlers.js'

/** What the link reads of the node's store: the outbox, the heartbeat's figures, and the append notice. */
export type HubLinkStore = OutboxStore & HeartbeatSource & Pick<AgentStore, 'onOutboxAppended'>

/** The machine's figures for a heartbeat (HeartbeatSampler reads node:os; the fleet simulator makes them up). */
export type MachineSampler = Pick<HeartbeatSampler, 'sample'>

export interface HubLinkOptions extends Pick<LinkParts, 'reconciler' | 'desiredRetry' | 'logServer' | 'sessions'> {
  readonly nodeId: string
  readonly store: HubLinkStore
  readonly transport: AgentTransport
  readonly logger: Logger
  readonly clock: Clock
  readonly dataDir: string
  readonly heartbeatIntervalMs: number
  readonly timers: IntervalTimers
  /** This month's bytes against the budget for the next heartbeat, when they are news; absent: heartbeats carry none. */
  readonly traffic?: () => TrafficUsage | undefined
  /** Absent: a HeartbeatSampler over this machine and `dataDir`. */
  readonly machine?: MachineSampler
}

/** Wiring only: the outbox sender, heartbeats and the link's handlers (linkHandlers), started. */
export function startHubLink({
  nodeId,
  store,
  transport,
  logger,
  clock,
  dataDir,
  heartbeatIntervalMs,
  timers,
  traffic,
  machine,
  ...parts
}: HubLinkOptions): OutboxSender {
  const outbox = new OutboxSender({ nodeId, store, transport, logger })
  const sampler = machine ?? new HeartbeatSampler(nodeId, dataDir, clock)
  const sample = async (figures: HeartbeatFigures): Promise<Heartbeat> => {
    // Read from the store before the sampler's wait (250 ms on the first beat): a stop during
    // that wait closes the store, and nothing may read it after.
    const usage = traffic?.()
    const heartbeat = await sampler.sample(figures)
    // Every heartbeat says what the node reads, so the hub that holds the latest one knows it
    // (deltas leave it out while it stays the same); the intake inflates what this names.
    return { ...heartbeat, ...(usage ? { traffic: usage } : {}), desiredEncodings: [...READABLE_DESIRED_ENCODINGS] }
  }
  const heartbeats = new HeartbeatSender({ link: transport, store, sample, logger: logger.child({ component: 'heartbeat' }) })
  transport.start(linkHandlers({ outbox, heartbeats, logger, ...parts }), linkTiming(heartbeatIntervalMs))
  outbox.start()
  store.onOutboxAppended(coalescedKick(() => outbox.kick()))
  timers.every(heartbeatIntervalMs, () => void heartbeats.beat())
  return outbox
}
