import type { JetStreamManager, NatsConnection, Subscription } from 'nats'
import type { Logger } from 'pino'
import { NATS_DESIRED_BUCKET } from '../../protocol/index.js'
import { CONSUMERS_PER_NODE, consumersOverBound, type DesiredConsumer } from './nats-consumer-bound.js'

const STREAM = `KV_${NATS_DESIRED_BUCKET}`

/** The subject nats-server announces each new consumer of the desired-state stream on. */
export const CONSUMER_CREATED_ADVISORY = `$JS.EVENT.ADVISORY.CONSUMER.CREATED.${STREAM}.>`

export interface NatsConsumerWardenOptions {
  readonly logger: Logger
  /** A sweep this long after the first creation advisory, so a burst costs one listing. */
  readonly debounceMs?: number
  /** A sweep at least this often, for advisories missed while the hub was disconnected. */
  readonly intervalMs?: number
  readonly limit?: number
}

/**
 * Keeps each node's consumers on the desired-state stream within CONSUMERS_PER_NODE: sweeps
 * after nats-server announces new consumers and every few minutes, deleting the oldest beyond
 * the bound. nats-server has no per-user consumer limit outside JWT accounts, and a node's
 * rights must include creating consumers on its own key, so the hub enforces the bound.
 */
export class NatsConsumerWarden {
  private readonly logger: Logger
  private readonly debounceMs: number
  private readonly intervalMs: number
  private readonly limit: number
  private advisories: Subscription | null = null
  private interval: NodeJS.Timeout | null = null
  private pending: NodeJS.Timeout | null = null
  private running: Promise<void> = Promise.resolve()
  private stopped = false

  constructor(options: NatsConsumerWardenOptions) {
    this.logger = options.logger.child({ component: 'nats-consumer-warden' })
    this.debounceMs = options.debounceMs ?? 1_000
    this.intervalMs = options.intervalMs ?? 300_000
    this.limit = options.limit ?? CONSUMERS_PER_NODE
  }

  start(nc: NatsConnection, jsm: JetStreamManager): void {
    this.advisories = nc.subscribe(CONSUMER_CREATED_ADVISORY, {
      callback: (error) => {
        if (error) this.logger.warn({ err: error }, 'cannot follow consumer advisories; relying on the periodic sweep')
        else this.schedule(jsm)
      },
    })
    this.interval = setInterval(() => this.schedule(jsm, 0), this.intervalMs).unref()
  }

  /** Sweeps now (after any sweep in progress); resolves when done. */
  sweepNow(jsm: JetStreamManager): Promise<void> {
    this.running = this.running.then(() => this.sweep(jsm))
    return this.running
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.pending) clearTimeout(this.pending)
    if (this.interval) clearInterval(this.interval)
    this.advisories?.unsubscribe()
    await this.running
  }

  private schedule(jsm: JetStreamManager, delayMs = this.debounceMs): void {
    if (this.stopped || this.pending) return
    this.pending = setTimeout(() => {
      this.pending = null
      void this.sweepNow(jsm)
    }, delayMs).unref()
  }

  private async sweep(jsm: JetStreamManager): Promise<void> {
    if (this.stopped) return
    try {
      const consumers: DesiredConsumer[] = []
      for await (const info of jsm.consumers.list(STREAM)) {
        consumers.push({ name: info.name, filterSubject: info.config.filter_subject ?? '', created: info.created })
      }
      for (const excess of consumersOverBound(consumers, this.limit)) {
        let deleted = 0
        for (const name of excess.names) {
          // Already gone (an ordered consumer the node replaced) counts as done.
          if (await jsm.consumers.delete(STREAM, name).catch(() => false)) deleted += 1
        }
        this.logger.warn(
          { nodeId: excess.nodeId, held: excess.held, deleted, limit: this.limit },
          `node held ${excess.held} consumers on its desired-state key (an agent needs 1); deleted the oldest beyond ${this.limit}`,
        )
      }
    } catch (error) {
      if (!this.stopped) this.logger.warn({ err: error }, 'consumer sweep failed; the next advisory or interval retries')
    }
  }
}
