import type { Logger } from 'pino'
import { systemClock, type Clock } from '../common/clock.js'
import { loadProfiles } from '../firmware-profiles/catalog.js'
import type { AlertSettings } from './alerts/alert-rules.js'
import type { BrokerAuthConfig } from './broker-config/external-broker.js'
import type { FleetController } from './fleet/fleet-controller.js'
import { DEFAULT_ENROLL_RATE_PER_SECOND, EnrollmentAdmission } from './enrollment/enrollment-admission.js'
import { sweepSilentNodes } from './fleet/presence-monitor.js'
import { ChangeFeed } from './ingest/change-feed.js'
import { connectionEvents } from './ingest/connection-events.js'
import { heartbeatFlusher } from './ingest/heartbeat-flush.js'
import { Metrics } from './metrics.js'
import type { HubStore } from './store/hub-store.js'
import type { HeartbeatFlushScope } from './store/node-repository.js'
import { apiUrlOf, attachSessionSockets, closeServer, createHubApiServer, listen } from './wiring/api-server.js'
import { createBrokerLink, type HubTransportConfig } from './wiring/broker-link.js'
import { createControlLoops } from './wiring/control-loops.js'
import { openHubState } from './wiring/hub-state.js'
import { startHousekeeping } from './wiring/housekeeping.js'
import { Teardown } from './wiring/teardown.js'

export { HUB_DATABASE_FILE } from './store/open-hub-database.js'
export type { HubTransportConfig }

export interface HubConfig {
  readonly dataDir: string
  readonly listenHost: string
  readonly listenPort: number
  readonly transport: HubTransportConfig
  readonly schedulerIntervalMs?: number
  /** Test knob: the first retry delay of a failed job copy (10 s unless set; doubles per failure). */
  readonly jobRetryBaseMs?: number
  /** How often the soft state held in memory is checked for durable changes to write (default 30 s). */
  readonly heartbeatFlushMs?: number
  /** Static files of the web console, served at `/` when present. */
  readonly consoleDir?: string | null
  /** Generate the external broker's users and rights here (Mosquitto or nats-server files). */
  readonly brokerAuth?: BrokerAuthConfig
  /** A node's clock further than this from the hub's has ClockSkew (default 2 minutes). */
  readonly clockSkewThresholdMs?: number
  /** Connections one remote address may hold on the API (default 32); raise it behind a reverse proxy. */
  readonly maxConnectionsPerAddress?: number
  /** When each alert rule fires (default DEFAULT_ALERT_SETTINGS). */
  readonly alerts?: AlertSettings
  /** How often the alert rules are evaluated (default 5 s). */
  readonly alertIntervalMs?: number
  /** Firmware profiles from this directory instead of the shipped ones (as the agent's `--profiles-dir`): the names and classes nodes enroll as. */
  readonly profilesDir?: string
  /** Enrollments admitted per second, all nodes together; beyond it 429 with Retry-After (default 50). */
  readonly enrollRatePerSecond?: number
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

/** Builds the hub from its parts and starts it: store, secrets, broker link, control loops, API. */
export async function startHub(config: HubConfig, deps: { logger: Logger; clock?: Clock }): Promise<RunningHub> {
  const clock = deps.clock ?? systemClock
  // Presence counts silence from here at the earliest: last seen is stale after an outage.
  const startedAt = clock.now()
  const { logger } = deps
  const { secrets, store, objectBodies } = openHubState(config.dataDir)
  const profiles = await loadProfiles(config.profilesDir)
  const metrics = new Metrics()
  const feed = new ChangeFeed()
  const { transport, broker } = createBrokerLink(config, store, logger)
  const loops = createControlLoops({
    store,
    clock,
    logger,
    metrics,
    feed,
    transport,
    privateKeyPem: secrets.privateKeyPem,
    objectBodies,
    schedulerIntervalMs: config.schedulerIntervalMs,
    jobRetryBaseMs: config.jobRetryBaseMs,
    clockSkewThresholdMs: config.clockSkewThresholdMs,
    alertSettings: config.alerts,
  })
  const { fleet, ingester } = loops
  // The broker must know the hub's own user (and today's nodes) before the hub logs in.
  if (broker) await broker.access.sync('hub start')
  // A failed start undoes what it began, in reverse; stop() undoes all of it the same way.
  const teardown = new Teardown()
  const abandon = (error: unknown): Promise<never> => teardown.abandon(error)
  metrics.describe('shoal_soft_state_flushes_total', 'flushes of the soft node state held in memory (latest heartbeats, last seen), by scope')
  metrics.describe('shoal_soft_state_nodes_written_total', 'nodes whose soft state a flush wrote to the store (an idle heartbeat writes none)')
  metrics.describe('shoal_presence_sweeps_total', 'sweeps of the presence monitor for silent nodes')
  const writeSoftState = heartbeatFlusher(store, logger)
  const flushHeartbeats = (scope: HeartbeatFlushScope): number => {
    const written = writeSoftState(scope)
    metrics.inc('shoal_soft_state_flushes_total', { scope })
    metrics.inc('shoal_soft_state_nodes_written_total', {}, written)
    return written
  }
  teardown.add(() => {
    flushHeartbeats('all')
    store.close()
  })
  teardown.add(() => transport.close())
  await transport.start(connectionEvents(store, ingester, clock, loops.sessions)).catch(abandon)
  loops.sessions.closeInterrupted()
  teardown.add(() => fleet.stop())
  await fleet.start().catch(abandon)

  const parts = {
    store,
    fleet,
    feed,
    metrics,
    clock,
    transport,
    profiles,
    hubPublicKey: secrets.publicKey,
    objectBodies,
    logRelay: loops.logRelay,
    alerts: loops.alerts,
    enrollmentAdmission: new EnrollmentAdmission(config.enrollRatePerSecond ?? DEFAULT_ENROLL_RATE_PER_SECOND),
    ...(broker ? { brokerAccess: broker.access } : {}),
  }
  const server = createHubApiServer(parts, {
    adminToken: secrets.adminToken,
    logger,
    consoleDir: config.consoleDir,
    ...(config.maxConnectionsPerAddress ? { maxConnectionsPerClient: config.maxConnectionsPerAddress } : {}),
  })
  const sockets = attachSessionSockets(server, loops.sessions, secrets.adminToken, logger)
  const port = await listen(server, config.listenHost, config.listenPort).catch(abandon)
  teardown.add(() => closeServer(server))
  // Before the server closes: every session ends with a message to both sides, then the sockets close.
  teardown.add(() => {
    loops.sessions.close()
    return sockets.close()
  })
  const sweepPresence = () => {
    sweepSilentNodes(store, (id, at, why) => ingester.markOffline(id, at, why), clock, startedAt)
    metrics.inc('shoal_presence_sweeps_total')
  }
  const evaluateAlerts = (): void => {
    try {
      loops.alerts.evaluate()
    } catch (error) {
      logger.error({ err: error }, 'alert evaluation failed; trying again on the next tick')
    }
  }
  teardown.add(
    startHousekeeping({
      sweepPresence,
      flushHeartbeats: () => flushHeartbeats('changed'),
      heartbeatFlushMs: config.heartbeatFlushMs,
      evaluateAlerts,
      alertIntervalMs: config.alertIntervalMs,
    }),
  )
  const apiUrl = apiUrlOf(config.listenHost, port)
  logger.info({ api: apiUrl, broker: transport.advertisedUrl, transport: transport.kind }, 'hub running')

  return {
    apiUrl,
    brokerUrl: transport.advertisedUrl,
    adminToken: secrets.adminToken,
    publicKey: secrets.publicKey,
    createdSecrets: [...secrets.created, ...(broker?.createdPath ? [broker.createdPath] : [])],
    store,
    fleet,
    stop: () => teardown.run(),
  }
}
