import Database from 'better-sqlite3'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Command, Option } from 'commander'
import { pino } from 'pino'
import {
  AgentConfigError,
  DATABASE_FILE,
  parseCapabilities,
  parseDevicePatterns,
  parseHostPaths,
  parseHubUrl,
  parseLabelList,
  parseNodeName,
  type AgentConfig,
} from '../../agent/config.js'
import { type AgentMemoryReading, readAgentMemory } from '../../agent/memory/agent-process-file.js'
import { AgentStore } from '../../agent/store/agent-store.js'
import { CronStore } from '../../agent/jobs/cron-store.js'
import { systemClock } from '../../common/clock.js'
import { UnsafeDataDirError } from '../../common/fs/private-files.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { runUntilSignal } from '../run-until-signal.js'
import { formatAge, renderTable } from '../table.js'

interface RunOptions {
  dataDir: string
  hub?: string
  token?: string
  hubKey?: string
  name?: string
  labels?: string
  staticDir?: string
  secretsDir?: string
  profile?: string
  profilesDir?: string
  logLevel: string
  containerLabels?: string
  dockerSocket?: string
  resyncInterval: string
  allowPrivileged?: boolean
  allowCapability?: string
  allowHostPath?: string
  devicePattern?: string
}

export function agentCommand(io: CliIo): Command {
  const agent = new Command('agent').description('run the node agent, or inspect its local state')
  agent
    .command('run')
    .description("run the agent daemon: keep this node's workloads running, online or offline")
    .requiredOption('--data-dir <dir>', 'where the agent keeps its SQLite store and identity')
    .option(
      '--hub <url>',
      "the hub's API to enroll with (http://host:8080, with --token), or its broker: mqtt://, mqtts://, nats:// (a NATS cluster: its servers' URLs separated by commas)",
    )
    .option('--token <token>', 'a join token for enrollment with the hub')
    .option('--hub-key <key|file>', 'pin this hub public key (base64) when not enrolling with a token')
    .option('--name <name>', 'node name (default: the hostname)')
    .option('--labels <k=v,...>', 'labels for this node, added to those of its firmware profile')
    .option('--static-dir <dir>', 'run the Deployment manifests in this directory on this node, hub or not')
    .option('--secrets-dir <dir>', 'where Secret files for containers are written; must be on tmpfs (default: /dev/shm/shoal-<node>)')
    .option('--profile <name>', 'use this firmware profile instead of the one matched from the inventory')
    .option(
      '--profiles-dir <dir>',
      "firmware profiles from this directory (YAML, as the shipped ones) instead of the shipped ones: a site's own tuning of the shipped device classes (the hub knows profiles by name)",
    )
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'))
    .option('--container-labels <k=v,...>', 'extra labels on every container this agent creates')
    .option('--docker-socket <path>', 'the Docker engine socket (default: DOCKER_HOST or /var/run/docker.sock)')
    .option('--resync-interval <ms>', 'how often to reconcile even without events', '30000')
    .option('--allow-privileged', 'node policy: let privileged containers run here (default: refused)')
    .option('--allow-capability <CAP,...>', 'node policy: capabilities containers may add, such as NET_ADMIN (ALL: any)')
    .option(
      '--allow-host-path <path[:rw],...>',
      'node policy: host paths containers may mount, read-only unless :rw (besides /etc/localtime and /etc/timezone read-only)',
    )
    .option(
      '--device-pattern <glob,...>',
      "node policy: more devices containers may be given and the node reports, such as '/dev/ttyS*' (besides the usual ttyUSB, ttyACM, video, i2c, gpiochip, spidev)",
    )
    .addHelpText(
      'after',
      `
Examples:
  # join a hub with a token from \`shoal token create\` (the usual way)
  shoal agent run --data-dir /var/lib/shoal --hub http://hub.local:8080 --token TOKEN

  # standalone: run the manifests in /etc/shoal/static, no hub at all
  shoal agent run --data-dir /var/lib/shoal --static-dir /etc/shoal/static

  # a gateway whose VPN sidecar needs NET_ADMIN and whose app reads /srv/data
  shoal agent run --data-dir /var/lib/shoal --hub http://hub.local:8080 --token TOKEN --allow-capability NET_ADMIN --allow-host-path /srv/data:rw

  # connect to a hub's broker with a pinned hub key
  shoal agent run --data-dir /var/lib/shoal --hub mqtt://hub.local:1883 --hub-key /etc/shoal/hub.pub --labels site=factory-7

  # the same on a 3-server NATS cluster (credentials from the node's provisioning)
  shoal agent run --data-dir /var/lib/shoal --hub nats://node-7:PASS@nats-1:4222,nats://nats-2:4222,nats://nats-3:4222 --hub-key /etc/shoal/hub.pub

SIGTERM stops the agent cleanly and leaves its containers running.`,
    )
    .action(async (options: RunOptions) => {
      const config = toConfig(options)
      const logger = pino({ level: options.logLevel, base: { pid: process.pid }, redact: ['password', '*.password', 'token'] })
      // Loaded here, not at the top: the CLI's other verbs should not pay for the daemon's modules.
      const { startAgent } = await import('../../agent/daemon.js')
      let running
      try {
        running = await startAgent(config, { logger })
      } catch (error) {
        if (error instanceof AgentConfigError) throw new CliError(error.message, ExitCode.usage)
        if (error instanceof UnsafeDataDirError) throw new CliError(error.message)
        throw error
      }
      logger.info({ nodeId: running.nodeId, profile: running.profile.name }, 'agent running')
      await runUntilSignal(logger, () => running.stop(), { stoppingMessage: 'stopping; containers keep running' })
    })

  agent
    .command('status')
    .description("show this node's identity, accepted generation, workloads and outbox, from the local store alone")
    .requiredOption('--data-dir <dir>', "the agent's data directory")
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .addHelpText('after', '\nExample:\n  shoal agent status --data-dir /var/lib/shoal -o json\n')
    .action((options: { dataDir: string; output: 'table' | 'json' }) => {
      const path = join(options.dataDir, DATABASE_FILE)
      if (!existsSync(path)) throw new CliError(`no agent database at ${path}; is --data-dir right?`)
      const report = { ...readStatusReport(path), memory: readAgentMemory(options.dataDir) }
      const outbox = report.outbox
      if (options.output === 'json') {
        io.out(`${JSON.stringify(report, null, 2)}\n`)
        return
      }
      io.out(`Node:        ${report.nodeId ?? '(not initialised)'}\n`)
      io.out(`Hub key:     ${report.hubKeyPinned ? 'pinned' : 'none'}\n`)
      io.out(`Generation:  ${report.generation ?? 'none accepted'}${report.acceptedAt ? ` (accepted ${formatAge(report.acceptedAt)} ago)` : ''}\n`)
      io.out(`Outbox:      ${outbox.records} record(s), ${outbox.bytes} bytes${outbox.droppedEvents ? `, ${outbox.droppedEvents} event(s) dropped` : ''}\n`)
      io.out(`Memory:      ${describeAgentMemory(report.memory)}\n\n`)
      io.out(
        renderTable(
          ['WORKLOAD', 'STATE', 'HEALTH', 'RESTARTS', 'REVISION', 'AGE'],
          report.workloads.map((w) => [w.name, w.state, w.health, String(w.restarts), String(w.revision), formatAge(w.since)]),
        ),
      )
      if (report.cronJobs.length === 0) return
      io.out('\n')
      io.out(
        renderTable(
          ['CRON JOB', 'LAST FIRING', 'LAST RUN', 'ACTIVE', 'NEXT FIRING'],
          report.cronJobs.map((job) => [
            job.cronJob,
            `${formatAge(job.handledThrough)} ago`,
            lastRunText(job.lastRun),
            String(job.activeRuns),
            nextFiringText(job.nextFireAt),
          ]),
        ),
      )
    })
  return agent
}

type CronJobStatus = ReturnType<typeof readStatusReport>['cronJobs'][number]

function lastRunText(run: CronJobStatus['lastRun']): string {
  if (run === null) return '-'
  const how = run.outcome === 'succeeded' ? 'succeeded' : `failed (${run.reason ?? 'unknown'}${run.exitCode !== null ? `, exit ${run.exitCode}` : ''})`
  return `${how} ${formatAge(run.finishedAt)} ago`
}

function nextFiringText(at: string | null, now: number = Date.now()): string {
  if (at === null) return 'never'
  // formatAge measures from its first argument to `now`: here from now to the firing.
  return Date.parse(at) <= now ? 'due' : `in ${formatAge(new Date(now).toISOString(), Date.parse(at))}`
}

/** The running agent's resident memory against its profile's budget, or why there is no reading. */
function describeAgentMemory(memory: AgentMemoryReading | null): string {
  if (memory === null) return 'no agent process runs on this data directory'
  const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`
  const used = `${mib(memory.rssBytes)} resident (peak ${mib(memory.peakRssBytes)}), pid ${memory.pid}`
  if (memory.memoryBudgetBytes === null) return `${used}; profile ${memory.profile} sets no budget`
  const verdict = memory.rssBytes > memory.memoryBudgetBytes ? 'OVER BUDGET' : 'within budget'
  return `${used}; budget ${mib(memory.memoryBudgetBytes)} (profile ${memory.profile}): ${verdict}`
}

/** Everything `agent status` shows, read from the database file alone (read-only, beside a running agent). */
function readStatusReport(path: string) {
  let db: Database.Database | undefined
  try {
    db = new Database(path, { readonly: true, fileMustExist: true })
    const store = new AgentStore(db, systemClock, { maxRecords: 0, maxBytes: 0 })
    const identity = store.identity()
    const desired = store.desired()
    const workloads = store.workloads()
    return {
      nodeId: identity?.nodeId ?? null,
      hubKeyPinned: Boolean(identity?.hubPublicKey),
      enrolledAt: identity?.enrolledAt ?? null,
      generation: desired?.generation ?? null,
      acceptedAt: desired?.acceptedAt ?? null,
      workloads: workloads.map((w) => ({
        name: w.name,
        deployment: w.deployment,
        revision: w.revision,
        state: w.state,
        health: w.health,
        restarts: w.restarts,
        exitCode: w.exitCode,
        containerId: w.containerId,
        since: w.since,
        lastError: w.lastError,
      })),
      outbox: store.outboxDepth(),
      cronJobs: readCronJobs(db, store),
    }
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (typeof code === 'string' && code.startsWith('SQLITE_')) {
      throw new CliError(
        `cannot read the agent database at ${path}: ${(error as Error).message}. If it is damaged, \`shoal agent run\` moves it aside (agent.db.corrupt-*) on its next start and re-syncs from the hub.`,
      )
    }
    throw error
  } finally {
    db?.close()
  }
}

/** The cron jobs of the static directory as the runner last left them; none in a database from before cron jobs. */
function readCronJobs(db: Database.Database, store: AgentStore) {
  const columns = db.prepare("SELECT name FROM pragma_table_info('cron_fire_state')").all() as { name: string }[]
  if (!columns.some((column) => column.name === 'next_fire_at')) return []
  const iso = (ms: number): string => new Date(ms).toISOString()
  return new CronStore(db, store).summaries().map((job) => ({
    cronJob: job.cronJob,
    handledThrough: iso(job.handledThrough),
    nextFireAt: job.nextFireAt === null ? null : iso(job.nextFireAt),
    activeRuns: job.activeRuns,
    lastRun: job.lastRun === null ? null : { ...job.lastRun, scheduledAt: iso(job.lastRun.scheduledAt), finishedAt: iso(job.lastRun.finishedAt) },
  }))
}

function toConfig(options: RunOptions): AgentConfig {
  try {
    const resync = Number(options.resyncInterval)
    if (!Number.isInteger(resync) || resync < 100) throw new AgentConfigError('--resync-interval', 'must be a whole number of milliseconds, at least 100')
    return {
      dataDir: options.dataDir,
      hubUrl: parseHubUrl(options.hub),
      token: options.token ?? null,
      hubKey: options.hubKey ?? null,
      name: parseNodeName(options.name),
      labels: parseLabelList(options.labels, '--labels'),
      staticDir: options.staticDir ?? null,
      secretsDir: options.secretsDir ?? null,
      profile: options.profile ?? null,
      profilesDir: options.profilesDir ?? null,
      containerLabels: parseLabelList(options.containerLabels, '--container-labels'),
      dockerSocket: options.dockerSocket ?? null,
      resyncIntervalMs: resync,
      policy: {
        allowPrivileged: options.allowPrivileged === true,
        allowCapabilities: parseCapabilities(options.allowCapability),
        allowHostPaths: parseHostPaths(options.allowHostPath),
        devicePatterns: parseDevicePatterns(options.devicePattern),
      },
    }
  } catch (error) {
    if (error instanceof AgentConfigError) throw new CliError(error.message, ExitCode.usage)
    throw error
  }
}
