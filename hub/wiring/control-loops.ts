import type { Logger } from 'pino'
import type { Clock } from '../../common/clock.js'
import { registerAlertMetrics } from '../alerts/alert-metrics.js'
import { AlertMonitor } from '../alerts/alert-monitor.js'
import { DEFAULT_ALERT_SETTINGS, type AlertSettings } from '../alerts/alert-rules.js'
import type { ObjectBodies } from '../config-objects/object-bodies.js'
import { registerConditionMetrics } from '../fleet/condition-metrics.js'
import { FleetController } from '../fleet/fleet-controller.js'
import type { ChangeFeed } from '../ingest/change-feed.js'
import { Ingester } from '../ingest/ingester.js'
import { LogRelay } from '../logs/log-relay.js'
import type { Metrics } from '../metrics.js'
import { SessionRelay } from '../sessions/session-relay.js'
import type { HubStore } from '../store/hub-store.js'
import type { HubTransport } from '../transport/hub-transport.js'
import { prepareSigningKey } from '../../protocol/signing.js'

export interface ControlLoopParts {
  readonly store: HubStore
  readonly clock: Clock
  readonly logger: Logger
  readonly metrics: Metrics
  readonly feed: ChangeFeed
  readonly transport: HubTransport
  readonly privateKeyPem: string
  readonly objectBodies: ObjectBodies
  readonly schedulerIntervalMs?: number | undefined
  readonly jobRetryBaseMs?: number | undefined
  readonly clockSkewThresholdMs?: number | undefined
  readonly alertSettings?: AlertSettings | undefined
}

/**
 * The hub's loops over one transport: the fleet controller (documents out), the log and session relays, and
 * the ingester (reports in), which asks the fleet for a pass on presence changes and on reports
 * about a rollout's copies, and the alert monitor. Built, not started. Also the metrics not owned by one of them. Wiring only.
 */
export function createControlLoops(parts: ControlLoopParts): {
  readonly fleet: FleetController
  readonly logRelay: LogRelay
  readonly sessions: SessionRelay
  readonly ingester: Ingester
  readonly alerts: AlertMonitor
} {
  const { store, clock, logger, metrics, feed, transport } = parts
  metrics.describe('shoal_messages_out_total', 'messages sent to agents, by channel')
  registerConditionMetrics(metrics, store, clock)
  const fleet = new FleetController({
    store,
    clock,
    logger,
    metrics,
    feed,
    privateKeyPem: parts.privateKeyPem,
    publishDesired: (nodeId, payload) => transport.publishDesired(nodeId, payload),
    objectBody: (kind, name, version) => parts.objectBodies.read(kind, name, version),
    ...(parts.schedulerIntervalMs ? { intervalMs: parts.schedulerIntervalMs } : {}),
    ...(parts.jobRetryBaseMs !== undefined ? { jobRetryBaseMs: parts.jobRetryBaseMs } : {}),
  })
  const logRelay = new LogRelay({
    publish: (nodeId, payload) => transport.publishLogRequest(nodeId, payload),
    node: (nodeId) => store.nodes.get(nodeId),
    logger,
    metrics,
  })
  const sessions = new SessionRelay({
    store,
    clock,
    logger,
    metrics,
    feed,
    signingKey: prepareSigningKey(parts.privateKeyPem),
    publish: (nodeId, frame) => transport.publishSession(nodeId, frame),
  })
  const ingester = new Ingester({
    store,
    clock,
    logger,
    metrics,
    feed,
    publishAck: (nodeId, payload) => transport.publishAck(nodeId, payload),
    onPresenceChange: (nodeId, online) => {
      fleet.requestSoon('presence')
      if (!online) sessions.nodeOffline(nodeId, 'the hub marked it offline')
    },
    onStatus: (deployments) => fleet.reported(deployments),
    onSealingKey: () => fleet.requestSoon('sealing-key'),
    onNodeFacts: () => fleet.requestSoon('node-devices-policy'),
    onLogChunk: (nodeId, payload) => logRelay.receive(nodeId, payload),
    onGzipDropped: (nodeId) => fleet.republish(nodeId),
    ...(parts.clockSkewThresholdMs !== undefined ? { clockSkewThresholdMs: parts.clockSkewThresholdMs } : {}),
  })
  const alerts = new AlertMonitor({
    store,
    clock,
    logger,
    feed,
    settings: parts.alertSettings ?? DEFAULT_ALERT_SETTINGS,
    outcome: (name) => fleet.outcome(name),
  })
  registerAlertMetrics(metrics, store)
  return { fleet, logRelay, sessions, ingester, alerts }
}
