import { chmodSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { PRIVATE_FILE_MODE, preparePrivateDir } from '../common/fs/private-files.js'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { isRenamedFrom, memoryBytes, durationMs, encodeMessage, type Inventory, type NodeEvent, type Presence, type Workload } from '../protocol/index.js'
import { readPackageVersion } from '../common/version.js'
import { enrollWithHub } from './enroll.js'
import { loadProfiles } from '../firmware-profiles/catalog.js'
import { matchProfile } from '../firmware-profiles/matcher.js'
import type { FirmwareProfile } from '../firmware-profiles/schema.js'
import { isoNow, systemClock, type Clock } from '../common/clock.js'
import { AgentConfigError, DATABASE_FILE, nodeNameFromHostname, type AgentConfig } from './config.js'
import { HeartbeatSampler } from './heartbeat.js'
import { ImageCollector } from './image-collector.js'
import { DesiredIntake } from './intake/desired-intake.js'
import { ClockWatch, trustedFloor } from './clock-floor.js'
import { DesiredRetry } from './intake/desired-retry.js'
import { collectInventory } from './inventory.js'
import { LogServer } from './log-server.js'
import { OutboxSender } from './outbox/outbox-sender.js'
import { Reconciler, type DesiredView } from './reconcile/reconciler.js'
import type { ContainerRuntime } from './runtime/runtime.js'
import { createDockerRuntime } from './runtime/docker-runtime.js'
import { loadStaticWorkloads } from './static-workloads.js'
import { AgentStore, type Identity } from './store/agent-store.js'
import { openAgentDatabase } from './store/open-agent-database.js'
import type { AgentTransport } from './transport/transport.js'
import { ReconnectHints } from './transport/reconnect-hint.js'

export { DATABASE_FILE }
/** A copy of the identity outside SQLite, so a corrupt database does not cost the node its enrollment. */
export const IDENTITY_FILE = 'identity.json'

export interface AgentDeps {
  readonly logger: Logger
  readonly clock?: Clock
  /** Another runtime (or a test's) instead of Docker. */
  readonly runtime?: ContainerRuntime
}

export interface RunningAgent {
  readonly nodeId: string
  readonly store: AgentStore
  readonly reconciler: Reconciler
  readonly profile: FirmwareProfile
  stop(): Promise<void>
}

/**
 * Starts the agent: store first (so it can act offline), then the runtime and reconciler, then
 * the hub link. Containers are never stopped on shutdown: the engine keeps them running.
 */
export async function startAgent(config: AgentConfig, deps: AgentDeps): Promise<RunningAgent> {
  const clock = deps.clock ?? systemClock
  const logger = deps.logger
  preparePrivateDir(config.dataDir)

  const opened = openAgentDatabase(join(config.dataDir, DATABASE_FILE), logger.child({ component: 'store' }), { now: () => clock.now() })

  const inventory = await collectInventory({ onProbeFailed: (probe, reason) => logger.debug({ probe, reason }, 'inventory probe failed') })
  const profiles = await loadProfiles()
  const choice = matchProfile(inventory, profiles, config.profile ?? undefined)
  const profile = choice.profile
  logger.info({ profile: profile.name, reasons: choice.reasons }, 'firmware profile chosen')
  const outboxLimits = { maxRecords: profile.agent.outbox.maxRecords, maxBytes: memoryBytes(profile.agent.outbox.maxBytes) }

  const store = new AgentStore(opened.db, clock, outboxLimits)
  // The database is the record; the mirror file restores it after a corrupt file was moved aside.
  const known = store.identity() ?? readIdentityMirror(config.dataDir)
  const provisionalId = known?.nodeId ?? config.name ?? nodeNameFromHostname(hostname())
  if (known && config.name && !answersToName(known, config.name)) {
    store.close()
    throw new AgentConfigError('--name', `this data directory belongs to node ${known.nodeId}; refusing to run it as ${config.name}`)
  }
  let finalIdentity: Identity
  try {
    finalIdentity = {
      nodeId: provisionalId,
      hubPublicKey: pinnedKey(known?.hubPublicKey ?? null, config.hubKey),
      brokerUrl: known?.brokerUrl ?? null,
      username: known?.username ?? null,
      password: known?.password ?? null,
      enrolledAt: known?.enrolledAt ?? null,
    }
    if (needsEnrollment(config, known)) {
      finalIdentity = await enrollNode(config, finalIdentity, inventory, logger, clock)
    } else if (config.token && known?.enrolledAt) {
      logger.info({ nodeId: known.nodeId, enrolledAt: known.enrolledAt }, 'already enrolled; ignoring --token')
    }
  } catch (error) {
    store.close()
    throw error
  }
  store.saveIdentity(finalIdentity)
  const nodeId = finalIdentity.nodeId
  writeIdentityMirror(config.dataDir, finalIdentity)
  const nodeLogger = logger.child({ nodeId: finalIdentity.nodeId })
  if (opened.movedAside) {
    store.enqueue([{ kind: 'event', body: nodeEvent(nodeId, clock, 'StoreReset', 'error', `the local database was unreadable and was moved aside to ${opened.movedAside}; keeping running containers and waiting for the hub's document`) }])
  }

  const runtime = deps.runtime ?? (await createDockerRuntime({ logger: nodeLogger, ...(config.dockerSocket ? { docker: config.dockerSocket } : {}) }))
  let staticWorkloads: Workload[] = []
  const reloadStatic = (): void => {
    if (!config.staticDir) return
    const result = loadStaticWorkloads(config.staticDir)
    for (const error of result.errors) nodeLogger.error({ staticDir: config.staticDir }, `static manifest: ${error}`)
    staticWorkloads = result.workloads
  }
  reloadStatic()

  const view = (): DesiredView => {
    const desired = store.desired()
    const hubWorkloads = desired?.document.workloads ?? []
    return {
      workloads: [...hubWorkloads, ...staticWorkloads],
      generation: desired?.generation ?? 0,
      keepUnknown: config.hubUrl !== null && desired === null,
    }
  }
  // Set once the broker link exists; until then (and without a hub) the hub is unreachable.
  let hubLink: AgentTransport | null = null
  const reconciler = new Reconciler({
    nodeId,
    runtime,
    store,
    clock,
    logger: nodeLogger,
    desired: view,
    hubReachable: () => hubLink?.connected ?? false,
    extraLabels: config.containerLabels,
    resyncIntervalMs: config.resyncIntervalMs,
  })
  reconciler.start()

  const intake = new DesiredIntake({ nodeId, store, clock, logger: nodeLogger, hubPublicKey: () => store.identity()?.hubPublicKey ?? null })
  const desiredRetry = new DesiredRetry({
    retryMs: 5_000,
    logger: nodeLogger.child({ component: 'intake' }),
    take: (payload) => {
      if (intake.receive(payload).outcome === 'accepted') reconciler.request('desired')
    },
  })
  const presence = (state: Presence['state']): Buffer => encodeMessage({ nodeId, state, at: isoNow(clock) } satisfies Presence)
  const hints = new ReconnectHints({ nodeId, stored: store.reconnectHint(), save: (capMs) => store.saveReconnectHint(capMs), logger: nodeLogger })
  const transport = await createTransport(config, finalIdentity, nodeLogger, presence, hints)
  hubLink = transport
  const logServer = new LogServer({ nodeId, runtime, logger: nodeLogger, workloads: () => store.workloads(), publish: (payload) => transport?.publish('logs-chunk', payload) ?? Promise.resolve() })
  let sender: OutboxSender | null = null
  let heartbeatTimer: NodeJS.Timeout | null = null
  let staticTimer: NodeJS.Timeout | null = null

  if (transport) {
    const outbox = new OutboxSender({ nodeId, store, transport, logger: nodeLogger })
    sender = outbox
    const sampler = new HeartbeatSampler(nodeId, config.dataDir, clock)
    const beat = async (): Promise<void> => {
      if (!transport.connected) return
      const workloads = store.workloads()
      const heartbeat = await sampler.sample({
        observedGeneration: store.desired()?.generation ?? 0,
        outboxDepth: store.outboxDepth().records,
        running: workloads.filter((w) => w.state === 'running').length,
        total: workloads.length,
      })
      await transport.publish('heartbeat', encodeMessage(heartbeat)).catch(() => undefined)
    }
    transport.start({
      onConnected: () => {
        outbox.onConnected()
        // The hub shows load and disk from heartbeats; do not leave them unknown for a whole interval.
        void beat()
      },
      onDisconnected: (reason) => {
        nodeLogger.info({ reason }, 'hub link down; working from the local store')
        // A copy failing its new revision may now be reverted locally.
        reconciler.request('hub-unreachable')
      },
      onMessage: (channel, payload) => {
        try {
          if (channel === 'desired') {
            desiredRetry.offer(payload)
            outbox.kick()
          } else if (channel === 'ack') {
            outbox.onAck(payload)
          } else {
            logServer.receive(payload)
          }
        } catch (error) {
          nodeLogger.error({ err: error, channel }, 'failed to handle a message; it was dropped and nothing stored changed')
        }
      },
    })
    outbox.start()
    // Report a change as soon as it is stored; batching comes from one batch in flight at a time.
    let kickQueued = false
    store.onOutboxAppended(() => {
      if (kickQueued) return
      kickQueued = true
      setImmediate(() => {
        kickQueued = false
        outbox.kick()
      })
    })
    heartbeatTimer = setInterval(() => void beat(), durationMs(profile.agent.heartbeatInterval))
    heartbeatTimer.unref()
  }
  // A safety net behind the append notification: nudge the sender regularly.
  const kickTimer = setInterval(() => sender?.kick(), Math.max(500, durationMs(profile.agent.statusBatchInterval)))
  const clockWatch = new ClockWatch(nodeId, () => ({ now: Date.now(), floor: trustedFloor(store.desired()?.document.issuedAt ?? null) }))
  const watchClock = (): void => {
    const event = clockWatch.check()
    if (event === null) return
    if (event.type === 'ClockBehind') nodeLogger.error({ nodeTime: event.data?.nodeTime, floor: event.data?.floor }, event.message)
    else nodeLogger.info(event.message)
    store.enqueue([{ kind: 'event', body: event }])
  }
  watchClock()
  const rejectionTimer = setInterval(() => {
    intake.flushRejections()
    watchClock()
  }, 10_000)
  rejectionTimer.unref()
  kickTimer.unref()
  const images = new ImageCollector({
    runtime,
    thresholds: profile.agent.imageGc,
    // A fallback's image must survive until its window closes: offline, it could not be pulled again.
    wantedImages: () => [
      ...view().workloads.flatMap((w) => [w.template.image, ...(w.fallback ? [w.fallback.template.image] : [])]),
      ...store.localReverts().map((r) => r.template.image),
    ],
    removed: (image, bytes) =>
      store.enqueue([{ kind: 'event', body: nodeEvent(nodeId, clock, 'ImageGarbageCollected', 'info', `removed unused image ${image} (${bytes} bytes)`) }]),
    logger: nodeLogger,
  })
  images.start()
  if (config.staticDir) {
    staticTimer = setInterval(() => {
      reloadStatic()
      reconciler.request('static-dir')
    }, 30_000)
    staticTimer.unref()
  }

  return {
    nodeId,
    store,
    reconciler,
    profile,
    async stop() {
      if (heartbeatTimer) clearInterval(heartbeatTimer)
      if (staticTimer) clearInterval(staticTimer)
      clearInterval(kickTimer)
      clearInterval(rejectionTimer)
      images.stop()
      sender?.stop()
      desiredRetry.stop()
      await logServer.stop()
      await reconciler.stop()
      await transport?.close(presence('offline'))
      store.close()
    },
  }
}

/** Loads only the client library the node uses: mqtt.js and nats.js each cost 10-20 MB of RSS. */
async function createTransport(config: AgentConfig, identity: Identity, logger: Logger, presence: (state: Presence['state']) => Buffer, hints: ReconnectHints): Promise<AgentTransport | null> {
  const url = identity.brokerUrl ?? config.hubUrl
  if (!url) return null
  const parsed = new URL(url)
  const credentials = {
    ...(identity.username ?? parsed.username ? { username: identity.username ?? decodeURIComponent(parsed.username) } : {}),
    ...(identity.password ?? parsed.password ? { password: identity.password ?? decodeURIComponent(parsed.password) } : {}),
  }
  parsed.username = ''
  parsed.password = ''
  const bare = parsed.toString()
  if (parsed.protocol === 'nats:' || parsed.protocol === 'tls:') {
    const { NatsTransport } = await import('./transport/nats-transport.js')
    return new NatsTransport({ url: `${parsed.hostname}:${parsed.port || '4222'}`, nodeId: identity.nodeId, credentials, logger, online: () => presence('online'), hints })
  }
  if (parsed.protocol === 'mqtt:' || parsed.protocol === 'mqtts:') {
    const { MqttTransport } = await import('./transport/mqtt-transport.js')
    return new MqttTransport({ url: bare, nodeId: identity.nodeId, credentials, logger, will: presence('offline'), online: () => presence('online'), hints })
  }
  throw new AgentConfigError('--hub', `${parsed.protocol}// needs enrollment with --token first; give the broker URL (mqtt:// or nats://) directly for a pre-provisioned node`)
}

/**
 * Whether this data directory's node may run under `--name`: its own id or, for a node the hub
 * enrolled, the name it asked for. A hub that already has that name assigns `<name>-<6 hex>`
 * (hub/enrollment.ts), and the unchanged command line must keep working after a restart.
 */
function answersToName(known: Identity, name: string): boolean {
  return known.nodeId === name || (known.enrolledAt !== null && isRenamedFrom(known.nodeId, name))
}

/** A key is pinned once; a different one later is refused rather than silently trusted. */
function needsEnrollment(config: AgentConfig, known: Identity | null): boolean {
  return config.token !== null && config.hubUrl !== null && /^https?:/.test(config.hubUrl) && !known?.enrolledAt
}

/** Trades the join token for this node's identity, broker credentials and the hub key to pin. */
async function enrollNode(config: AgentConfig, identity: Identity, inventory: Inventory, logger: Logger, clock: Clock): Promise<Identity> {
  const response = await enrollWithHub(
    config.hubUrl ?? '',
    {
      token: config.token ?? '',
      name: identity.nodeId,
      labels: { ...config.labels },
      inventory,
      ...(config.profile ? { profile: config.profile } : {}),
      agentVersion: readPackageVersion(),
    },
    logger,
  )
  if (identity.hubPublicKey && identity.hubPublicKey !== response.hubPublicKey) {
    throw new AgentConfigError('--token', 'the hub answered with a different key than the one this node pinned; refusing it')
  }
  logger.info({ nodeId: response.nodeId, broker: response.brokerUrl }, 'enrolled with the hub')
  return {
    nodeId: response.nodeId,
    hubPublicKey: response.hubPublicKey,
    brokerUrl: response.brokerUrl,
    username: response.username,
    password: response.password,
    enrolledAt: isoNow(clock),
  }
}

function pinnedKey(pinned: string | null, offeredOption: string | null): string | null {
  const offered = offeredOption ? readHubKey(offeredOption) : null
  if (pinned && offered && pinned !== offered) {
    throw new AgentConfigError('--hub-key', 'differs from the hub key this node already pinned; a node trusts one hub key (re-enroll with a fresh data directory to change it)')
  }
  return pinned ?? offered
}

/** `--hub-key` is the base64 SPKI key itself or a file holding it. */
export function readHubKey(value: string): string {
  const text = existsSync(value) ? readFileSync(value, 'utf8').trim() : value.trim()
  if (!/^[A-Za-z0-9+/]+=*$/.test(text) || text.length < 40) {
    throw new AgentConfigError('--hub-key', 'expected the hub public key (base64 SPKI, as `shoal hub` prints it) or a file holding it')
  }
  return text
}

function readIdentityMirror(dataDir: string): Identity | null {
  try {
    return JSON.parse(readFileSync(join(dataDir, IDENTITY_FILE), 'utf8')) as Identity
  } catch {
    return null
  }
}

function writeIdentityMirror(dataDir: string, identity: Identity): void {
  const path = join(dataDir, IDENTITY_FILE)
  writeFileSync(path, `${JSON.stringify(identity, null, 2)}\n`, { mode: PRIVATE_FILE_MODE })
  chmodSync(path, PRIVATE_FILE_MODE) // the mode above applies only when the file is created
}

function nodeEvent(nodeId: string, clock: Clock, type: string, severity: NodeEvent['severity'], message: string): NodeEvent {
  return { nodeId, type, severity, message, at: isoNow(clock) }
}
