import type { AddressInfo } from 'node:net'
import pino from 'pino'
import t from 'tap'
import { Router } from '../../hub/api/router.js'
import { DEFAULT_CONNECTION_LIMITS, createApiServer, type ConnectionLimits } from '../../hub/api/server.js'
import { rawConnection } from '../integration/raw-http.js'
import { waitFor } from '../support/wait.js'
import type { TestLike } from '../support/types.js'

// The API server's bounds on what one client may hold, over real sockets on loopback, with
// limits small enough to reach quickly: a request that never finishes arriving is cut, one
// address cannot open more than its share of connections while another still gets through,
// and an answer that streams for long (the change stream, log follows) is not cut.

const TOKEN = 'a-token-of-some-length'

async function startServer(t: TestLike, limits: Partial<ConnectionLimits>): Promise<{ port: number; warnings: { msg: string }[] }> {
  const warnings: { msg: string }[] = []
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) })
  const router = new Router()
    .add('GET', '/healthz', () => ({ ok: true }), { public: true })
    .add('POST', '/echo', async (context) => ({ bytes: (await context.body()).byteLength }), { public: true })
    .add(
      'GET',
      '/ticks',
      (context) => {
        context.res.writeHead(200, { 'content-type': 'text/plain' })
        let n = 0
        const timer = setInterval(() => context.res.write(`tick ${++n}\n`), 50)
        context.req.on('close', () => clearInterval(timer))
      },
      { public: true },
    )
  const server = createApiServer({ router, adminToken: TOKEN, logger, maxBodyBytes: 1024, limits })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { port: (server.address() as AddressInfo).port, warnings }
}

const GET_HEALTHZ = 'GET /healthz HTTP/1.1\r\nhost: hub\r\n\r\n'

t.test('the defaults: headers within 10 s, a request within 60 s, 32 connections per client', async (t) => {
  t.match(DEFAULT_CONNECTION_LIMITS, { headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000, maxConnectionsPerClient: 32 })
  t.ok(DEFAULT_CONNECTION_LIMITS.checkIntervalMs <= 1_000, 'checked at least every second, not every 30 s')
})

t.test('a client that never finishes its headers is answered 408 and disconnected', async (t) => {
  const { port } = await startServer(t, { headersTimeoutMs: 300, requestTimeoutMs: 600, checkIntervalMs: 100 })
  const started = performance.now()
  const slow = await rawConnection(port, 'GET /healthz HTTP/1.1\r\nhost: hub\r\nx-slow: 1')
  const received = await slow.closed
  t.comment(`closed by the server after ${Math.round(performance.now() - started)} ms (headers timeout 300 ms, checked every 100 ms)`)
  t.match(received, /^HTTP\/1\.1 408 /)
})

t.test('a body that never finishes arriving is cut too', async (t) => {
  const { port } = await startServer(t, { headersTimeoutMs: 300, requestTimeoutMs: 600, checkIntervalMs: 100 })
  const slow = await rawConnection(port, 'POST /echo HTTP/1.1\r\nhost: hub\r\ncontent-length: 100\r\n\r\n0123456789')
  t.match(await slow.closed, /^HTTP\/1\.1 408 /)
})

t.test('one address over its connection limit is answered 503 and closed; another address still gets through', async (t) => {
  const { port, warnings } = await startServer(t, { maxConnectionsPerClient: 3, keepAliveTimeoutMs: 60_000 })
  // Three keep-alive connections from 127.0.0.2, each answered once, so the server has counted them.
  const held = await Promise.all([1, 2, 3].map(() => rawConnection(port, GET_HEALTHZ, '127.0.0.2')))
  for (const connection of held) await connection.received(/\{"ok":true\}/)

  const fourth = await rawConnection(port, GET_HEALTHZ, '127.0.0.2')
  const answer = await fourth.closed
  t.match(answer, /^HTTP\/1\.1 503 Service Unavailable\r\n/)
  t.match(answer, /\r\nretry-after: 1\r\n/i)
  t.match(answer, /\r\nconnection: close\r\n/i)
  t.match(answer, /"code":"too-many-connections".*127\.0\.0\.2 already has 3 connections open/)

  const other = await rawConnection(port, GET_HEALTHZ, '127.0.0.1')
  t.match(await other.received(/\{"ok":true\}/), /^HTTP\/1\.1 200 /, 'another client is served meanwhile')
  other.socket.destroy()

  t.ok(!held.some((connection) => connection.socket.destroyed), 'the connections within the limit are untouched')
  t.match(warnings, [{ msg: 'refused a connection: too many open from this client' }], 'logged once, as a warning')

  // One closes: the address may connect again.
  held[0]?.socket.destroy()
  await waitFor(
    async () => {
      const again = await rawConnection(port, GET_HEALTHZ, '127.0.0.2')
      const text = await again.received(/\r\n\r\n/).catch(() => '')
      again.socket.destroy()
      return text.startsWith('HTTP/1.1 200 ')
    },
    { what: 'a new connection from 127.0.0.2 to be served after one of its three closed', timeoutMs: 10_000, intervalMs: 50 },
  )
  for (const connection of held) connection.socket.destroy()
})

t.test('an answer that streams for longer than the request timeout is not cut', async (t) => {
  const { port } = await startServer(t, { headersTimeoutMs: 100, requestTimeoutMs: 200, checkIntervalMs: 50 })
  const stream = await rawConnection(port, 'GET /ticks HTTP/1.1\r\nhost: hub\r\n\r\n')
  // 20 ticks 50 ms apart: five times the request timeout, checked twenty times.
  await stream.received(/tick 20\n/)
  t.notOk(stream.socket.destroyed, 'still open')
  stream.socket.destroy()
})
