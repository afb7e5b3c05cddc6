#!/usr/bin/env node
// session-latency: remote sessions (issue 13) against a direct loopback connection, on each broker
// (the embedded aedes broker, Mosquitto 2, nats-server with the hub's generated rights). A real hub
// and a real enrolled agent run a busybox httpd (host network, 127.0.0.1) serving a file of
// random bytes. Measured from the operator's side with the CLI's own session client (dist/):
//   - exec round trip: one `cat` session, a 1-byte write, time until that byte comes back; the
//     median and p95 of --echoes round trips, beside the same 1-byte echo over a direct loopback
//     TCP connection to a local echo server;
//   - port-forward throughput: the file downloaded through `shoal port-forward`'s path (one
//     session per connection, as the CLI does) beside the same download straight from the httpd.
// Targets (issue 13): echo round trip <= 20 ms on loopback; port-forward >= 30% of direct.
//
//   node scripts/bench/session-latency.mjs [--brokers embedded,mosquitto,nats] [--echoes 200] [--mb 100]
import { createServer, connect as tcpConnect } from 'node:net'
import { request } from 'node:http'
import path from 'node:path'
import { mkdirSync } from 'node:fs'
import { benchArgs } from './lib/args.mjs'
import { BROKERS, measurePerBroker, startHubOn } from './lib/broker-hubs.mjs'
import { TEST_IMAGE, benchRun, removeContainersByLabel, runningCount } from './lib/docker.mjs'
import { note, round } from './lib/output.mjs'
import { runBenchmark, stopProcess, waitFor } from './lib/processes.mjs'
import { DIST, freePort, startAgentProcess } from './lib/services.mjs'

const TARGET_ECHO_MS = 20
const TARGET_FORWARD_RATIO = 0.3

const options = benchArgs(
  { brokers: BROKERS, echoes: 200, mb: 100 },
  'node scripts/bench/session-latency.mjs: exec echo round trip and port-forward throughput beside direct loopback, per broker',
)

const { CliSession } = await import(path.join(DIST, 'cli', 'session-client.js'))

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]

/** Round trips of one byte through `write`, each awaited before the next; milliseconds, sorted. */
async function echoRounds(count, write, arrival) {
  const times = []
  for (let i = 0; i < count; i++) {
    const back = arrival()
    const started = performance.now()
    write(Buffer.of(65 + (i % 26)))
    await back
    times.push(performance.now() - started)
  }
  return times.sort((a, b) => a - b)
}

/** A local echo server and a client: the direct loopback figure. */
async function directEcho(count) {
  const server = createServer((socket) => socket.pipe(socket))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const socket = tcpConnect(server.address().port, '127.0.0.1')
  socket.setNoDelay(true)
  await new Promise((resolve) => socket.once('connect', resolve))
  const times = await echoRounds(
    count,
    (bytes) => socket.write(bytes),
    () => new Promise((resolve) => socket.once('data', resolve)),
  )
  socket.destroy()
  server.close()
  return times
}

/** The exec echo: one `cat` session; each byte written comes back on stdout. */
async function sessionEcho(connection, deployment, count) {
  let wake = null
  const session = await CliSession.open(
    connection,
    { kind: 'exec', deployment, command: ['cat'], tty: false, stdin: true },
    {
      data: () => {
        wake?.()
        return true
      },
    },
  )
  const times = await echoRounds(
    count,
    (bytes) => void session.write(bytes),
    () => new Promise((resolve) => (wake = resolve)),
  )
  session.eof()
  await session.ended
  return times
}

/** Bytes of one download and how long it took (MB/s). */
function download(port) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const req = request({ host: '127.0.0.1', port, path: '/big', agent: false }, (res) => {
      let bytes = 0
      res.on('data', (chunk) => (bytes += chunk.length))
      res.on('end', () => resolve({ bytes, seconds: (performance.now() - started) / 1000 }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** A loopback listener that tunnels each connection through a port-forward session, as `shoal port-forward` does. */
async function forwarder(connection, deployment, port) {
  const server = createServer((socket) => {
    socket.pause()
    let session = null
    CliSession.open(
      connection,
      { kind: 'port-forward', deployment, port },
      {
        data: (_stream, bytes) => {
          const more = socket.write(bytes)
          if (!more) socket.once('drain', () => session?.resume())
          return more
        },
      },
    ).then(
      (open) => {
        session = open
        socket.on('data', (chunk) => {
          socket.pause()
          open.write(chunk).then(() => socket.resume())
        })
        socket.once('end', () => open.eof())
        socket.once('close', () => open.close())
        socket.resume()
        open.ended.then(() => socket.end())
      },
      () => socket.destroy(),
    )
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

async function measureBroker(broker, dir) {
  const run = benchRun(`sessions-${broker}`)
  const base = path.join(dir, broker)
  mkdirSync(base, { recursive: true })
  note(`${broker}: starting the hub`)
  const { hub, broker: brokerProcess } = await startHubOn(broker, base)
  let agent = null
  try {
    const port = await freePort()
    const { token } = await hub.api('POST', '/api/v1/tokens', { maxUses: 1 })
    const script = `mkdir -p /www && head -c ${options.mb * 1024 * 1024} /dev/urandom > /www/big && trap 'exit 0' TERM; httpd -f -p 127.0.0.1:${port} -h /www & wait`
    const manifest = {
      apiVersion: 'shoal/v1',
      kind: 'Deployment',
      metadata: { name: 'bench-web' },
      spec: {
        mode: 'every-node',
        selector: { matchLabels: { bench: run.id } },
        template: { image: TEST_IMAGE, command: ['sh', '-c', script], restartPolicy: 'always', network: 'host' },
      },
    }
    await hub.api('POST', '/api/v1/manifests', JSON.stringify(manifest), 'application/yaml')
    agent = startAgentProcess({
      dataDir: path.join(base, 'agent'),
      name: run.id,
      hub: hub.apiUrl,
      token,
      labels: `bench=${run.id}`,
      containerLabels: run.label,
    })
    await waitFor(async () => (await runningCount(run.label)) === 1, { what: `${broker}: the web workload running`, timeoutMs: 180_000, intervalMs: 500 })
    await waitFor(async () => (await download(port).catch(() => ({ bytes: 0 }))).bytes === options.mb * 1024 * 1024, {
      what: `${broker}: the ${options.mb} MB file served`,
      timeoutMs: 120_000,
      intervalMs: 1_000,
    })
    const connection = { hub: hub.apiUrl, token: hub.adminToken, source: 'flag' }
    await waitFor(async () => (await sessionEcho(connection, 'bench-web', 1).catch(() => null)) !== null, {
      what: `${broker}: the node to take sessions`,
      timeoutMs: 60_000,
      intervalMs: 1_000,
    })
    const direct = await directEcho(options.echoes)
    const relayed = await sessionEcho(connection, 'bench-web', options.echoes)
    const server = await forwarder(connection, 'bench-web', port)
    const directDownload = await download(port)
    const forwarded = await download(server.address().port)
    server.close()
    const mbps = (d) => round(d.bytes / 1024 / 1024 / d.seconds, 1)
    const result = {
      broker,
      echo: {
        sessionMedianMs: round(percentile(relayed, 50), 2),
        sessionP95Ms: round(percentile(relayed, 95), 2),
        directMedianMs: round(percentile(direct, 50), 3),
        rounds: options.echoes,
        meetsTarget: percentile(relayed, 50) <= TARGET_ECHO_MS,
      },
      portForward: {
        mb: options.mb,
        forwardedMBps: mbps(forwarded),
        directMBps: mbps(directDownload),
        ratio: round(mbps(forwarded) / mbps(directDownload), 3),
        meetsTarget: mbps(forwarded) / mbps(directDownload) >= TARGET_FORWARD_RATIO,
      },
    }
    note(`${broker}: result ${JSON.stringify(result)}`)
    return result
  } finally {
    if (agent) await stopProcess(agent)
    await stopProcess(hub.handle)
    if (brokerProcess) await stopProcess(brokerProcess)
    await removeContainersByLabel(run.label)
  }
}

await runBenchmark(() =>
  measurePerBroker({
    benchmark: 'session-latency',
    brokers: options.brokers,
    measure: measureBroker,
    fields: {
      target: { echoMedianMs: TARGET_ECHO_MS, portForwardRatio: TARGET_FORWARD_RATIO },
    },
  }),
)
