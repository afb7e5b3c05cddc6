// Plays the hub's part of the wire protocol for one node over a real MQTT broker: signs and
// publishes desired documents (retained, QoS 1) with its own Ed25519 key, and consumes the
// node's outbox the way the hub must (cumulative ack of the highest seq), noting when each
// status record arrived. The agent pins the key with --hub-key.
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import mqtt from 'mqtt'
import { DIST } from './services.mjs'

const protocol = await import(pathToFileURL(path.join(DIST, 'protocol', 'index.js')).href)

export class MqttHubDouble {
  constructor(nodeId) {
    this.nodeId = nodeId
    this.keys = protocol.generateSigningKeys()
    /** Status records as they arrived: { at (performance.now()), seq, status }. */
    this.statuses = []
    this.batches = 0
    this.waiters = new Set()
  }

  get publicKey() {
    return this.keys.publicKey
  }

  async connect(url) {
    this.client = mqtt.connect(url, { clientId: `bench-hub-${randomBytes(4).toString('hex')}`, protocolVersion: 4, clean: true, reconnectPeriod: 500 })
    this.client.on('error', () => undefined)
    this.client.on('message', (topic, payload) => {
      if (topic === protocol.mqttTopic(this.nodeId, 'presence')) {
        this.online = payload.length > 0 && JSON.parse(payload.toString('utf8')).state === 'online'
        for (const waiter of this.waiters) waiter()
      } else {
        this.onOutbox(payload)
      }
    })
    await new Promise((resolve, reject) => {
      this.client.once('connect', () => {
        this.client.subscribe([protocol.mqttTopic(this.nodeId, 'outbox'), protocol.mqttTopic(this.nodeId, 'presence')], { qos: 1 }, (error) =>
          error ? reject(error) : resolve(),
        )
      })
    })
  }

  /** Resolves once the agent's retained presence says "online". */
  waitForOnline(timeoutMs = 60_000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!this.online) return
        clearTimeout(timer)
        this.waiters.delete(check)
        resolve()
      }
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(new Error(`${this.nodeId} did not come online within ${timeoutMs} ms`))
      }, timeoutMs)
      this.waiters.add(check)
      check()
    })
  }

  onOutbox(payload) {
    const at = performance.now()
    const batch = protocol.decodeMessage(protocol.OutboxBatch, payload, { maxBytes: protocol.MAX_BYTES.outbox, what: 'outbox batch' })
    this.batches++
    for (const record of batch.records) if (record.kind === 'status') this.statuses.push({ at, seq: record.seq, status: record.body })
    const seq = batch.records.at(-1).seq
    // With the batch's outbox epoch, as the hub acks: the agent ignores an ack for another epoch.
    const ack = { nodeId: this.nodeId, ...(batch.epoch !== undefined ? { epoch: batch.epoch } : {}), seq }
    this.client.publish(protocol.mqttTopic(this.nodeId, 'ack'), protocol.encodeMessage(ack), { qos: 1 })
    for (const waiter of this.waiters) waiter()
  }

  /** Signs and publishes generation `generation` with these workloads (defaults filled in, as the hub does). */
  publishDesired(generation, workloads) {
    const document = protocol.signDocument(
      {
        apiVersion: protocol.API_VERSION,
        kind: 'NodeDesiredState',
        nodeId: this.nodeId,
        generation,
        issuedAt: new Date().toISOString(),
        workloads: workloads.map((w) => protocol.Workload.parse(w)),
      },
      this.keys.privateKeyPem,
    )
    const payload = protocol.encodeMessage(document)
    return new Promise((resolve, reject) =>
      this.client.publish(protocol.mqttTopic(this.nodeId, 'desired'), payload, { qos: 1, retain: true }, (error) => (error ? reject(error) : resolve())),
    )
  }

  /** Resolves with the arrival time of the first status (after index `from`) that satisfies `predicate`. */
  waitForStatus(predicate, { from = 0, timeoutMs = 30_000 } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.statuses.slice(from).find((s) => predicate(s.status))
        if (!found) return
        clearTimeout(timer)
        this.waiters.delete(check)
        resolve(found)
      }
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(new Error(`no matching status from ${this.nodeId} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.waiters.add(check)
      check()
    })
  }

  async close() {
    await new Promise((resolve) => this.client?.end(true, {}, resolve) ?? resolve())
  }
}
