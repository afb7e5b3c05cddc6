import { recordCronEvents } from '../cron-jobs/cron-history.js'
import type { Logger } from 'pino'
import {
  Heartbeat,
  HeartbeatDelta,
  LogChunk,
  MAX_BYTES,
  OutboxBatch,
  Presence,
  ProtocolError,
  decodeJson,
  decodeMessage,
  encodeMessage,
  epochOf,
  isHeartbeatDeltaShaped,
  readsGzip,
  validate,
  type Ack,
} from '../../protocol/index.js'
import { isoNow, type Clock } from '../../common/clock.js'
import type { ChangeFeed } from './change-feed.js'
import { NodeClocks, describeOffset, type SkewChange } from './clock-offset.js'
import { HeartbeatBases } from './heartbeat-bases.js'
import { ReconnectHinter } from './reconnect-hint.js'
import type { Metrics } from '../metrics.js'
import type { HubStore } from '../store/hub-store.js'
import type { HubInboundChannel } from '../transport/hub-transport.js'

export interface IngesterOptions {
  readonly store: HubStore
  readonly clock: Clock
  readonly logger: Logger
  readonly metrics: Metrics
  readonly feed: ChangeFeed
  readonly publishAck: (nodeId: string, payload: Buffer) => Promise<void>
  /** Presence changed (a node came or went): the fleet controller may have work. */
  readonly onPresenceChange: (nodeId: string, online: boolean) => void
  /** A node reported on copies of these deployments: a rollout may take its next step. */
  readonly onStatus?: (deployments: ReadonlySet<string>) => void
  /** A node reported a new sealing key: its documents must be sealed again. */
  readonly onSealingKey?: () => void
  /** A node reported other devices or another policy: a pending copy may fit now, or a copy must leave. */
  readonly onNodeFacts?: () => void
  readonly onLogChunk?: (nodeId: string, payload: Buffer) => void
  /** A node's heartbeat no longer says it reads gzip (an older agent took its place): its document must go out plain. */
  readonly onGzipDropped?: (nodeId: string) => void
  /** A node's clock further than this from the hub's has ClockSkew (default 2 minutes). */
  readonly clockSkewThresholdMs?: number
}

export class RejectedMessage extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message)
    this.name = 'RejectedMessage'
  }
}

/**
 * Everything agents send: validated, attributed to the node the broker says sent it, stored
 * (one transaction per outbox batch, deduplicated by epoch and seq) and only then acknowledged. A bad
 * message is counted, logged and dropped; it never throws out of here.
 */
export class Ingester {
  private readonly logger: Logger
  private readonly clocks: NodeClocks
  private readonly hinter: ReconnectHinter
  private readonly heartbeats = new HeartbeatBases()

  constructor(private readonly options: IngesterOptions) {
    this.logger = options.logger.child({ component: 'ingester' })
    this.clocks = new NodeClocks(options.clockSkewThresholdMs)
    // The reconnect hint travels on the ack channel (see ReconnectHint in protocol/outbox.ts).
    this.hinter = new ReconnectHinter({ nodeIds: () => options.store.nodes.list().map((node) => node.id), publish: options.publishAck, logger: this.logger })
    options.metrics.describe('shoal_messages_in_total', 'messages received from agents, by channel')
    options.metrics.describe('shoal_messages_rejected_total', 'messages refused, by channel and reason')
    options.metrics.describe('shoal_outbox_records_total', 'outbox records received, by outcome')
  }

  handle(nodeId: string, channel: HubInboundChannel, payload: Buffer): void {
    const { metrics } = this.options
    metrics.inc('shoal_messages_in_total', { channel })
    try {
      if (!this.options.store.nodes.exists(nodeId)) throw new RejectedMessage('unknown-node', `no enrolled node ${nodeId}`)
      switch (channel) {
        case 'outbox':
          this.ingestOutbox(nodeId, payload)
          break
        case 'heartbeat':
          this.ingestHeartbeat(nodeId, payload)
          break
        case 'presence':
          this.ingestPresence(nodeId, payload)
          break
        case 'logs-chunk':
          this.ingestLogChunk(nodeId, payload)
          break
        default: {
          const unreachable: never = channel
          throw new RejectedMessage('unknown-channel', `unknown channel ${String(unreachable)}`)
        }
      }
    } catch (error) {
      const reason = error instanceof ProtocolError ? error.code : error instanceof RejectedMessage ? error.reason : 'internal'
      metrics.inc('shoal_messages_rejected_total', { channel, reason })
      const log = reason === 'internal' ? this.logger.error.bind(this.logger) : this.logger.warn.bind(this.logger)
      log({ nodeId, channel, reason, err: reason === 'internal' ? error : undefined, detail: (error as Error).message.slice(0, 500) }, 'rejected a message')
    }
  }

  private ingestOutbox(nodeId: string, payload: Buffer): void {
    const { store, clock, metrics, feed } = this.options
    const batch = decodeMessage(OutboxBatch, payload, { maxBytes: MAX_BYTES.outbox, what: 'outbox batch' })
    if (batch.nodeId !== nodeId || batch.records.some((r) => r.nodeId !== nodeId || r.body.nodeId !== nodeId)) {
      throw new RejectedMessage('wrong-node', `batch on ${nodeId}'s topic claims to be from another node`)
    }
    const receivedAt = isoNow(clock)
    const node = store.nodes.get(nodeId)
    // Workload times are put on the hub's clock with the node's measured offset (StatusRepository).
    const nodeClock = node ? { offsetMs: node.clockOffsetMs ?? null, enrolledAt: node.createdAt, toleranceMs: this.clocks.thresholdMs } : null
    const result = store.transaction(() => {
      const ingested = store.status.ingest(nodeId, epochOf(batch), batch.records, receivedAt, nodeClock)
      recordCronEvents(store, nodeId, ingested.events, receivedAt)
      store.nodes.touch(nodeId, receivedAt)
      // The newest key reported wins: nodes enrolled before sealing register theirs this way.
      const key = ingested.statuses.findLast((s) => s.sealingKey !== undefined)?.sealingKey
      // Devices and policy likewise, each from the newest status that carries it; absent leaves it be.
      const devices = ingested.statuses.findLast((s) => s.devices !== undefined)?.devices
      const policy = ingested.statuses.findLast((s) => s.policy !== undefined)?.policy
      return {
        ...ingested,
        keyChanged: key !== undefined && node !== null && store.nodes.setSealingKey(nodeId, key),
        factsChanged: node !== null && store.nodes.setReported(nodeId, { devices, policy }),
        devices,
      }
    })
    if (result.keyChanged) {
      this.logger.info({ nodeId }, 'node registered a new sealing key; its Secrets are sealed to it from now on')
      this.options.onSealingKey?.()
    }
    if (result.factsChanged) {
      this.logger.info({ nodeId, devices: result.devices }, 'node reported other devices or another policy; scheduling again')
      this.options.onNodeFacts?.()
    }
    metrics.inc('shoal_outbox_records_total', { outcome: 'applied' }, result.applied)
    metrics.inc('shoal_outbox_records_total', { outcome: 'duplicate' }, result.duplicates)
    // Echo the batch's epoch (absent for legacy) so the agent deletes only its own epoch's records.
    const ack: Ack = { nodeId, ...(batch.epoch !== undefined ? { epoch: batch.epoch } : {}), seq: result.ackSeq }
    this.options.publishAck(nodeId, encodeMessage(ack)).then(
      () => metrics.inc('shoal_messages_out_total', { channel: 'ack' }),
      (error: unknown) => this.logger.warn({ err: error, nodeId }, 'could not send ack; the agent will resend and the hub dedupes'),
    )
    if (result.statuses.length > 0) feed.publish({ type: 'node', nodeId, reason: 'status' })
    for (const event of result.events) feed.publish({ type: 'event', id: event.id, nodeId, eventType: event.type, message: event.message, receivedAt })
    const reported = new Set(result.statuses.flatMap((s) => s.workloads.map((w) => w.deployment)))
    for (const deployment of reported) feed.publish({ type: 'deployment', name: deployment, reason: 'status' })
    // A status that drops a copy names no deployment, but a rollout may wait on it: ask anyway.
    if (result.statuses.length > 0) this.options.onStatus?.(reported)
  }

  /** Validated like every other message, so garbage here is counted too, then handed on (or dropped). */
  private ingestLogChunk(nodeId: string, payload: Buffer): void {
    const chunk = decodeMessage(LogChunk, payload, { maxBytes: MAX_BYTES['logs-chunk'], what: 'log chunk' })
    if (chunk.nodeId !== nodeId) throw new RejectedMessage('wrong-node', `log chunk on ${nodeId}'s topic names ${chunk.nodeId}`)
    this.options.onLogChunk?.(nodeId, payload)
  }

  /**
   * A full heartbeat, or a delta merged into the last full one held (protocol/heartbeat-delta.ts).
   * Either way the node was heard from; a delta with no base here stores nothing else, and the
   * node is told to send a full one.
   */
  private ingestHeartbeat(nodeId: string, payload: Buffer): void {
    const value = decodeJson(payload, MAX_BYTES.heartbeat)
    const message = isHeartbeatDeltaShaped(value)
      ? { delta: validate(HeartbeatDelta, value, 'heartbeat delta') }
      : { full: validate(Heartbeat, value, 'heartbeat') }
    const claimed = message.delta?.nodeId ?? message.full?.nodeId
    if (claimed !== nodeId) throw new RejectedMessage('wrong-node', `heartbeat on ${nodeId}'s topic names ${claimed}`)
    const outcome = message.delta ? this.heartbeats.receiveDelta(message.delta) : this.heartbeats.receiveFull(message.full)
    if (outcome.reply) {
      this.options
        .publishAck(nodeId, encodeMessage(outcome.reply))
        .catch((error: unknown) =>
          this.logger.debug({ err: error, nodeId }, 'could not send the heartbeat basis; the node sends full heartbeats until it hears one'),
        )
    }
    const now = this.options.clock.now()
    const at = new Date(now).toISOString()
    const heartbeat = outcome.heartbeat
    if (!heartbeat) {
      this.logger.info({ nodeId, reason: outcome.unmerged }, 'a heartbeat delta without its base; asked the node for a full heartbeat')
      this.options.store.nodes.touch(nodeId, at)
      this.markOnline(nodeId, at)
      return
    }
    // Node time at sending minus hub time at arrival: the node's clock offset less the link delay.
    const skewed = (this.options.store.nodes.get(nodeId)?.clockSkewSince ?? null) !== null
    const { offsetMs, change } = this.clocks.observe(nodeId, Date.parse(heartbeat.at) - now, skewed)
    // A heartbeat carries its traffic figures only when they moved (agent/bandwidth/traffic-report.ts): keep the last ones.
    const previous = heartbeat.traffic ? undefined : this.options.store.nodes.lastTraffic(nodeId)
    // Unlike traffic, a heartbeat without desiredEncodings means none (a full one always says).
    const hadGzip = readsGzip(this.options.store.nodes.desiredEncodings(nodeId))
    this.options.store.nodes.recordHeartbeat(nodeId, previous ? { ...heartbeat, traffic: previous } : heartbeat, at, offsetMs)
    if (hadGzip && !readsGzip(heartbeat.desiredEncodings)) {
      this.logger.info({ nodeId }, 'the node no longer says it reads gzip; sending its desired document as plain JSON')
      this.options.onGzipDropped?.(nodeId)
    }
    if (change) this.recordSkewChange(nodeId, change, offsetMs, heartbeat.at, at)
    this.markOnline(nodeId, at)
    this.options.feed.publish({ type: 'node', nodeId, reason: 'heartbeat' })
  }

  private ingestPresence(nodeId: string, payload: Buffer): void {
    const presence = decodeMessage(Presence, payload, { maxBytes: MAX_BYTES.presence, what: 'presence' })
    if (presence.nodeId !== nodeId) throw new RejectedMessage('wrong-node', `presence on ${nodeId}'s topic names ${presence.nodeId}`)
    const at = isoNow(this.options.clock)
    // A new connection (or none): the node's next full heartbeat is confirmed to it again.
    this.heartbeats.reconnected(nodeId)
    if (presence.state === 'online') {
      this.markOnline(nodeId, at)
      this.hinter.nodeOnline(nodeId)
    } else this.markOffline(nodeId, at, 'the node said goodbye or its connection was lost (will message)')
  }

  /** ClockSkew starts or ends: stored with its event in one transaction, so it is said once. */
  private recordSkewChange(nodeId: string, change: NonNullable<SkewChange>, offsetMs: number, nodeAt: string, at: string): void {
    const { store, feed } = this.options
    const offsetSeconds = Math.round(offsetMs / 1000)
    const thresholdSeconds = Math.round(this.clocks.thresholdMs / 1000)
    const event =
      change === 'started'
        ? {
            type: 'ClockSkew',
            severity: 'warning' as const,
            message: `${nodeId}'s clock is ${describeOffset(offsetMs)} the hub's (it reads ${nodeAt} at hub time ${at}); the hub shows its own times for this node. Set the node's time: NTP, fake-hwclock or a real-time clock`,
          }
        : {
            type: 'ClockSkewCleared',
            severity: 'info' as const,
            message: `${nodeId}'s clock is within ${thresholdSeconds}s of the hub's again (offset ${offsetSeconds}s)`,
          }
    const id = store.transaction(() => {
      store.nodes.setClockSkew(nodeId, change === 'started' ? at : null, offsetMs)
      return store.status.appendEvent({ nodeId, ...event, at, data: { offsetSeconds, thresholdSeconds, nodeTime: nodeAt, hubTime: at } }, at)
    })
    this.logger[change === 'started' ? 'warn' : 'info'](
      { nodeId, offsetSeconds, nodeTime: nodeAt },
      change === 'started' ? 'node clock skewed' : 'node clock back in step',
    )
    feed.publish({ type: 'event', id, nodeId, eventType: event.type, message: event.message, receivedAt: at })
  }

  markOnline(nodeId: string, at: string): void {
    const { store } = this.options
    if (store.nodes.setOnline(nodeId, true, at)) {
      store.status.appendEvent({ nodeId, type: 'NodeOnline', severity: 'info', message: `${nodeId} is online`, at }, at)
      this.logger.info({ nodeId }, 'node online')
      this.options.feed.publish({ type: 'node', nodeId, reason: 'online' })
      this.options.onPresenceChange(nodeId, true)
    }
  }

  markOffline(nodeId: string, at: string, why: string): void {
    const { store } = this.options
    if (store.nodes.setOnline(nodeId, false, at)) {
      store.status.appendEvent({ nodeId, type: 'NodeOffline', severity: 'warning', message: `${nodeId} is offline: ${why}`, at }, at)
      this.logger.info({ nodeId, why }, 'node offline')
      this.options.feed.publish({ type: 'node', nodeId, reason: 'offline' })
      this.options.onPresenceChange(nodeId, false)
    }
  }
}
