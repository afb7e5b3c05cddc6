// Hostile input against a real hub process (issue 11 items 1 and 4): a megabyte of nesting is a
// quick 400 naming the limit while /healthz keeps answering and memory stays put; the same from
// a node over MQTT is a counted rejection; a client that never finishes its headers is cut; one
// address cannot hold more than its share of connections while another still gets through; an
// MQTT packet larger than any node sends is cut at its header.
// Times are measured and printed, never asserted.
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import t from 'tap'
import { minimalInventory } from '../support/inventory.js'
import { mqttTopic } from '../../protocol/topics.js'
import { waitFor } from '../support/wait.js'
import { connectRawMqtt, publishRaw, startHubProcess, type HubProcess } from '../support/hub-process.js'
import { rawConnection, type RawConnection } from './raw-http.js'

t.setTimeout(120_000)

const MEBIBYTE = 1024 * 1024
/**
 * Connections one address may hold, as `--max-connections-per-address` sets it (the default, 32,
 * is DEFAULT_CONNECTION_LIMITS in hub/api/server.ts).
 */
const PER_CLIENT = 12

interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details?: ReadonlyArray<{ line?: number; column?: number; message: string }> }
}

/** The hub's resident memory, in MB, from /proc. */
function rssMb(hub: HubProcess): number {
  const status = readFileSync(`/proc/${hub.pid}/status`, 'utf8')
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1])
  return Math.round(kb / 1024)
}

/** Polls /healthz back to back until `until` settles; resolves to each answer's status and time. */
async function pollHealth(hub: HubProcess, until: Promise<unknown>): Promise<{ status: number; ms: number }[]> {
  let done = false
  void until.finally(() => {
    done = true
  })
  const answers: { status: number; ms: number }[] = []
  do {
    const started = performance.now()
    const response = await fetch(`${hub.apiUrl}/healthz`, { signal: AbortSignal.timeout(60_000) })
    await response.text()
    answers.push({ status: response.status, ms: performance.now() - started })
  } while (!done)
  return answers
}

t.test('hostile input and hostile clients against a real hub', async (t) => {
  const hub = await startHubProcess(t, { extraArgs: ['--max-connections-per-address', String(PER_CLIENT)] })

  // Started first and awaited last: the hub must cut it within its header timeout (10 s, checked
  // every second), while everything else runs.
  const slowStarted = performance.now()
  const slow = await rawConnection(hub.apiPort, 'GET /healthz HTTP/1.1\r\nhost: hub\r\nx-slow: 1', '127.0.0.4')
  const slowClosed = slow.closed.then((text) => ({ text, ms: performance.now() - slowStarted }))

  await t.test('a megabyte of nesting is a 400 naming the limit, while /healthz keeps answering and memory stays put', async (t) => {
    const rssBefore = rssMb(hub)
    const attacks: [string, string, number][] = [
      ['brackets', '['.repeat(MEBIBYTE), 65],
      ['compact block sequences', '- '.repeat(MEBIBYTE / 2), 129],
      ['JSON objects', '{"a":'.repeat(MEBIBYTE / 5), 321],
    ]
    const posts = (async () => {
      for (const [what, body, column] of attacks) {
        const started = performance.now()
        const response = await hub.api<ErrorBody>('POST', '/api/v1/manifests', body)
        t.comment(`${what}: ${response.status} in ${Math.round(performance.now() - started)} ms`)
        t.equal(response.status, 400, `${what}: answered 400`)
        t.match(response.body.error?.message, /nesting deeper than 64 levels/, `${what}: the answer names the limit`)
        t.match(response.body.error?.details, [{ line: 1, column, message: /nesting deeper than 64 levels/ }], `${what}: and where it was passed`)
      }
    })()
    const health = await pollHealth(hub, posts)
    await posts
    t.comment(`/healthz meanwhile: ${health.length} answers, slowest ${Math.round(Math.max(...health.map((h) => h.ms)))} ms`)
    t.ok(health.length > 0 && health.every((h) => h.status === 200), '/healthz answered 200 every time')
    const rssAfter = rssMb(hub)
    t.comment(`hub RSS: ${rssBefore} MB before, ${rssAfter} MB after (without the bound: over 900 MB more)`)
    t.ok(rssAfter - rssBefore < 128, `memory stays bounded (${rssAfter - rssBefore} MB more)`)
    t.equal((await hub.api('GET', '/api/v1/deployments')).status, 200, 'the hub is fine')
  })

  await t.test('a deeply nested JSON body is a 400 too, before authentication matters (enrollment is public)', async (t) => {
    const response = await hub.api<ErrorBody>('POST', '/api/v1/enroll', `{"token": ${'['.repeat(MEBIBYTE / 2)}`, {
      token: null,
      contentType: 'application/json',
    })
    t.equal(response.status, 400)
    t.match(response.body.error, { code: 'bad-request', message: /^nesting deeper than 64 levels at line 1, column 74$/ })
  })

  await t.test("a node's deeply nested heartbeat is rejected and counted as too-deep", async (t) => {
    const token = await hub.createJoinToken({ maxUses: 1 })
    const inventory = minimalInventory('deep')
    const enrolled = await hub.ok<{ nodeId: string; username: string; password: string }>('POST', '/api/v1/enroll', {
      token,
      name: 'deep-node',
      inventory,
      agentVersion: 'test',
    })
    const raw = await connectRawMqtt(t, hub.brokerUrl, { clientId: `shoal-agent-${enrolled.nodeId}`, username: enrolled.username, password: enrolled.password })
    // Under the heartbeat's 8 KiB, so it is the depth that refuses it, not the size.
    t.equal(await publishRaw(raw, mqttTopic(enrolled.nodeId, 'heartbeat'), `{"nodeId": ${'['.repeat(8000)}`), 'acked')
    await waitFor(async () => (await hub.metric('shoal_messages_rejected_total', { channel: 'heartbeat', reason: 'too-deep' })) === 1, {
      what: 'the hub to count the heartbeat as rejected, too-deep',
      timeoutMs: 15_000,
    })
    t.ok(raw.client.connected, 'the node stays connected')
    await raw.end()
  })

  await t.test(`one address holds at most ${PER_CLIENT} connections; one more is a 503, another address still gets through`, async (t) => {
    // Change streams: long-lived by design, so each holds its connection for as long as the test needs.
    const stream = `GET /api/v1/stream HTTP/1.1\r\nhost: hub\r\nauthorization: Bearer ${hub.adminToken}\r\n\r\n`
    const held: RawConnection[] = []
    t.teardown(() => {
      for (const connection of held) connection.socket.destroy()
    })
    for (let i = 0; i < PER_CLIENT; i++) {
      const connection = await rawConnection(hub.apiPort, stream, '127.0.0.3')
      held.push(connection)
      await connection.received(/: connected\n\n/)
    }
    const over = await rawConnection(hub.apiPort, stream, '127.0.0.3')
    const answer = await over.closed
    t.match(answer, /^HTTP\/1\.1 503 Service Unavailable\r\n/)
    t.match(answer, /"code":"too-many-connections"/)
    t.equal((await fetch(`${hub.apiUrl}/healthz`)).status, 200, 'another client (127.0.0.1) is served meanwhile')
    t.ok(!held.some((connection) => connection.socket.destroyed), 'the held streams are untouched')

    held.pop()?.socket.destroy()
    await waitFor(
      async () => {
        const again = await rawConnection(hub.apiPort, 'GET /healthz HTTP/1.1\r\nhost: hub\r\nconnection: close\r\n\r\n', '127.0.0.3')
        return (await again.closed).startsWith('HTTP/1.1 200 ')
      },
      { what: 'a connection from 127.0.0.3 to be served again once one of its streams closed', timeoutMs: 15_000, intervalMs: 100 },
    )
  })

  await t.test('an MQTT packet declaring more than a node ever sends is cut at its header, before its body is buffered', async (t) => {
    const socket = connect(hub.mqttPort, '127.0.0.1')
    t.teardown(() => socket.destroy())
    await once(socket, 'connect')
    // Cut while data is still in flight, the socket may see a reset before it closes: that is
    // the hub closing it too, so wait for 'close' whatever came first (events.once would reject).
    const resets: Error[] = []
    socket.on('error', (error) => resets.push(error))
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    // A PUBLISH whose fixed header declares 256 MB, then its body trickling in.
    socket.write(Buffer.from([0x32, 0xff, 0xff, 0xff, 0x7f]))
    const junk = Buffer.alloc(64 * 1024, 0x61)
    const trickle = setInterval(() => socket.writable && socket.write(junk), 10)
    t.teardown(() => clearInterval(trickle))
    await closed
    clearInterval(trickle)
    t.pass(`the hub closed the connection${resets.length > 0 ? ` (${resets.map((e) => e.message).join(', ')} on the way)` : ''}`)
    await waitFor(() => /closing a connection that sent an MQTT packet of 268435455 bytes/.test(readFileSync(hub.logFile, 'utf8')), {
      what: 'the hub to say why it closed it',
      timeoutMs: 10_000,
    })
    t.pass('and said why, with the size')
    t.equal((await fetch(`${hub.apiUrl}/healthz`)).status, 200, 'the hub keeps answering')
  })

  await t.test('a client that never finishes its headers is cut within the header timeout', async (t) => {
    const { text, ms } = await slowClosed
    t.comment(`closed by the hub after ${Math.round(ms)} ms (header timeout 10 s, checked every second)`)
    t.match(text, /^HTTP\/1\.1 408 /)
  })
})
