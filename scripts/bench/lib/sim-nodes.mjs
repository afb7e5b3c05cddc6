// SIMULATED NODES as bare MQTT clients, for hub-side benchmarks where what an agent does between
// receiving a document and reporting on it must not count: each one enrolls over the hub's real
// HTTP API (a join token, a made-up inventory), connects to the hub's broker with the credentials
// it got (client id `shoal-agent-<node>`, the presence will, QoS 1), sends heartbeats, and
// answers every NEW desired document at once with a status record in an outbox batch (the
// format protocol/outbox.ts defines and hub/ingest/ingester.ts ingests): each workload of the
// document `running`, health `none`, at the document's revision. It neither verifies signatures
// nor runs anything. Every receive and send is time-stamped on one monotonic clock
// (`monoMs`: CLOCK_MONOTONIC, shared by every process on the machine, and the clock of V8's CPU
// profiles), in the process that runs the nodes.
import { randomBytes } from 'node:crypto'
import mqtt from 'mqtt'

/** Milliseconds on CLOCK_MONOTONIC (process.hrtime), comparable across processes and with .cpuprofile timestamps (µs). */
export const monoMs = () => Number(process.hrtime.bigint()) / 1e6

const ROOT = 'shoal/v1/nodes'
const topic = (nodeId, channel) => `${ROOT}/${nodeId}/${channel}`

/** An inventory that passes the hub's schema; nothing reads it in these benchmarks. */
export function simInventory(name) {
  return {
    hostname: name,
    arch: 'amd64',
    cpu: { model: 'simulated', cores: 4 },
    memoryBytes: 8 * 1024 ** 3,
    disks: [{ mount: '/', sizeBytes: 64 * 1024 ** 3 }],
    os: { platform: 'linux', distro: 'simulated', release: '1', kernel: '6' },
    hardware: {},
    gpus: [],
    runtime: { name: 'docker', version: 'simulated' },
  }
}

/**
 * POST /api/v1/enroll as an agent would; returns the node's id and broker credentials. A 429
 * (the hub's admission rate, `--enroll-rate`) is retried after its Retry-After plus jitter, as
 * the agent does (agent/transport/retry-after.ts); `retried` counts those, for the benchmark.
 */
export async function enrollSimNode(apiUrl, token, name, labels, retried = { count: 0 }) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const response = await fetch(`${apiUrl}/api/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, name, labels, inventory: simInventory(name), agentVersion: 'bench-sim' }),
    })
    const text = await response.text()
    if (response.status === 429) {
      const seconds = Number(response.headers.get('retry-after') ?? '1')
      const waitMs = seconds * 1000 + Math.floor(Math.random() * (seconds * 500 + 1000))
      retried.count++
      await new Promise((resolve) => setTimeout(resolve, waitMs))
      continue
    }
    if (!response.ok) throw new Error(`enrolling ${name}: HTTP ${response.status}: ${text.slice(0, 300)}`)
    return JSON.parse(text)
  }
  throw new Error(`enrolling ${name}: still refused with 429 after 100 tries`)
}

export class SimNode {
  /**
   * @param enrollment the hub's EnrollmentResponse
   * @param log shared array: {type:'recv'|'send', nodeId, generation, revisions: {deployment: revision}, at}
   */
  constructor(enrollment, { log, heartbeatMs = 15_000 } = {}) {
    this.nodeId = enrollment.nodeId
    this.enrollment = enrollment
    this.log = log ?? []
    this.heartbeatMs = heartbeatMs
    this.epoch = randomBytes(6).toString('hex')
    this.seq = 0
    this.generation = 0
    this.connected = false
    this.connects = 0
    this.startedAt = Date.now()
    this.errors = 0
    /** The first few errors (connection, publish), for the benchmark to report. */
    this.errorMessages = []
  }

  error(error) {
    this.errors++
    if (this.errorMessages.length < 3) this.errorMessages.push(String(error?.message ?? error).slice(0, 200))
  }

  connect() {
    const { nodeId } = this
    const presence = (state) => Buffer.from(JSON.stringify({ nodeId, state, at: new Date().toISOString() }))
    this.client = mqtt.connect(this.enrollment.brokerUrl, {
      clientId: `shoal-agent-${nodeId}`,
      username: this.enrollment.username,
      password: this.enrollment.password,
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      connectTimeout: 30_000,
      reconnectPeriod: 1_000 + Math.floor(Math.random() * 1_000),
      queueQoSZero: false,
      will: { topic: topic(nodeId, 'presence'), payload: presence('offline'), qos: 1, retain: true },
    })
    this.client.on('error', (error) => this.error(error))
    this.client.on('close', () => {
      this.connected = false
    })
    this.client.on('connect', () => {
      this.connected = true
      this.connects++
      this.client.subscribe([topic(nodeId, 'desired'), topic(nodeId, 'ack')], { qos: 1 })
      this.client.publish(topic(nodeId, 'presence'), presence('online'), { qos: 1, retain: true })
    })
    this.client.on('message', (t, payload) => {
      if (t.endsWith('/desired')) this.onDesired(payload)
    })
    // Heartbeats as an agent on generic-amd64 sends them (every 15 s), spread over the interval.
    this.heartbeatTimer = setTimeout(
      () => {
        this.heartbeat()
        this.heartbeatTimer = setInterval(() => this.heartbeat(), this.heartbeatMs)
      },
      Math.floor(Math.random() * this.heartbeatMs),
    )
  }

  heartbeat() {
    if (!this.connected) return
    const body = {
      nodeId: this.nodeId,
      at: new Date().toISOString(),
      uptimeSeconds: (Date.now() - this.startedAt) / 1000,
      observedGeneration: this.generation,
      outboxDepth: 0,
      cpuPercent: 1,
      memory: { usedBytes: 1024 ** 3, totalBytes: 8 * 1024 ** 3 },
      disk: { usedBytes: 10 * 1024 ** 3, totalBytes: 64 * 1024 ** 3 },
      workloads: { running: this.workloads?.length ?? 0, total: this.workloads?.length ?? 0 },
    }
    this.client.publish(topic(this.nodeId, 'heartbeat'), Buffer.from(JSON.stringify(body)), { qos: 0 })
  }

  onDesired(payload) {
    const at = monoMs()
    let document
    try {
      document = JSON.parse(payload.toString('utf8'))
    } catch (error) {
      this.error(error)
      return
    }
    if (!Number.isInteger(document.generation) || document.generation <= this.generation) return
    this.generation = document.generation
    this.workloads = document.workloads ?? []
    const revisions = Object.fromEntries(this.workloads.map((w) => [w.deployment, w.revision]))
    this.log.push({ type: 'recv', nodeId: this.nodeId, generation: document.generation, revisions, at })
    // At once: every workload of the document running at its revision, as an agent's outbox would say it.
    const now = new Date().toISOString()
    const status = {
      nodeId: this.nodeId,
      observedGeneration: document.generation,
      workloads: this.workloads.map((w) => ({
        name: w.name,
        deployment: w.deployment,
        revision: w.revision,
        state: 'running',
        health: 'none',
        restarts: 0,
        since: now,
      })),
      at: now,
    }
    const batch = { nodeId: this.nodeId, epoch: this.epoch, records: [{ nodeId: this.nodeId, seq: ++this.seq, kind: 'status', body: status }] }
    const bytes = Buffer.from(JSON.stringify(batch))
    this.log.push({ type: 'send', nodeId: this.nodeId, generation: document.generation, revisions, at: monoMs() })
    this.client.publish(topic(this.nodeId, 'outbox'), bytes, { qos: 1 }, (error) => error && this.error(error))
  }

  close() {
    clearTimeout(this.heartbeatTimer)
    clearInterval(this.heartbeatTimer)
    return new Promise((resolve) => {
      if (!this.client) return resolve()
      this.client.end(true, {}, () => resolve())
    })
  }
}

/** A made-up but stable name for node `i` of a run (the hub renames it if taken). */
export function simNodeName(prefix, i) {
  return `${prefix}-${String(i).padStart(4, '0')}`.slice(0, 63).replace(/[^a-z0-9-]/g, '-')
}
