import { join } from 'node:path'
import type { Logger } from 'pino'
import { durationMs, encodeMessage, type Presence } from '../protocol/index.js'
import { isoNow, systemClock, type Clock } from '../common/clock.js'
import { preparePrivateDir } from '../common/fs/private-files.js'
import type { FirmwareProfile } from '../firmware-profiles/schema.js'
import { clockWatcher, storeResetEvent } from './agent-events.js'
import { systemZone, systemZoneName } from './bandwidth/system-zone.js'
import { meteredTransport } from './bandwidth/metered-transport.js'
import { nodeBandwidth } from './bandwidth/node-bandwidth.js'
import { hubCronJob, staticCronJob } from './jobs/cron-source.js'
import { applyMemoryBudget, chooseProfile, cronJobs, outboxLimits, startImageCollection, startReconciling, startSessionServer, stepLimits } from './assembly.js'
import { ClockWatch, trustedFloor } from './clock-floor.js'
import { DATABASE_FILE, type AgentConfig } from './config.js'
import { DeviceWatch } from './devices/device-scanner.js'
import { NO_POLICY_FLAGS, containerLogLimits, resolveNodePolicy } from './policy/node-policy-settings.js'
import { composeDesiredView, staticWorkloadsFor } from './desired-view.js'
import { startHubLink } from './hub-link/hub-link.js'
import { settleIdentity } from './identity.js'
import { IntervalTimers } from './interval-timers.js'
import { LogServer } from './log-server.js'
import type { DesiredView, Reconciler } from './reconcile/reconciler.js'
import type { ContainerRuntime } from './runtime/runtime.js'
import { createDockerRuntime } from './runtime/docker-runtime.js'
import { stopAgent } from './shutdown.js'
import { AgentStore } from './store/agent-store.js'
import { openAgentDatabase } from './store/open-agent-database.js'
import { loadSealingKey } from './values/sealing-key.js'
import { createTransport } from './transport/create-transport.js'
import { ReconnectHints } from './transport/reconnect-hint.js'
import type { AgentTransport } from './transport/transport.js'

export { DATABASE_FILE }
export { IDENTITY_FILE, readHubKey } from './identity.js'

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
 * Assembly only: the decisions are in the units each line names.
 */
export async function startAgent(config: AgentConfig, deps: AgentDeps): Promise<RunningAgent> {
  const clock = deps.clock ?? systemClock
  const logger = deps.logger
  preparePrivateDir(config.dataDir)
  // Before enrollment: the hub learns the public half with the inventory (and from every status).
  const sealing = loadSealingKey(config.dataDir)
  const opened = openAgentDatabase(join(config.dataDir, DATABASE_FILE), logger.child({ component: 'store' }), { now: () => clock.now() })
  const chosen = await chooseProfile(config, logger)
  const profile = chosen.profile
  // The zone goes along for the hub's view of `timeZone: local` cron jobs (their nodes fire them in it).
  const timeZone = systemZoneName()
  const inventory = { ...chosen.inventory, ...(timeZone !== null ? { timeZone } : {}), sealingKey: sealing.publicKey }
  const store = new AgentStore(opened.db, clock, outboxLimits(profile))
  const identity = await settleIdentity({ config, store, inventory, logger, clock }).catch((error: unknown) => {
    store.close()
    throw error
  })
  const nodeId = identity.nodeId
  const nodeLogger = logger.child({ nodeId })
  if (opened.movedAside) store.enqueue([{ kind: 'event', body: storeResetEvent(nodeId, clock, opened.movedAside) }])

  const runtime = deps.runtime ?? (await createDockerRuntime({ logger: nodeLogger, ...(config.dockerSocket ? { docker: config.dockerSocket } : {}) }))
  const staticWorkloads = await staticWorkloadsFor(config.staticDir, nodeLogger)
  staticWorkloads.reload()
  // Cron jobs come from the static directory and from the last desired document the agent accepted
  // (stored, so they keep firing while the hub and the broker are gone).
  let requestPass = (_reason: string): void => undefined
  const cron =
    config.staticDir || config.hubUrl !== null
      ? cronJobs({
          nodeId,
          db: opened.db,
          store,
          clock,
          logger: nodeLogger,
          jobs: () => [...staticWorkloads.cronJobs().map(staticCronJob), ...(store.desired()?.document.cronJobs ?? []).map(hubCronJob)],
          changed: () => requestPass('cron'),
        })
      : null
  const view = (): DesiredView => composeDesiredView(store.desired(), staticWorkloads.current(), config.hubUrl !== null, cron?.runner.runWorkloads() ?? [])
  // Set once the broker link exists; until then (and without a hub) the hub is unreachable.
  let hubLink: AgentTransport | null = null
  const hubReachable = (): boolean => hubLink?.connected ?? false
  const policy = resolveNodePolicy(profile.agent.policy, config.policy ?? NO_POLICY_FLAGS)
  // Scanned before the first pass, so its status already says which devices the node has.
  let onDevices = (): void => undefined
  const devices = new DeviceWatch({ patterns: policy.devices, logger: nodeLogger, onChange: () => onDevices() })
  await devices.start()
  const admission = { policy, devices: () => devices.devices }
  const logDefaults = containerLogLimits(profile.agent.containerLogs)
  const bandwidth = nodeBandwidth({ store, clock, zone: systemZone(), logger: nodeLogger, profile: profile.agent.bandwidth, localLabels: config.labels })
  const reconciling = { config, nodeId, sealing, runtime, store, clock, logger: nodeLogger, view, hubReachable, admission, logDefaults, bandwidth }
  const afterPass = cron ? { afterPass: () => cron.loop.poke() } : {}
  const { reconciler, prefetch, intake, desiredRetry } = startReconciling({
    ...reconciling,
    ...afterPass,
    stepLimits: stepLimits(profile),
    backOffEventIntervalMs: durationMs(profile.agent.backOffEventInterval),
  })
  onDevices = () => reconciler.request('devices')
  requestPass = (reason) => reconciler.request(reason)
  cron?.loop.poke()

  const presence = (state: Presence['state']): Buffer => encodeMessage({ nodeId, state, at: isoNow(clock) } satisfies Presence)
  const hints = new ReconnectHints({ nodeId, stored: store.reconnectHint(), save: (capMs) => store.saveReconnectHint(capMs), logger: nodeLogger })
  const unmetered = await createTransport(config, identity, nodeLogger, presence, hints)
  const transport = unmetered && meteredTransport(unmetered, (category, bytes) => bandwidth.meter.add(category, bytes))
  hubLink = transport
  const publishLogs = (payload: Buffer): Promise<void> => transport?.publish('logs-chunk', payload) ?? Promise.resolve()
  const logServer = new LogServer({
    nodeId,
    runtime,
    logger: nodeLogger,
    workloads: () => store.workloads(),
    desired: () => view().workloads,
    publish: publishLogs,
  })
  const sessions = startSessionServer({
    nodeId,
    config,
    runtime,
    store,
    profile,
    logger: nodeLogger,
    desired: () => view().workloads,
    publish: (payload) => transport?.publish('session-out', payload) ?? Promise.reject(new Error('this agent has no hub link')),
  })
  const timers = new IntervalTimers()
  const heartbeatIntervalMs = durationMs(profile.agent.heartbeatInterval)
  const link = {
    nodeId,
    store,
    logger: nodeLogger,
    clock,
    dataDir: config.dataDir,
    heartbeatIntervalMs,
    timers,
    reconciler,
    desiredRetry,
    logServer,
    sessions,
    traffic: bandwidth.report,
  }
  const sender = transport ? startHubLink({ ...link, transport }) : null
  // A safety net behind the append notification: nudge the sender regularly.
  timers.every(Math.max(500, durationMs(profile.agent.statusBatchInterval)), () => sender?.kick())

  const clockFloor = (): number => trustedFloor(store.desired()?.document.issuedAt ?? null)
  const watchClock = clockWatcher(new ClockWatch(nodeId, () => ({ now: Date.now(), floor: clockFloor() })), nodeLogger, store)
  watchClock()
  timers.every(10_000, () => {
    intake.flushRejections()
    watchClock()
  })
  const images = startImageCollection({ nodeId, runtime, profile, store, clock, logger: nodeLogger, view })
  if (config.staticDir) {
    timers.every(30_000, () => {
      staticWorkloads.reload()
      cron?.loop.poke()
      reconciler.request('static-dir')
    })
  }
  const processFile = applyMemoryBudget({ nodeId, dataDir: config.dataDir, profile, db: opened.db, store, timers, clock, logger: nodeLogger })
  const goodbye = (): Buffer => presence('offline')
  // The byte counters are saved just before the store closes, after the link's goodbye.
  const closing = {
    close: () => {
      bandwidth.meter.save()
      store.close()
    },
  }
  const parts = {
    timers,
    cron: cron?.loop ?? null,
    devices,
    images,
    sender,
    desiredRetry,
    logServer,
    sessions,
    reconciler,
    prefetch,
    link: transport,
    goodbye,
    store: closing,
    processFile,
  }
  return { nodeId, store, reconciler, profile, stop: () => stopAgent(parts) }
}
