// The hub on each of its brokers, as an operator runs it: the embedded aedes broker, or an
// external Mosquitto 2 or nats-server (JetStream) whose users and rights the hub generates
// (`shoal hub broker-config` once before the broker starts, then `hub serve --broker-auth-dir`
// keeps them in step and reloads the broker), all on free loopback ports.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ensureTestImage } from './docker.mjs'
import { machine, machineLoad } from './machine.mjs'
import { printResult } from './output.mjs'
import { startProcess, waitFor } from './processes.mjs'
import { CLI, benchDir, freePort, portOpen, startHub } from './services.mjs'

export const BROKERS = ['embedded', 'mosquitto', 'nats']

async function listening(handle, port) {
  await waitFor(
    async () => {
      if (handle.exited) throw new Error(`${handle.name} exited (${JSON.stringify(handle.exited)}); see ${handle.logFile}`)
      return portOpen(port)
    },
    { what: `${handle.name} to listen on 127.0.0.1:${port}`, timeoutMs: 20_000 },
  )
}

/**
 * Starts the hub on `broker` in `dir`; returns the hub (see startHub), the port agents dial,
 * whose connections a benchmark can then watch, and the hub's broker flags (to start it again).
 * `mosquittoLines`: more lines for mosquitto.conf (limits a benchmark compares).
 */
export async function startHubOn(broker, dir, { logLevel = 'warn', mosquittoLines = [] } = {}) {
  if (broker === 'embedded') {
    const hub = await startHub(dir, { logLevel })
    return { hub, brokerPort: hub.mqttPort, broker: null, hubArgs: [] }
  }
  const hubData = path.join(dir, 'hub')
  const authDir = path.join(dir, 'broker-auth')
  mkdirSync(dir, { recursive: true })
  execFileSync(process.execPath, [CLI, 'hub', 'broker-config', '--data-dir', hubData, '--kind', broker, '--out', authDir], { stdio: 'ignore', timeout: 60_000 })
  const port = await freePort()
  let handle
  if (broker === 'mosquitto') {
    const conf = path.join(dir, 'mosquitto.conf')
    // As docs/brokers.md says; as root mosquitto would switch to its own user, so stay root.
    writeFileSync(
      conf,
      [
        'user root',
        'persistence false',
        `listener ${port} 127.0.0.1`,
        'allow_anonymous false',
        'use_username_as_clientid true',
        'max_packet_size 1100000',
        'set_tcp_nodelay true',
        `password_file ${authDir}/mosquitto.passwd`,
        `acl_file ${authDir}/mosquitto.acl`,
        ...mosquittoLines,
        '',
      ].join('\n'),
    )
    handle = startProcess('mosquitto', 'mosquitto', ['-c', conf], { logFile: path.join(dir, 'mosquitto.log') })
  } else if (broker === 'nats') {
    const conf = path.join(dir, 'nats-server.conf')
    // JetStream in the file (a reload turns off what only `-js` enabled); the include relative to this file.
    writeFileSync(conf, `jetstream { store_dir: "${path.join(dir, 'jetstream')}" }\ninclude "broker-auth/nats-authorization.conf"\n`)
    handle = startProcess('nats-server', 'nats-server', ['-a', '127.0.0.1', '-p', String(port), '-c', conf], { logFile: path.join(dir, 'nats-server.log') })
  } else {
    throw new Error(`broker ${JSON.stringify(broker)}: expected one of ${BROKERS.join(', ')}`)
  }
  await listening(handle, port)
  const urlFlag = broker === 'nats' ? ['--nats-url', `nats://127.0.0.1:${port}`] : ['--mqtt-url', `mqtt://127.0.0.1:${port}`]
  const hubArgs = [...urlFlag, '--broker-auth-dir', authDir, '--broker-reload-pid', String(handle.pid)]
  const hub = await startHub(dir, { logLevel, hubArgs })
  return { hub, brokerPort: port, broker: handle, hubArgs }
}

/**
 * The frame of a per-broker benchmark: checks `brokers`, measures each in turn with
 * `measure(broker, dir)` in one bench directory, and prints the result (`fields` added) with
 * the command, the time and the machine's load over the whole run.
 */
export async function measurePerBroker({ benchmark, brokers, measure, fields }) {
  for (const broker of brokers) if (!BROKERS.includes(broker)) throw new Error(`--brokers: ${broker} is none of ${BROKERS.join(', ')}`)
  const host = await machine()
  const load = machineLoad()
  await ensureTestImage()
  const dir = benchDir(benchmark)
  const results = []
  for (const broker of brokers) results.push(await measure(broker, dir))
  printResult({
    benchmark,
    command: `node scripts/bench/${benchmark}.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    at: new Date().toISOString(),
    machine: { ...host, ...load() },
    ...fields,
    brokers: results,
  })
}
