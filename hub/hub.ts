import { preparePrivateDir } from '../common/fs/private-files.js'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Server } from 'node:http'
import type { Logger } from 'pino'
import { isoNow, systemClock, type Clock } from '../common/clock.js'
import { loadProfiles } from '../firmware-profiles/catalog.js'
import { createApiServer } from './api/server.js'
import { buildRoutes } from './api/routes.js'
import { serveStaticFiles } from './api/static-files.js'
import { setUpBrokerAccess, type BrokerAuthConfig } from './broker-config/external-broker.js'
import { ChangeFeed } from './ingest/change-feed.js'
import { FleetController } from './fleet/fleet-controller.js'
import { loadOrCreateSecrets } from './enrollment/hub-secrets.js'
import { Ingester } from './ingest/ingester.js'
import { LogRelay } from './logs/log-relay.js'
import { Metrics } from './metrics.js'
import { registerConditionMetrics } from './fleet/condition-metrics.js'
import { silentNodes } from './fleet/presence-monitor.js'
import { HubStore } from './store/hub-store.js'
import { HUB_DATABASE_FILE, openHubDatabase } from './store/open-hub-database.js'
import { EmbeddedBroker } from './transport/embedded-broker.js'
import type { HubTransport } from './transport/hub-transport.js'
import { MqttHubTransport } from './transport/mqtt-hub-transport.js'
import { NatsHubTransport } from './transport/nats-hub-transport.js'

export { HUB_DATABASE_FILE }

export type HubTransportConfig =
  | { readonly kind: 'embedded'; readonly host: string; readonly port: number; readonly advertisedHost?: string; readonly tls?: { readonly cert: string; readonly key: string } }
  | { readonly kind: 'mqtt'; readonly url: string; readonly advertisedUrl?: string }
  | { readonly kind: 'nats'; readonly url: string; readonly advertisedUrl?: string }

export interface HubConfig {
  readonly dataDir: string
  readonly listenHost: string
  readonly listenPort: number
  readonly transport: HubTransportConfig
  readonly schedulerIntervalMs?: number
  /** How often the latest heartbeats held in memory are written to the store (default 30 s). */
  readonly heartbeatFlushMs?: number
  /** Static files of the web console, served at `/` when present. */
  readonly consoleDir?: string | null
  /** Generate the external broker's users and rights here (Mosquitto or nats-server files). */
  readonly brokerAuth?: BrokerAuthConfig
  /** A node's clock further than this from the hub's has ClockSkew (default 2 minutes). */
  readonly clockSkewThresholdMs?: number
}

export interface RunningHub {
  readonly apiUrl: string
  readonly brokerUrl: string
  readonly adminToken: string
  readonly publicKey: string
  readonly createdSecrets: readonly string[]
  readonly store: HubStore
  readonly fleet: FleetController
  stop(): Promise<void>
}

/** Builds the hub from its parts and starts it: store, secrets, broker link, control loop, API. */
export async function startHub(config: HubConfig, deps: { logger: Logger; clock?: Clock }): Promise<RunningHub> {
  const clock = deps.clock ?? systemClock
  const logger = deps.logger
  preparePrivateDir(config.dataDir)
  const secrets = loadOrCreateSecrets(config.dataDir)
  const store = new HubStore(openHubDatabase(join(config.dataDir, HUB_DATABASE_FILE)))
  const profiles = await loadProfiles()
  const metrics = new Metrics()
  const feed = new ChangeFeed()
  const broker = config.brokerAuth ? setUpBrokerAccess(config.transport, config.brokerAuth, { dataDir: config.dataDir, db: store.db, logger }) : null
  const transport = createTransport(broker && config.transport.kind !== 'embedded' ? { ...config.transport, url: broker.hubUrl } : config.transport, store, logger)
  metrics.describe('shoal_messages_out_total', 'messages sent to agents, by channel')
  registerConditionMetrics(metrics, store, clock)

  const fleet = new FleetController({
    store,
    clock,
    logger,
    metrics,
    feed,
    privateKeyPem: secrets.privateKeyPem,
    publishDesired: (nodeId, payload) => transport.publishDesired(nodeId, payload),
    ...(config.schedulerIntervalMs ? { intervalMs: config.schedulerIntervalMs } : {}),
  })
  const logRelay = new LogRelay({ publish: (nodeId, payload) => transport.publishLogRequest(nodeId, payload), node: (nodeId) => store.nodes.get(nodeId), logger, metrics })
  const ingester = new Ingester({
    store,
    clock,
    logger,
    metrics,
    feed,
    publishAck: (nodeId, payload) => transport.publishAck(nodeId, payload),
    onPresenceChange: () => fleet.requestSoon('presence'),
    onStatus: (deployments) => fleet.reported(deployments),
    onLogChunk: (nodeId, payload) => logRelay.receive(nodeId, payload),
    ...(config.clockSkewThresholdMs !== undefined ? { clockSkewThresholdMs: config.clockSkewThresholdMs } : {}),
  })
  // The broker must know the hub's own user (and today's nodes) before the hub logs in.
  if (broker) await broker.access.sync('hub start')
  // A failed start undoes what it began (broker, client, timers), so the error ends the process
  // instead of leaving it running half-started, e.g. on a port already in use.
  const undo: Array<() => Promise<void> | void> = [() => store.close()]
  const abandon = async (error: unknown): Promise<never> => {
    for (const step of undo.reverse()) await Promise.resolve().then(step).catch(() => undefined)
    throw error
  }
  undo.push(() => transport.close())
  await transport.start({
    onMessage: (nodeId, channel, payload) => ingester.handle(nodeId, channel, payload),
    onNodeConnected: (nodeId) => {
      if (store.nodes.exists(nodeId)) ingester.markOnline(nodeId, isoNow(clock))
    },
    onNodeDisconnected: (nodeId) => {
      if (store.nodes.exists(nodeId)) ingester.markOffline(nodeId, isoNow(clock), 'its broker connection closed')
    },
  }).catch(abandon)
  undo.push(() => fleet.stop())
  await fleet.start().catch(abandon)
  const presenceTimer = setInterval(() => {
    for (const node of silentNodes(store.nodes.list(), clock.now())) ingester.markOffline(node.id, isoNow(clock), 'no heartbeat or message for too long')
  }, 5_000)
  presenceTimer.unref()
  // Heartbeats are soft state, held in memory and written in one transaction per interval
  // (NodeRepository): one synchronous FULL commit per heartbeat was ~10 KB of disk writes each.
  const flushHeartbeats = (): void => {
    try {
      store.nodes.flushHeartbeats()
    } catch (error) {
      logger.error({ err: error }, 'cannot write heartbeats; keeping them for the next try')
    }
  }
  const heartbeatTimer = setInterval(flushHeartbeats, config.heartbeatFlushMs ?? 30_000)
  heartbeatTimer.unref()
  undo.push(() => {
    clearInterval(presenceTimer)
    clearInterval(heartbeatTimer)
  })

  // The built console sits beside the built hub: dist/hub/hub.js → dist/console. null turns it off.
  const consoleDir = config.consoleDir === undefined ? fileURLToPath(new URL('../console/', import.meta.url)) : config.consoleDir
  const server: Server = createApiServer({
    router: buildRoutes({ store, fleet, feed, metrics, clock, transport, profiles, hubPublicKey: secrets.publicKey, logRelay, ...(broker ? { brokerAccess: broker.access } : {}) }),
    adminToken: secrets.adminToken,
    logger,
    maxBodyBytes: 2 * 1024 * 1024,
    ...(consoleDir ? { fallback: serveStaticFiles({ root: consoleDir, logger }) } : {}),
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.listenPort, config.listenHost, () => {
      server.off('error', reject)
      resolve()
    })
  }).catch(abandon)
  const address = server.address() as AddressInfo
  const apiUrl = `http://${config.listenHost.includes(':') ? `[${config.listenHost}]` : config.listenHost}:${address.port}`
  logger.info({ api: apiUrl, broker: transport.advertisedUrl, transport: transport.kind }, 'hub running')

  return {
    apiUrl,
    brokerUrl: transport.advertisedUrl,
    adminToken: secrets.adminToken,
    publicKey: secrets.publicKey,
    createdSecrets: [...secrets.created, ...(broker?.createdPath ? [broker.createdPath] : [])],
    store,
    fleet,
    async stop() {
      clearInterval(presenceTimer)
      clearInterval(heartbeatTimer)
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await fleet.stop()
      await transport.close()
      flushHeartbeats()
      store.close()
    },
  }
}

function createTransport(config: HubTransportConfig, store: HubStore, logger: Logger): HubTransport {
  switch (config.kind) {
    case 'embedded':
      return new EmbeddedBroker({ host: config.host, port: config.port, ...(config.advertisedHost ? { advertisedHost: config.advertisedHost } : {}), ...(config.tls ? { tls: config.tls } : {}), logger, authenticate: (u, p) => store.credentials.authenticate(u, p) })
    case 'mqtt':
      return new MqttHubTransport({ url: config.url, ...(config.advertisedUrl ? { advertisedUrl: config.advertisedUrl } : {}), logger })
    case 'nats':
      return new NatsHubTransport({ url: config.url, ...(config.advertisedUrl ? { advertisedUrl: config.advertisedUrl } : {}), logger })
  }
}
