// The pure parts of the agent's session server (agent/sessions/): the nonce book, the open
// check, the credit windows, the token bucket, the outbound queue's cut at 64 KiB and the exec
// stream demultiplexer. No I/O; time is a number the test moves.
import t from 'tap'
import { NonceBook } from '../../agent/sessions/nonce-book.js'
import { checkOpen, type OpenCheckContext } from '../../agent/sessions/open-check.js'
import { CreditError, MAX_CREDIT_BYTES, ReceiveWindow, SendWindow } from '../../protocol/session-credit.js'
import { TokenBucket } from '../../agent/sessions/token-bucket.js'
import { OutboundQueue } from '../../agent/sessions/outbound-queue.js'
import { sessionSettings } from '../../agent/sessions/session-settings.js'
import { DockerStreamDemuxer, StreamFormatError } from '../../agent/runtime/docker-stream-demux.js'
import { FirmwareProfile } from '../../firmware-profiles/schema.js'
import { SESSION_MAX_DATA_BYTES, SESSION_NONCE_TTL_MS } from '../../protocol/session.js'
import { generateSigningKeys, signObject } from '../../protocol/signing.js'

const SESSION = 'a'.repeat(32)
const OTHER = 'b'.repeat(32)

function book(maxEntries = 4): { book: NonceBook; clock: { now: number } } {
  const clock = { now: 1000 }
  let counter = 0
  const random = (bytes: number): Buffer => {
    const out = Buffer.alloc(bytes)
    out.writeUInt32BE(++counter, bytes - 4)
    return out
  }
  return { book: new NonceBook({ ttlMs: SESSION_NONCE_TTL_MS, maxEntries, now: () => clock.now, random }), clock }
}

t.test('nonce book: a nonce opens its own session once, within its life', async (t) => {
  const { book: nonces, clock } = book()
  const nonce = nonces.issue(SESSION)
  t.match(nonce, /^[0-9a-f]{32}$/)
  t.same(nonces.redeem(OTHER, nonce), { ok: false, reason: 'other-session' }, 'issued to another session')
  t.same(nonces.redeem(SESSION, nonce), { ok: false, reason: 'unknown' }, 'a nonce is tried once, even by a wrong session')
  const second = nonces.issue(SESSION)
  t.same(nonces.redeem(SESSION, second), { ok: true })
  t.same(nonces.redeem(SESSION, second), { ok: false, reason: 'unknown' }, 'spent')
  const late = nonces.issue(SESSION)
  clock.now += SESSION_NONCE_TTL_MS + 1
  t.same(nonces.redeem(SESSION, late), { ok: false, reason: 'expired' })
  t.same(nonces.redeem(SESSION, 'f'.repeat(32)), { ok: false, reason: 'unknown' }, 'never issued')
})

t.test('nonce book: bounded; a flood of hellos forgets the oldest, and expired ones go first', async (t) => {
  const { book: nonces, clock } = book(3)
  const first = nonces.issue(SESSION)
  for (let i = 0; i < 3; i++) nonces.issue(OTHER)
  t.equal(nonces.size, 3)
  t.same(nonces.redeem(SESSION, first), { ok: false, reason: 'unknown' }, 'the oldest was forgotten')
  clock.now += SESSION_NONCE_TTL_MS + 1
  nonces.issue(SESSION)
  t.equal(nonces.size, 1, 'expired nonces are pruned on issue')
  nonces.clear()
  t.equal(nonces.size, 0)
})

const keys = generateSigningKeys()
const target = { kind: 'exec', workload: 'web', command: ['true'], tty: false, stdin: false } as const

function context(nonces: NonceBook, more: Partial<OpenCheckContext> = {}): OpenCheckContext {
  return { nodeId: 'node-1', hubPublicKey: keys.publicKey, nonces, settings: { enabled: true, maxSessions: 2 }, active: 0, ...more }
}

t.test('open check: signed, valid, this node, its nonce, allowed and under the limit', async (t) => {
  const { book: nonces } = book()
  const open = signObject({ sessionId: SESSION, nodeId: 'node-1', nonce: nonces.issue(SESSION), user: 'ops', target }, keys.privateKeyPem)
  const result = checkOpen(SESSION, open, context(nonces))
  t.ok(result.ok)
  t.match(result, { open: { sessionId: SESSION, target: { kind: 'exec' } } })
})

t.test('open check: each refusal has its code, in order: signature before anything, the nonce spent only by a signed open', async (t) => {
  const { book: nonces } = book()
  const nonce = nonces.issue(SESSION)
  const unsigned = { sessionId: SESSION, nodeId: 'node-1', nonce, user: 'ops', target }
  t.match(checkOpen(SESSION, unsigned, context(nonces)), { ok: false, code: 'refused', message: /no signature/ })
  t.match(checkOpen(SESSION, signObject(unsigned, generateSigningKeys().privateKeyPem), context(nonces)), { code: 'refused', message: /pinned hub key/ })
  t.match(checkOpen(SESSION, 'not an object', context(nonces)), { code: 'refused' })
  t.match(checkOpen(SESSION, signObject(unsigned, keys.privateKeyPem), context(nonces, { hubPublicKey: null })), { code: 'refused', message: /not enrolled/ })
  const badShape = signObject({ ...unsigned, target: { kind: 'exec', workload: 'web', command: [] } }, keys.privateKeyPem)
  t.match(checkOpen(SESSION, badShape, context(nonces)), { code: 'invalid', message: /target/ })
  t.match(checkOpen(OTHER, signObject(unsigned, keys.privateKeyPem), context(nonces)), { code: 'refused', message: /came on session/ })
  t.match(checkOpen(SESSION, signObject({ ...unsigned, nodeId: 'node-2' }, keys.privateKeyPem), context(nonces)), {
    code: 'refused',
    message: /for node node-2/,
  })
  // None of the above spent the nonce: a signed, well-formed open for this node still can.
  const disabled = checkOpen(SESSION, signObject(unsigned, keys.privateKeyPem), context(nonces, { settings: { enabled: false, maxSessions: 2 } }))
  t.match(disabled, { code: 'disabled', message: /remoteSessions\.enabled/ })
  t.match(
    checkOpen(SESSION, signObject(unsigned, keys.privateKeyPem), context(nonces)),
    { code: 'refused', message: /already used/ },
    'spent by the disabled try',
  )
  const fresh = { ...unsigned, nonce: nonces.issue(SESSION) }
  t.match(checkOpen(SESSION, signObject(fresh, keys.privateKeyPem), context(nonces, { active: 2 })), { code: 'busy', message: /already has 2 sessions/ })
})

t.test('send window: spends what was granted, never more; grants add; overflow refused', async (t) => {
  const window = new SendWindow(100)
  window.spend(60)
  t.equal(window.available, 40)
  t.throws(() => window.spend(41), CreditError)
  t.throws(() => window.spend(-1), CreditError)
  t.ok(window.grant(10))
  t.equal(window.available, 50)
  t.notOk(window.grant(MAX_CREDIT_BYTES), 'past the uint32 bound')
  t.notOk(window.grant(1.5))
  t.equal(window.available, 50)
  window.spend(50)
  t.equal(window.available, 0)
})

t.test('receive window: the peer sends within its credit; grants only for bytes written on, in batches or when all is written', async (t) => {
  const window = new ReceiveWindow(1000, 300)
  t.ok(window.receive(400))
  t.ok(window.receive(500))
  t.equal(window.remaining, 100)
  t.notOk(window.receive(101), 'past the credit')
  t.equal(window.takeGrant(), 0, 'nothing written yet')
  window.written(200)
  t.equal(window.grantDue, 0, 'less than a batch, and more still unwritten')
  t.equal(window.takeGrant(), 0)
  window.written(200)
  t.equal(window.takeGrant(), 400, 'a batch is due')
  t.equal(window.remaining, 500)
  window.written(100)
  t.equal(window.pendingWrites, 400)
  t.equal(window.takeGrant(), 0)
  window.written(400)
  t.equal(window.takeGrant(150), 150, 'everything written: due at once, up to the limit')
  t.equal(window.grantDue, 350)
  t.equal(window.takeGrant(), 350)
  t.equal(window.remaining, 1000, 'all of it granted back')
  t.throws(() => window.written(1), CreditError, 'more written than received')
  t.ok(window.receive(10))
  window.discard(10)
  t.equal(window.pendingWrites, 0)
  t.equal(window.takeGrant(), 0, 'discarded bytes are owed nothing')
})

t.test('token bucket: a burst at once, then the rate; msUntil says how long to wait', async (t) => {
  const bucket = new TokenBucket(1000, 500, 0)
  t.equal(bucket.take(800, 0), 500, 'the burst')
  t.equal(bucket.take(1, 0), 0)
  t.equal(bucket.msUntil(100, 0), 100)
  t.equal(bucket.take(1000, 100), 100)
  t.equal(bucket.take(1000, 10_000), 500, 'never more than a burst saved up')
  t.equal(bucket.msUntil(10_000, 10_000), 500, 'a wish bigger than a burst waits for a burst')
  t.equal(bucket.take(10, 5_000), 0, 'a clock going back adds nothing')
  t.throws(() => new TokenBucket(0, 10, 0), RangeError)
})

t.test('outbound queue: pieces of at most 64 KiB, in order, never mixing streams', async (t) => {
  const queue = new OutboundQueue()
  queue.push(1, Buffer.alloc(150 * 1024, 1))
  queue.push(2, Buffer.alloc(10, 2))
  queue.push(1, Buffer.alloc(0))
  t.equal(queue.bytes, 150 * 1024 + 10)
  const sizes: Array<[number, number]> = []
  for (let piece = queue.take(Number.POSITIVE_INFINITY); piece; piece = queue.take(Number.POSITIVE_INFINITY)) sizes.push([piece.stream, piece.bytes.length])
  t.same(sizes, [
    [1, SESSION_MAX_DATA_BYTES],
    [1, SESSION_MAX_DATA_BYTES],
    [1, 150 * 1024 - 2 * SESSION_MAX_DATA_BYTES],
    [2, 10],
  ])
  t.ok(queue.empty)
  queue.push(1, Buffer.from('abcdef'))
  t.equal(queue.take(0), null, 'no credit, nothing')
  t.equal(queue.take(4)?.bytes.toString(), 'abcd', 'cut to the credit')
  t.equal(queue.take(4)?.bytes.toString(), 'ef')
  queue.push(1, Buffer.from('x'))
  queue.clear()
  t.equal(queue.bytes, 0)
})

function frame(stream: number, payload: string): Buffer {
  const header = Buffer.alloc(8)
  header[0] = stream
  header.writeUInt32BE(Buffer.byteLength(payload), 4)
  return Buffer.concat([header, Buffer.from(payload)])
}

t.test('exec stream demuxer: bytes stay bytes, whatever the cuts; engine errors count as stderr', async (t) => {
  const bytes = Buffer.concat([frame(1, 'hello '), frame(2, 'oops'), frame(3, '!'), frame(1, 'world'), frame(1, '')])
  for (const cut of [1, 3, 7, 8, 9, bytes.length]) {
    const demux = new DockerStreamDemuxer()
    const out: Record<number, string> = { 1: '', 2: '' }
    for (let at = 0; at < bytes.length; at += cut) for (const piece of demux.push(bytes.subarray(at, at + cut))) out[piece.stream] += piece.bytes.toString()
    t.same(out, { 1: 'hello world', 2: 'oops!' }, `cut every ${cut} bytes`)
    t.ok(demux.atBoundary)
  }
  const partial = new DockerStreamDemuxer()
  partial.push(frame(1, 'abc').subarray(0, 9))
  t.notOk(partial.atBoundary)
  t.throws(() => new DockerStreamDemuxer().push(Buffer.from('plain text, not frames')), StreamFormatError)
})

t.test('profile settings: defaults when the profile says nothing; a cap in bytes per second', async (t) => {
  const base = {
    name: 'p',
    description: 'a test profile',
    match: {},
    reserved: { cpu: '100m', memory: '64Mi' },
    agent: {
      heartbeatInterval: '30s',
      statusBatchInterval: '5s',
      outbox: { maxRecords: 1000, maxBytes: '8Mi' },
      logRetention: { maxLines: 100 },
      imageGc: { highPercent: 90, lowPercent: 80 },
      concurrentPulls: 1,
      inventoryRefresh: '1h',
    },
  }
  t.same(sessionSettings(FirmwareProfile.parse(base)), { enabled: true, maxSessions: 32, idleMs: 600_000, maxBytesPerSecond: null })
  const capped = FirmwareProfile.parse({ ...base, agent: { ...base.agent, remoteSessions: { enabled: false, idleSeconds: 5, maxBytesPerSecond: '1Mi' } } })
  t.same(sessionSettings(capped), { enabled: false, maxSessions: 32, idleMs: 5_000, maxBytesPerSecond: 1024 * 1024 })
  t.notOk(FirmwareProfile.safeParse({ ...base, agent: { ...base.agent, remoteSessions: { maxSessions: 0 } } }).success)
  t.notOk(FirmwareProfile.safeParse({ ...base, agent: { ...base.agent, remoteSessions: { extra: true } } }).success)
})
