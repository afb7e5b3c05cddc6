import type { Logger } from 'pino'
import { encodeMessage, type NodeStatus, type Presence } from '../../protocol/index.js'
import { isoNow, systemClock, type Clock } from '../../common/clock.js'
import { enrollWithHub, identityFromEnrollment } from '../enroll.js'
import { startHubLink } from '../hub-link/hub-link.js'
import { takeDesired } from '../hub-link/link-handlers.js'
import { DesiredIntake, type IntakeResult } from '../intake/desired-intake.js'
import { DesiredRetry } from '../intake/desired-retry.js'
import { IntervalTimers } from '../interval-timers.js'
import type { OutboxLimits } from '../outbox/outbox-policy.js'
import type { OutboxSender } from '../outbox/outbox-sender.js'
import type { Identity } from '../store/agent-store.js'
import { createTransport } from '../transport/create-transport.js'
import { ReconnectHints } from '../transport/reconnect-hint.js'
import type { AgentTransport } from '../transport/transport.js'
import { MemoryNodeStore } from './memory-node-store.js'
import { SimulatedMachine, simulatedInventory } from './simulated-machine.js'
import { runningWorkloads } from './simulated-workloads.js'

/** What a simulated node tells whoever runs it (a benchmark, a test); every callback optional. */
export interface NodeObserver {
  /** The node's link to the broker came up or went down. */
  readonly link?: (nodeId: string, up: boolean) => void
  /** The intake's verdict on a desired document, exactly as the agent's intake gives it. */
  readonly intake?: (nodeId: string, result: IntakeResult) => void
  /** The hub acknowledged a status this node sent. */
  readonly acknowledged?: (nodeId: string, status: NodeStatus) => void
}

/** How a simulated node runs, enrolled or pre-provisioned. */
export interface SimulatedNodeRunOptions {
  readonly logger: Logger
  readonly clock?: Clock
  /** As a firmware profile's heartbeatInterval (generic-amd64: 30 s). */
  readonly heartbeatIntervalMs: number
  readonly outboxLimits?: OutboxLimits
  readonly observer?: NodeObserver
}

export interface SimulatedNodeOptions extends SimulatedNodeRunOptions {
  /** The hub's HTTP API, for enrollment. */
  readonly hubUrl: string
  readonly token: string
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  /** Ends an enrollment still retrying an unreachable hub. */
  readonly signal?: AbortSignal
}

const DEFAULT_OUTBOX_LIMITS: OutboxLimits = { maxRecords: 1000, maxBytes: 1024 * 1024 }
/** As the agent's safety net behind the append notice (generic-amd64's statusBatchInterval). */
const KICK_INTERVAL_MS = 5_000

/**
 * One simulated node, made of the agent's own parts: enrollment (enrollWithHub), the transport
 * the enrollment names (MQTT or NATS, with the agent's jittered backoff and the hub's reconnect
 * hints), the intake that verifies every desired document's signature, the hub link's
 * heartbeats and outbox sender. What it does not have is what would make it a machine: its
 * store is in memory (MemoryNodeStore), its inventory and load are made up (SimulatedMachine),
 * and it runs no containers: an accepted document's workloads are reported running at once
 * (runningWorkloads). Its link can be closed and opened again (churn) with the store kept, as an
 * agent restart keeps its database.
 */
export class SimulatedNode {
  private readonly store: MemoryNodeStore
  private readonly intake: DesiredIntake
  private readonly desiredRetry: DesiredRetry
  private link: { transport: AgentTransport; sender: OutboxSender; timers: IntervalTimers } | null = null
  private readonly clock: Clock
  private readonly logger: Logger

  private constructor(
    private readonly identity: Identity,
    private readonly options: SimulatedNodeRunOptions,
  ) {
    this.clock = options.clock ?? systemClock
    this.logger = options.logger.child({ nodeId: identity.nodeId })
    const nodeId = identity.nodeId
    const observer = options.observer
    this.store = new MemoryNodeStore(this.clock, options.outboxLimits ?? DEFAULT_OUTBOX_LIMITS, (status) => observer?.acknowledged?.(nodeId, status))
    this.intake = new DesiredIntake({ nodeId, store: this.store, clock: this.clock, logger: this.logger, hubPublicKey: () => identity.hubPublicKey })
    const observedIntake = {
      receive: (payload: Buffer): IntakeResult => {
        const result = this.intake.receive(payload)
        observer?.intake?.(nodeId, result)
        return result
      },
    }
    this.desiredRetry = new DesiredRetry({
      retryMs: 5_000,
      logger: this.logger,
      take: takeDesired(observedIntake, { request: (reason) => this.reconcile(reason) }),
    })
  }

  /** Enrolls with the hub (retrying while it is unreachable, as the agent does); the link is not started. */
  static async enroll(options: SimulatedNodeOptions): Promise<SimulatedNode> {
    const clock = options.clock ?? systemClock
    const response = await enrollWithHub(
      options.hubUrl,
      { token: options.token, name: options.name, labels: { ...options.labels }, inventory: simulatedInventory(options.name), agentVersion: 'simulator' },
      options.logger,
      options.signal,
    )
    const identity = identityFromEnrollment(response, isoNow(clock))
    return new SimulatedNode(identity, options)
  }

  /** A node given its broker and the hub key to pin, without enrollment (as `shoal agent run --hub mqtt://… --hub-key …`). */
  static provisioned(identity: Identity, options: SimulatedNodeRunOptions): SimulatedNode {
    return new SimulatedNode(identity, options)
  }

  get nodeId(): string {
    return this.identity.nodeId
  }

  get connected(): boolean {
    return this.link?.transport.connected ?? false
  }

  /** The generation the node holds, 0 before any. */
  get generation(): number {
    return this.store.desired()?.generation ?? 0
  }

  /** Opens the link to the broker (the agent's transport, heartbeats and outbox sender). */
  async start(): Promise<void> {
    if (this.link) return
    const nodeId = this.nodeId
    const presence = (state: Presence['state']): Buffer => encodeMessage({ nodeId, state, at: isoNow(this.clock) } satisfies Presence)
    const hints = new ReconnectHints({ nodeId, stored: null, save: () => undefined, logger: this.logger })
    const transport = await createTransport({ hubUrl: null }, this.identity, this.logger, presence, hints)
    if (transport === null) throw new Error(`node ${nodeId}: the enrollment named no broker`)
    const observer = this.options.observer
    const observed: AgentTransport = {
      get kind() {
        return transport.kind
      },
      get connected() {
        return transport.connected
      },
      start: (handlers, timing) =>
        transport.start(
          {
            ...handlers,
            onConnected: () => {
              observer?.link?.(nodeId, true)
              handlers.onConnected()
            },
            onDisconnected: (reason) => {
              observer?.link?.(nodeId, false)
              handlers.onDisconnected(reason)
            },
          },
          timing,
        ),
      publish: (channel, payload, publishOptions) => transport.publish(channel, payload, publishOptions),
      close: (goodbye) => transport.close(goodbye),
    }
    const timers = new IntervalTimers()
    const noSessions = { receive: () => undefined, linkDown: () => undefined }
    const sender = startHubLink({
      nodeId,
      store: this.store,
      transport: observed,
      logger: this.logger,
      clock: this.clock,
      dataDir: '',
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      timers,
      reconciler: { request: (reason) => this.reconcile(reason) },
      desiredRetry: this.desiredRetry,
      logServer: { receive: () => undefined },
      sessions: noSessions,
      machine: new SimulatedMachine(nodeId, this.clock),
    })
    timers.every(KICK_INTERVAL_MS, () => sender.kick())
    this.link = { transport: observed, sender, timers }
  }

  /** Closes the link, saying goodbye as a stopping agent does; the store (desired document, outbox) is kept. */
  async stopLink(): Promise<void> {
    const link = this.link
    if (!link) return
    this.link = null
    link.timers.stop()
    link.sender.stop()
    await link.transport.close(encodeMessage({ nodeId: this.nodeId, state: 'offline', at: isoNow(this.clock) } satisfies Presence))
  }

  async stop(): Promise<void> {
    this.desiredRetry.stop()
    await this.stopLink()
  }

  /** The agent's reconciler stands here: a newly accepted document's workloads are reported running at once. */
  private reconcile(reason: string): void {
    if (reason !== 'desired') return
    const held = this.store.desired()
    if (!held) return
    const { records, status } = runningWorkloads(this.nodeId, held.document, isoNow(this.clock))
    this.store.record(records, [status])
  }
}
