import type { KeyObject } from 'node:crypto'
import type { Logger } from 'pino'
import { DesiredDocument, MAX_BYTES, ProtocolError, decodeJson, isNewer, validate, verifyDocumentSignature, type NodeEvent } from '../../protocol/index.js'
import { inflateDesired } from '../../protocol/desired-compression.js'
import { isoNow, monotonicNow, type Clock } from '../../common/clock.js'
import type { AgentStore } from '../store/agent-store.js'
import { unopenableSecret } from '../values/open-secrets.js'
import { RejectionLimiter } from './rejection-limiter.js'

export type IntakeResult =
  | { readonly outcome: 'accepted'; readonly generation: number }
  | { readonly outcome: 'stale'; readonly generation: number; readonly current: number }
  /** An empty retained message: MQTT's way of clearing a topic, not a document to judge. */
  | { readonly outcome: 'cleared' }
  | { readonly outcome: 'rejected'; readonly reason: string; readonly code: string }

/** What the intake reads and writes: the document held, storing a newer one, and rejection events. */
export type IntakeStore = Pick<AgentStore, 'desired' | 'acceptDesired' | 'enqueue'>

export interface DesiredIntakeOptions {
  readonly nodeId: string
  /** The agent's SQLite store, or the fleet simulator's in-memory one. */
  readonly store: IntakeStore
  readonly clock: Clock
  readonly logger: Logger
  /** The hub key pinned at enrollment; null means no hub document can ever be accepted. */
  readonly hubPublicKey: () => string | null
  /** The node's sealing key, to check every sealed Secret opens before a document is taken; null or absent: none does. */
  readonly sealingKey?: () => KeyObject | null
}

/**
 * The only door for desired state: a gzipped payload inflated within the size limit, then size,
 * JSON, signature (over the canonical JSON of the document as received), schema,
 * addressee, generation, then its sealed Secrets (each must open with this node's key). Only a
 * newer, verified document is stored (durably, as received: Secrets stay sealed) and applied; a
 * refused one becomes an event with the reason, and nothing stored changes.
 */
export class DesiredIntake {
  private readonly logger: Logger
  private readonly rejections = new RejectionLimiter()

  constructor(private readonly options: DesiredIntakeOptions) {
    this.logger = options.logger.child({ component: 'intake' })
  }

  receive(payload: Buffer | Uint8Array | string): IntakeResult {
    const result = this.evaluate(payload)
    const { store, clock, nodeId } = this.options
    switch (result.outcome) {
      case 'accepted':
        break
      case 'cleared':
        this.logger.info('the desired-state topic was cleared; keeping the stored document')
        break
      case 'stale':
        this.logger.debug({ generation: result.generation, current: result.current }, 'ignoring a desired document that is not newer')
        break
      case 'rejected': {
        if (!this.rejections.admit(result.code, result.reason, monotonicNow(clock))) break
        this.logger.warn({ code: result.code, reason: result.reason }, 'rejected a desired document')
        const rejected: NodeEvent = {
          nodeId,
          type: 'DesiredRejected',
          severity: 'error',
          message: result.reason.slice(0, 4000),
          at: isoNow(clock),
          data: { code: result.code },
        }
        store.enqueue([{ kind: 'event', body: rejected }])
        break
      }
    }
    return result
  }

  /** Reports, as one event per code, the rejections of ended windows that were only counted. */
  flushRejections(): void {
    const { store, clock, nodeId } = this.options
    const due = this.rejections.due(monotonicNow(clock))
    if (due.length === 0) return
    const events = due.map(
      (d): NodeEvent => ({
        nodeId,
        type: 'DesiredRejected',
        severity: 'error',
        message:
          `${d.count} more desired document(s) rejected with code ${d.code} within ${d.windowMs / 1000} s, counted but not reported one by one; the last: ${d.lastReason}`.slice(
            0,
            4000,
          ),
        at: isoNow(clock),
        data: { code: d.code, suppressed: d.count },
      }),
    )
    for (const d of due) this.logger.warn({ code: d.code, count: d.count, reason: d.lastReason }, 'rejected desired documents (summary)')
    store.enqueue(events.map((body) => ({ kind: 'event' as const, body })))
  }

  private evaluate(payload: Buffer | Uint8Array | string): IntakeResult {
    const { store, clock, nodeId } = this.options
    if (payload.length === 0) return { outcome: 'cleared' }
    try {
      // Inflated within the same bound the JSON is held to, so the checks below see no more than it.
      const raw = decodeJson(inflateDesired(payload, MAX_BYTES.desired), MAX_BYTES.desired)
      const key = this.options.hubPublicKey()
      if (key === null)
        return {
          outcome: 'rejected',
          code: 'no-pinned-key',
          reason: 'no hub key is pinned (enroll with --token, or pass --hub-key), so no desired document can be trusted',
        }
      verifyDocumentSignature(raw, key)
      const document = validate(DesiredDocument, raw, 'desired document')
      if (document.nodeId !== nodeId) {
        return { outcome: 'rejected', code: 'wrong-node', reason: `document is addressed to node ${document.nodeId}, not ${nodeId}` }
      }
      const current = store.desired()?.generation ?? null
      if (!isNewer(document.generation, current)) return { outcome: 'stale', generation: document.generation, current: current ?? 0 }
      // Opened only to check, and dropped: a Secret is decrypted for real only when a container is made.
      const unopenable = unopenableSecret(document, nodeId, this.options.sealingKey?.() ?? null)
      if (unopenable) return { outcome: 'rejected', ...unopenable }
      const accepted: NodeEvent = {
        nodeId,
        type: 'DesiredAccepted',
        severity: 'info',
        message: `accepted generation ${document.generation} with ${document.workloads.length} workload(s)`,
        at: isoNow(clock),
        data: { generation: document.generation },
      }
      store.acceptDesired(document, accepted)
      this.logger.info({ generation: document.generation, workloads: document.workloads.length }, 'accepted desired document')
      return { outcome: 'accepted', generation: document.generation }
    } catch (error) {
      if (error instanceof ProtocolError) return { outcome: 'rejected', code: error.code, reason: error.message }
      throw error
    }
  }
}
