import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { Command, Option } from 'commander'
import { pino } from 'pino'
import type { HubTransportConfig } from '../../hub/hub.js'
import { HUB_DATABASE_FILE, HubDatabaseError } from '../../hub/store/open-hub-database.js'
import { UnsafeDataDirError } from '../../common/fs/private-files.js'
import { addAlertOptions, alertSettingsOf, type AlertOptions } from '../alert-options.js'
import { runUntilSignal } from '../run-until-signal.js'
import { CliError, ExitCode, type CliIo } from '../io.js'
import { durationMs } from '../../protocol/index.js'
import { NatsServerListError, parseNatsServerList, splitNatsUrls } from '../../common/nats/nats-servers.js'

interface ServeOptions extends AlertOptions {
  dataDir: string
  listen: string
  mqttListen: string
  mqttTlsCert?: string
  mqttTlsKey?: string
  mqttUrl?: string
  natsUrl: string[]
  natsReplicas: string
  advertise?: string
  brokerAuthDir?: string
  brokerReloadPid: string[]
  logLevel: string
  clockSkewThreshold: string
  maxConnectionsPerAddress: string
  enrollRate: string
  testJobRetryBase?: string
  profilesDir?: string
  testHeartbeatFlush?: string
}

/** A test knob's duration (`--test-job-retry-base`, `--test-heartbeat-flush`). */
function parseTestDuration(text: string, option: string): number {
  try {
    return durationMs(text)
  } catch {
    throw new CliError(`${option}: expected a duration such as 500ms, got ${JSON.stringify(text)}`, ExitCode.usage)
  }
}

/** `--clock-skew-threshold`: a duration of at least one second. */
function parseThreshold(text: string): number {
  let ms: number
  try {
    ms = durationMs(text)
  } catch {
    ms = Number.NaN
  }
  if (!(ms >= 1000))
    throw new CliError(`--clock-skew-threshold: expected a duration of at least 1s such as 2m or 90s, got ${JSON.stringify(text)}`, ExitCode.usage)
  return ms
}

/** `--max-connections-per-address`: a whole number from 1 to 65536. */
function parseConnectionLimit(text: string): number {
  const limit = Number(text)
  if (!/^\d+$/.test(text) || !Number.isInteger(limit) || limit < 1 || limit > 65_536)
    throw new CliError(`--max-connections-per-address: expected a whole number from 1 to 65536, got ${JSON.stringify(text)}`, ExitCode.usage)
  return limit
}

/** `--nats-url` (or a NATS hub's `--advertise`), repeated or comma-separated: one comma-separated list of every server. */
function parseNatsUrls(entries: readonly string[], option = '--nats-url'): string {
  try {
    parseNatsServerList(entries)
  } catch (error) {
    if (error instanceof NatsServerListError) throw new CliError(`${option}: ${error.message}`, ExitCode.usage)
    throw error
  }
  return splitNatsUrls(entries).join(',')
}

/** `--nats-replicas`: JetStream allows 1 to 5 copies of a stream. */
function parseReplicas(text: string): number {
  const replicas = Number(text)
  if (!/^\d+$/.test(text) || replicas < 1 || replicas > 5)
    throw new CliError(`--nats-replicas: expected a whole number from 1 to 5, got ${JSON.stringify(text)}`, ExitCode.usage)
  return replicas
}

function parseEnrollRate(text: string): number {
  const rate = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text) || !(rate > 0) || rate > 100_000)
    throw new CliError(
      `--enroll-rate: expected enrollments per second, a number above 0 up to 100000 (e.g. 50 or 0.5), got ${JSON.stringify(text)}`,
      ExitCode.usage,
    )
  return rate
}

/** "HOST:PORT" → parts; port 0 means "any free port". */
export function parseHostPort(text: string, option: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text)
  const port = Number(match?.[2])
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new CliError(`${option}: expected HOST:PORT such as 127.0.0.1:8080, got ${JSON.stringify(text)}`, ExitCode.usage)
  return { host: (match[1] ?? '').replace(/^\[|\]$/g, ''), port }
}

/** The embedded broker's TLS files, read once at start; both or neither. */
function readTls(options: ServeOptions): { tls?: { cert: string; key: string } } {
  if (!options.mqttTlsCert && !options.mqttTlsKey) return {}
  if (!options.mqttTlsCert || !options.mqttTlsKey) throw new CliError('--mqtt-tls-cert and --mqtt-tls-key go together', ExitCode.usage)
  try {
    return { tls: { cert: readFileSync(options.mqttTlsCert, 'utf8'), key: readFileSync(options.mqttTlsKey, 'utf8') } }
  } catch (error) {
    throw new CliError(`cannot read the broker's TLS files: ${(error as Error).message}`, ExitCode.usage)
  }
}

export function hubCommand(io: CliIo): Command {
  const hub = new Command('hub').description('run the hub (control plane) or manage its data')
  const serve = hub
    .command('serve')
    .description('run the hub: API and console, scheduler, and the broker link to agents')
    .requiredOption('--data-dir <dir>', 'where the hub keeps its SQLite store, signing key and admin token')
    .option('--listen <host:port>', 'HTTP API and console address', '127.0.0.1:8080')
    .option('--mqtt-listen <host:port>', 'embedded MQTT broker address (the default transport)', '127.0.0.1:1883')
    .option('--mqtt-tls-cert <file>', 'serve the embedded broker over TLS (mqtts://) with this PEM certificate chain')
    .option('--mqtt-tls-key <file>', 'the PEM private key for --mqtt-tls-cert')
    .option('--mqtt-url <url>', "use an external MQTT broker instead, with the hub's credentials: mqtt://user:pass@host:1883")
    .option(
      '--nats-url <url>',
      "use NATS with JetStream instead: nats://user:pass@host:4222; for a cluster repeat it or separate the servers' URLs with commas (agents get the list)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--nats-replicas <n>', 'with --nats-url: how many servers keep the desired-state bucket (1 to 5; 3 on a 3-server cluster)', '1')
    .option('--advertise <url>', 'the broker URL agents are told to dial (default: the one the hub uses)')
    .option(
      '--broker-auth-dir <dir>',
      "with --mqtt-url (Mosquitto) or --nats-url: write the broker's users and rights here and keep them in step with enrollments and revocations (docs/brokers.md)",
    )
    .option(
      '--broker-reload-pid <pid|file>',
      'send the broker SIGHUP after each rewrite of --broker-auth-dir (a PID or a pid file; repeat for several servers)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--profiles-dir <dir>',
      "firmware profiles from this directory (YAML, as the shipped ones) instead of the shipped ones: a site's own device classes, which nodes enroll as by name; give the agents the same directory",
    )
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'))
    .option('--clock-skew-threshold <duration>', "a node whose clock is further than this from the hub's has the ClockSkew condition (e.g. 30s, 5m)", '2m')
    .option(
      '--max-connections-per-address <n>',
      'API connections one client address may hold at once; one more is answered 503 (raise it behind a reverse proxy, where every client has its address)',
      '32',
    )
    .option(
      '--enroll-rate <per-second>',
      'enrollments the hub takes in per second, all nodes together (a burst of one second is admitted at once); beyond it 429 with Retry-After, which agents honour',
      '50',
    )
  // A test knob, hidden from --help: tests need not wait 10 s for a failed job copy's retry.
  serve.addOption(new Option('--test-job-retry-base <duration>', 'test knob: the first retry delay of a failed job copy (default 10s)').hideHelp())
  serve.addOption(
    new Option('--test-heartbeat-flush <duration>', 'test knob: how often soft node state is checked for durable changes (default 30s)').hideHelp(),
  )
  addAlertOptions(serve)
    .addHelpText(
      'after',
      `
Alerts stay listed (shoal get alerts, the console's Alerts page) until acknowledged; the
firing ones are also on /metrics as shoal_alert{rule,severity,node,deployment,workload} 1.

Examples:
  # embedded broker on loopback, API on :8080
  shoal hub serve --data-dir /var/lib/shoal-hub

  # the embedded broker over TLS (agents trust the CA via NODE_EXTRA_CA_CERTS)
  shoal hub serve --data-dir /var/lib/shoal-hub --mqtt-listen 0.0.0.0:8883 \\
    --mqtt-tls-cert /etc/shoal/broker.crt --mqtt-tls-key /etc/shoal/broker.key

  # agents on the LAN dial the embedded broker on all interfaces
  shoal hub serve --data-dir /var/lib/shoal-hub --mqtt-listen 0.0.0.0:1883 --listen 0.0.0.0:8080

  # an external nats-server with JetStream
  shoal hub serve --data-dir /var/lib/shoal-hub --nats-url nats://hub:secret@nats.local:4222

  # a 3-server NATS cluster, the bucket kept on all three, users written to a shared include
  # that each server reads and reloads (docs/brokers.md)
  shoal hub serve --data-dir /var/lib/shoal-hub --nats-replicas 3 \\
    --nats-url nats://nats-1.local:4222,nats://nats-2.local:4222,nats://nats-3.local:4222 \\
    --broker-auth-dir /etc/nats/shoal --broker-reload-pid /run/nats/nats-1.pid \\
    --broker-reload-pid /run/nats/nats-2.pid --broker-reload-pid /run/nats/nats-3.pid

  # a site's own firmware profiles and device classes (give the agents the same directory)
  shoal hub serve --data-dir /var/lib/shoal-hub --profiles-dir /etc/shoal/profiles

  # Mosquitto whose users and ACLs the hub generates and reloads (docs/brokers.md)
  shoal hub serve --data-dir /var/lib/shoal-hub --mqtt-url mqtt://broker.local:1883 \\
    --broker-auth-dir /etc/mosquitto/shoal --broker-reload-pid /run/mosquitto/mosquitto.pid`,
    )
    .action(async (options: ServeOptions) => {
      const nats = options.natsUrl.length > 0 ? parseNatsUrls(options.natsUrl) : null
      if (options.mqttUrl && nats) throw new CliError('choose one transport: --mqtt-url or --nats-url, not both', ExitCode.usage)
      const natsReplicas = parseReplicas(options.natsReplicas)
      if (natsReplicas !== 1 && !nats) throw new CliError('--nats-replicas goes with --nats-url', ExitCode.usage)
      const listen = parseHostPort(options.listen, '--listen')
      let transport: HubTransportConfig
      if (nats)
        transport = {
          kind: 'nats',
          url: nats,
          replicas: natsReplicas,
          ...(options.advertise ? { advertisedUrl: parseNatsUrls([options.advertise], '--advertise') } : {}),
        }
      else if (options.mqttUrl) transport = { kind: 'mqtt', url: options.mqttUrl, ...(options.advertise ? { advertisedUrl: options.advertise } : {}) }
      else {
        const mqtt = parseHostPort(options.mqttListen, '--mqtt-listen')
        const advertisedHost = options.advertise ? new URL(options.advertise).hostname : undefined
        transport = { kind: 'embedded', host: mqtt.host, port: mqtt.port, ...(advertisedHost ? { advertisedHost } : {}), ...readTls(options) }
      }
      if (options.brokerReloadPid.length > 0 && !options.brokerAuthDir) throw new CliError('--broker-reload-pid goes with --broker-auth-dir', ExitCode.usage)
      const clockSkewThresholdMs = parseThreshold(options.clockSkewThreshold)
      const maxConnectionsPerAddress = parseConnectionLimit(options.maxConnectionsPerAddress)
      const enrollRatePerSecond = parseEnrollRate(options.enrollRate)
      const alerts = alertSettingsOf(options)
      const logger = pino({ level: options.logLevel, base: { pid: process.pid }, redact: ['password', '*.password', 'token', '*.token'] })
      // Loaded here, not at the top: other verbs should not pay for aedes, the API and the scheduler.
      const [{ startHub }, { BrokerAuthConfigError }, { isProfileCatalogError }] = await Promise.all([
        import('../../hub/hub.js'),
        import('../../hub/broker-config/external-broker.js'),
        import('../../firmware-profiles/catalog.js'),
      ])
      let running
      try {
        const brokerAuth = options.brokerAuthDir ? { dir: options.brokerAuthDir, reloadTargets: options.brokerReloadPid } : undefined
        running = await startHub(
          {
            dataDir: options.dataDir,
            listenHost: listen.host,
            listenPort: listen.port,
            transport,
            clockSkewThresholdMs,
            maxConnectionsPerAddress,
            enrollRatePerSecond,
            alerts,
            ...(options.testJobRetryBase !== undefined ? { jobRetryBaseMs: parseTestDuration(options.testJobRetryBase, '--test-job-retry-base') } : {}),
            ...(options.testHeartbeatFlush !== undefined ? { heartbeatFlushMs: parseTestDuration(options.testHeartbeatFlush, '--test-heartbeat-flush') } : {}),
            ...(brokerAuth ? { brokerAuth } : {}),
            ...(options.profilesDir !== undefined ? { profilesDir: options.profilesDir } : {}),
          },
          { logger },
        )
      } catch (error) {
        if (error instanceof HubDatabaseError || error instanceof UnsafeDataDirError) throw new CliError(error.message)
        if (error instanceof BrokerAuthConfigError) throw new CliError(error.message, ExitCode.usage)
        if (isProfileCatalogError(error)) throw new CliError(error.message, ExitCode.usage)
        throw error
      }
      for (const path of running.createdSecrets) io.err(`created ${path} (mode 0600)\n`)
      io.err(
        `hub API:     ${running.apiUrl}\nbroker:      ${running.brokerUrl}\nadmin token: ${join(options.dataDir, 'admin-token')}\nhub key:     ${join(options.dataDir, 'hub-public-key.txt')}\n`,
      )
      await runUntilSignal(logger, () => running.stop(), { stoppingMessage: 'hub stopping' })
    })

  hub
    .command('broker-config')
    .description("write an external broker's users and rights (Mosquitto password and ACL files, or a nats-server authorization include) from the hub database")
    .requiredOption('--data-dir <dir>', "the hub data directory (created, with the hub's broker password, on first use)")
    .addOption(new Option('--kind <kind>', 'which broker').choices(['mosquitto', 'nats']).makeOptionMandatory())
    .requiredOption('--out <dir>', 'where to write the files (the broker reads them from there)')
    .addHelpText(
      'after',
      `
Run it once before the broker's first start, so the files exist; from then on
\`hub serve --broker-auth-dir\` keeps them up to date. See docs/brokers.md.

Examples:
  shoal hub broker-config --data-dir /var/lib/shoal-hub --kind mosquitto --out /etc/mosquitto/shoal
  shoal hub broker-config --data-dir /var/lib/shoal-hub --kind nats --out /etc/nats/shoal`,
    )
    .action(async (options: { dataDir: string; kind: 'mosquitto' | 'nats'; out: string }) => {
      const { writeBrokerConfigFiles } = await import('../../hub/broker-config/write-broker-config.js')
      let written
      try {
        written = writeBrokerConfigFiles(options)
      } catch (error) {
        if (error instanceof UnsafeDataDirError) throw new CliError(error.message)
        throw error
      }
      for (const path of written.created) io.err(`created ${path} (mode 0600)\n`)
      if (written.missing.length > 0)
        io.err(
          `warning: ${written.missing.length} node(s) enrolled before the hub kept broker hashes are left out (enroll them again): ${written.missing.join(', ')}\n`,
        )
      io.out(`${written.files.map((f) => `wrote ${f}`).join('\n')}\n${written.nodes} node(s) and the hub user ${written.hubUser}\n`)
    })

  hub
    .command('backup')
    .description('make a consistent copy of the hub database while the hub runs')
    .requiredOption('--data-dir <dir>', 'the hub data directory')
    .argument('<file>', 'where to write the copy')
    .addHelpText('after', '\nExample:\n  shoal hub backup --data-dir /var/lib/shoal-hub /backups/hub-$(date +%F).db\n')
    .action(async (file: string, options: { dataDir: string }) => {
      const path = join(options.dataDir, HUB_DATABASE_FILE)
      if (!existsSync(path)) throw new CliError(`no hub database at ${path}; is --data-dir right?`)
      if (existsSync(file)) throw new CliError(`${file} exists; choose a new file name so no backup is overwritten`)
      const db = new Database(path, { fileMustExist: true })
      try {
        await db.backup(file)
      } finally {
        db.close()
      }
      io.out(`backed up ${path} to ${file}\n`)
    })
  return hub
}
