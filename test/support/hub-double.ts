// Plays the hub's part of the wire protocol against real agents, over a real broker client:
// signs and publishes desired documents, consumes outbox batches the way the hub must
// (validate, dedupe by (node, seq), store in order, then ack cumulatively), and lets tests
// wait on what arrived. The link (MQTT here, NATS in hub-double-nats.ts) is pluggable; the
// ledger is shared, so both transports are held to the same delivery rules.
import { randomBytes } from 'node:crypto'
import mqtt, { type MqttClient } from 'mqtt'
import {
  API_VERSION,
  MAX_BYTES,
  OutboxBatch,
  Workload,
  decodeMessage,
  encodeMessage,
  generateSigningKeys,
  mqttTopic,
  mqttWildcard,
  parseMqttTopic,
  signDocument,
  type Ack,
  type Channel,
  type DesiredDocument,
  type NodeEvent,
  type NodeStatus,
  type OutboxRecord,
  type SigningKeys,
} from '../../protocol/index.js'
import type { z } from 'zod'
import type { TestLike } from './types.js'
import { waitFor } from './wait.js'

export type WorkloadInput = z.input<typeof Workload>

export interface WaitOpts {
  readonly timeoutMs?: number
  /** Only records with a seq above this count (events that happened after some point). */
  readonly afterSeq?: number
}

/** What a transport must do for the ledger: publish a signed document, send an ack. */
export interface HubLink {
  publishDocument(nodeId: string, payload: Buffer): Promise<void>
  sendAck(nodeId: string, payload: Buffer): Promise<void>
  close(): Promise<void>
}

/** A delivery the ledger refused (not a valid batch): a protocol bug on the agent's side. */
export interface RefusedBatch {
  readonly nodeId: string
  readonly reason: string
}

/**
 * The hub's consumer, minus the broker: deduplicates by (node, seq), keeps records in the order
 * they were first received, and notes anything that breaks the delivery contract (a new seq
 * lower than one already stored, a batch that is not in seq order, an invalid batch).
 */
export class OutboxLedger {
  private readonly byNode = new Map<string, OutboxRecord[]>()
  private readonly seen = new Map<string, Set<number>>()
  private readonly maxSeq = new Map<string, number>()
  /** The epoch of each node's latest batch, echoed in acks as the hub does. */
  private readonly epochs = new Map<string, string | undefined>()
  /** Contract breaches, for tests to assert empty. */
  readonly anomalies: string[] = []
  readonly refused: RefusedBatch[] = []
  /** Records received again after they were stored (at-least-once at work; allowed). */
  duplicates = 0
  batches = 0
  private acking = true

  constructor(private readonly sendAck: (nodeId: string, ack: Ack) => Promise<void>) {}

  /** Receives one batch as it came off the wire. */
  receive(nodeId: string, payload: Buffer): void {
    let batch: OutboxBatch
    try {
      batch = decodeMessage(OutboxBatch, payload, { maxBytes: MAX_BYTES.outbox, what: 'outbox batch' })
    } catch (error) {
      this.refused.push({ nodeId, reason: (error as Error).message })
      return
    }
    this.batches++
    this.epochs.set(nodeId, batch.epoch)
    if (batch.nodeId !== nodeId) this.anomalies.push(`batch for ${batch.nodeId} arrived on ${nodeId}'s topic`)
    const seen = this.seen.get(nodeId) ?? new Set<number>()
    this.seen.set(nodeId, seen)
    const stored = this.byNode.get(nodeId) ?? []
    this.byNode.set(nodeId, stored)
    let previous = -1
    for (const record of batch.records) {
      if (record.nodeId !== nodeId) this.anomalies.push(`record ${record.seq} names node ${record.nodeId} on ${nodeId}'s topic`)
      if (record.seq <= previous) this.anomalies.push(`batch not in seq order: ${record.seq} after ${previous}`)
      previous = record.seq
      if (seen.has(record.seq)) {
        this.duplicates++
        continue
      }
      const max = this.maxSeq.get(nodeId) ?? 0
      if (record.seq < max) this.anomalies.push(`new seq ${record.seq} arrived after seq ${max} was stored (out of order)`)
      seen.add(record.seq)
      stored.push(record)
      this.maxSeq.set(nodeId, Math.max(max, record.seq))
    }
    if (this.acking) this.ack(nodeId)
  }

  /** While off, batches are stored but never acknowledged (a hub that lost its acks). */
  setAcking(on: boolean): void {
    this.acking = on
    if (on) for (const nodeId of this.maxSeq.keys()) this.ack(nodeId)
  }

  private ack(nodeId: string): void {
    const seq = this.maxSeq.get(nodeId)
    if (seq === undefined) return
    const epoch = this.epochs.get(nodeId)
    this.sendAck(nodeId, { nodeId, ...(epoch !== undefined ? { epoch } : {}), seq }).catch(() => undefined)
  }

  records(nodeId: string): readonly OutboxRecord[] {
    return this.byNode.get(nodeId) ?? []
  }

  events(nodeId: string, type?: string, afterSeq = 0): NodeEvent[] {
    return this.records(nodeId)
      .filter((r): r is Extract<OutboxRecord, { kind: 'event' }> => r.kind === 'event' && r.seq > afterSeq)
      .map((r) => r.body)
      .filter((e) => type === undefined || e.type === type)
  }

  latestStatus(nodeId: string): NodeStatus | undefined {
    const statuses = this.records(nodeId).filter((r): r is Extract<OutboxRecord, { kind: 'status' }> => r.kind === 'status')
    return statuses.at(-1)?.body
  }

  lastSeq(nodeId: string): number {
    return this.maxSeq.get(nodeId) ?? 0
  }

  async waitForEvent(nodeId: string, type: string, predicate: (event: NodeEvent) => boolean = () => true, opts: WaitOpts = {}): Promise<NodeEvent> {
    return waitFor(() => this.events(nodeId, type, opts.afterSeq).find(predicate), {
      what: `a ${type} event from ${nodeId}${describeSoFar(this.events(nodeId, undefined, opts.afterSeq))}`,
      timeoutMs: opts.timeoutMs ?? 30_000,
      intervalMs: 50,
    })
  }

  async waitForStatus(nodeId: string, predicate: (status: NodeStatus) => boolean, opts: WaitOpts & { what?: string } = {}): Promise<NodeStatus> {
    return waitFor(
      () => {
        const status = this.latestStatus(nodeId)
        return status && predicate(status) ? status : undefined
      },
      {
        what: `${opts.what ?? 'a matching status'} from ${nodeId} (latest: ${JSON.stringify(this.latestStatus(nodeId) ?? null)})`,
        timeoutMs: opts.timeoutMs ?? 30_000,
        intervalMs: 50,
      },
    )
  }
}

function describeSoFar(events: readonly NodeEvent[]): string {
  if (events.length === 0) return ' (no events so far)'
  return ` (events so far: ${events.map((e) => `${e.type}${e.workload ? `[${e.workload}]` : ''}`).join(', ')})`
}

/** A hub for tests: signing keys, a link to the broker, the ledger. */
export class HubDouble {
  readonly keys: SigningKeys
  readonly ledger: OutboxLedger
  private link: HubLink | null = null

  constructor(keys: SigningKeys = generateSigningKeys()) {
    this.keys = keys
    this.ledger = new OutboxLedger((nodeId, ack) => this.requireLink().sendAck(nodeId, encodeMessage(ack)))
  }

  /** The base64 SPKI key agents pin with --hub-key. */
  get publicKey(): string {
    return this.keys.publicKey
  }

  attach(link: HubLink): void {
    this.link = link
  }

  private requireLink(): HubLink {
    if (!this.link) throw new Error('hub double has no broker link yet')
    return this.link
  }

  /** Builds and signs a document with this hub's key (or another, to forge one). */
  signedDocument(nodeId: string, workloads: readonly WorkloadInput[], generation: number, privateKeyPem = this.keys.privateKeyPem): DesiredDocument {
    return signDocument(
      {
        apiVersion: API_VERSION,
        kind: 'NodeDesiredState',
        nodeId,
        generation,
        issuedAt: new Date().toISOString(),
        // What the real hub sends: workloads with every default filled in.
        workloads: workloads.map((w) => Workload.parse(w)),
      },
      privateKeyPem,
    )
  }

  /** Signs and publishes (MQTT: retained, QoS 1; NATS: KV put). Resolves once the broker has it. */
  async publishDesired(nodeId: string, workloads: readonly WorkloadInput[], generation: number): Promise<DesiredDocument> {
    const document = this.signedDocument(nodeId, workloads, generation)
    await this.requireLink().publishDocument(nodeId, encodeMessage(document))
    return document
  }

  /** Publishes bytes as they are where a desired document goes: for forged, stale or garbage documents. */
  async publishDocumentBytes(nodeId: string, payload: Buffer | string): Promise<void> {
    await this.requireLink().publishDocument(nodeId, Buffer.from(payload))
  }

  setAcking(on: boolean): void {
    this.ledger.setAcking(on)
  }

  records(nodeId: string): readonly OutboxRecord[] {
    return this.ledger.records(nodeId)
  }

  events(nodeId: string, type?: string, afterSeq = 0): NodeEvent[] {
    return this.ledger.events(nodeId, type, afterSeq)
  }

  latestStatus(nodeId: string): NodeStatus | undefined {
    return this.ledger.latestStatus(nodeId)
  }

  lastSeq(nodeId: string): number {
    return this.ledger.lastSeq(nodeId)
  }

  waitForEvent(nodeId: string, type: string, predicate?: (event: NodeEvent) => boolean, opts?: WaitOpts): Promise<NodeEvent> {
    return this.ledger.waitForEvent(nodeId, type, predicate, opts)
  }

  waitForStatus(nodeId: string, predicate: (status: NodeStatus) => boolean, opts?: WaitOpts & { what?: string }): Promise<NodeStatus> {
    return this.ledger.waitForStatus(nodeId, predicate, opts)
  }

  async close(): Promise<void> {
    await this.link?.close()
  }
}

/** The MQTT hub: one real mqtt.js client (MQTT 3.1.1, like the embedded aedes broker wants). */
export class MqttHubDouble extends HubDouble {
  private client: MqttClient | null = null

  /** Publishes anything on any of a node's channels (garbage, oversize, forged acks). */
  async publishRaw(nodeId: string, channel: Channel, payload: Buffer | string, options: { retain?: boolean } = {}): Promise<void> {
    await publishAsync(this.requireClient(), mqttTopic(nodeId, channel), Buffer.from(payload), { qos: 1, retain: options.retain ?? false })
  }

  /** Clears the retained desired document (an empty retained message), so a restarting agent gets none. */
  async clearRetainedDesired(nodeId: string): Promise<void> {
    await this.publishRaw(nodeId, 'desired', Buffer.alloc(0), { retain: true })
  }

  get connected(): boolean {
    return this.client?.connected ?? false
  }

  private requireClient(): MqttClient {
    if (!this.client) throw new Error('MQTT hub double is not connected')
    return this.client
  }

  async connect(url: string): Promise<void> {
    const client = mqtt.connect(url, {
      clientId: `hub-double-${randomBytes(4).toString('hex')}`,
      protocolVersion: 4,
      clean: true,
      // Tests stop and start brokers: come back quickly, and subscribe again every time.
      reconnectPeriod: 200,
      connectTimeout: 5_000,
      resubscribe: false,
    })
    this.client = client
    client.on('connect', () => {
      client.subscribe([mqttWildcard('outbox')], { qos: 1 })
    })
    client.on('message', (topic, payload) => {
      const parsed = parseMqttTopic(topic)
      if (parsed?.channel === 'outbox') this.ledger.receive(parsed.nodeId, payload)
    })
    client.on('error', () => undefined)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hub double could not connect to ${url}`)), 10_000)
      client.once('connect', () => {
        clearTimeout(timer)
        // The subscription is sent on 'connect' above; wait for it to be granted.
        client.subscribe([mqttWildcard('outbox')], { qos: 1 }, (error) => (error ? reject(error) : resolve()))
      })
    })
    this.attach({
      publishDocument: (nodeId, payload) => publishAsync(client, mqttTopic(nodeId, 'desired'), payload, { qos: 1, retain: true }),
      sendAck: (nodeId, payload) => publishAsync(client, mqttTopic(nodeId, 'ack'), payload, { qos: 1, retain: false }),
      close: () => new Promise<void>((resolve) => client.end(true, {}, () => resolve())),
    })
  }
}

function publishAsync(client: MqttClient, topic: string, payload: Buffer, options: { qos: 0 | 1; retain: boolean }): Promise<void> {
  return new Promise((resolve, reject) => client.publish(topic, payload, options, (error) => (error ? reject(error) : resolve())))
}

/** An MQTT hub double connected to `url`, closed when the test ends. */
export async function startMqttHubDouble(t: TestLike, url: string, keys?: SigningKeys): Promise<MqttHubDouble> {
  const hub = new MqttHubDouble(keys)
  t.teardown(() => hub.close())
  await hub.connect(url)
  return hub
}
